package armor

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
)

// CanonOptions controls Canonicalize.
type CanonOptions struct {
	Policy Policy
	// Anonymize rewrites every PKESK to the wildcard recipient (v3: key ID of
	// eight zero octets; v6: no key version or fingerprint).
	Anonymize bool
}

// Canonical is the result of Canonicalize.
type Canonical struct {
	// Body is the canonical armor: no headers, 64-column lines, CRC24 only
	// where RFC 9580 §6.1 allows it, CRLF line endings, nothing around it.
	Body    []byte
	Verdict *Verdict
	// Dropped describes what was removed around and inside the armor.
	Dropped []string
	// Anonymized counts the PKESKs rewritten to the anonymous form.
	Anonymized int
	// Reframed reports that packet headers were rewritten (another
	// header format or length encoding, or a Marker packet dropped).
	Reframed bool
	// Ciphertext is the encrypted data packet (header and body) in
	// canonical framing: the part of the message nobody can vary without
	// encrypting anew (ESKs can be re-wrapped, reordered or dropped by
	// whoever holds the session key). Injection keys its replay refusal
	// on it.
	Ciphertext []byte
}

const canonWidth = 64

// Canonicalize is the injecting agent's gate (POST, mail): it accepts what
// real clients send — armor headers, line widths up to 76, CRLF or LF, with
// or without CRC, text such as a greeting or a mail signature around exactly
// one armored PGP MESSAGE — applies the packet rules of Check and returns the
// one canonical armor of the same packets. Packet contents are never
// changed, except the recipient fields when Anonymize is set; their framing
// is: every header is rewritten to the OpenPGP (new) format with the
// shortest definite length, partial body chunks are joined and Marker
// packets are dropped, so the framing no longer tells which program made
// the message (gpg writes legacy headers and partial lengths, go-crypto
// new-format ones). Every OpenPGP implementation must read this framing
// (RFC 9580 §4.2). The output passes Check with the same policy, and
// canonicalising it again changes nothing.
//
// Never use it on transit (peer feeds): relaying agents must not rewrite.
func Canonicalize(body []byte, opt CanonOptions) (*Canonical, error) {
	p := opt.Policy
	if len(body) > p.maxBody() {
		return nil, reject(CodeBodyTooLarge, "the body is %d bytes; this server accepts at most %d", len(body), p.maxBody())
	}
	blk, err := findBlock(body)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(blk.b64)))
	n, derr := strictB64.Decode(raw, blk.b64)
	if derr != nil {
		return nil, diagnoseBase64(blk.b64)
	}
	raw = raw[:n]
	if blk.crc != nil {
		var sum [3]byte
		if m, err := strictB64.Decode(sum[:], blk.crc); err != nil || m != 3 {
			return nil, reject(CodeChecksum, "the checksum line is not valid base64")
		}
		if crc24(raw) != uint32(sum[0])<<16|uint32(sum[1])<<8|uint32(sum[2]) {
			return nil, reject(CodeChecksum, "the CRC24 checksum does not match the data (the armor was damaged or altered)")
		}
	}
	var v Verdict
	wr := new(walkResult)
	if err := walk(raw, p, &v, wr, true); err != nil {
		return nil, err
	}
	out := &Canonical{Dropped: blk.dropped}
	if opt.Anonymize {
		raw, out.Anonymized = anonymize(raw, wr)
	}
	var data int
	raw, data, out.Reframed = reframe(raw, p)
	out.Ciphertext = raw[data:]
	if v.Markers > 0 {
		out.Dropped = append(out.Dropped, "a Marker packet")
	}
	if blk.crc != nil && v.Container == "seipd-v2" {
		out.Dropped = append(out.Dropped, "the CRC24 checksum (RFC 9580 §6.1 forbids it after a v2 SEIPD)")
	}
	out.Body = encode(raw, v.Container != "seipd-v2")
	verdict, cerr := Check(out.Body, p)
	if cerr != nil {
		return nil, cerr
	}
	out.Verdict = verdict
	return out, nil
}

type block struct {
	b64     []byte // data characters, no line breaks
	crc     []byte // the 4 checksum characters, or nil
	dropped []string
}

// findBlock locates the one PGP MESSAGE block in body, leniently.
func findBlock(body []byte) (*block, *Error) {
	const (
		before = iota
		headers
		data
		crcSeen
		after
	)
	blk := &block{b64: make([]byte, 0, len(body))}
	state := before
	textBefore, textAfter := 0, 0
	mailSig := false
	var hdrs []string
	for pos := 0; pos < len(body); {
		var l []byte
		l, pos, _ = line(body, pos)
		t := bytes.TrimRight(l, " \t")
		begins := bytes.HasPrefix(bytes.TrimLeft(t, " \t>"), []byte("-----BEGIN "))
		switch state {
		case before:
			switch {
			case string(t) == beginLine:
				state = headers
			case begins:
				inner := bytes.TrimLeft(t, " \t>")
				if string(inner) == beginLine {
					return nil, reject(CodeWhitespace, "the armor is indented or quoted; post it as it came out of the encryption tool")
				}
				return nil, reject(CodeArmorLabel, "the armor is %q; only %q is carried", clip(inner), beginLine)
			case len(t) > 0:
				textBefore++
			}
		case headers:
			if len(t) == 0 {
				state = data
				continue
			}
			i := bytes.IndexByte(t, ':')
			if i <= 0 {
				return nil, reject(CodeBlankLine, "the BEGIN line must be followed by armor headers or an empty line")
			}
			hdrs = append(hdrs, headerKey(t[:i]))
		case data, crcSeen:
			switch {
			case string(t) == endLine:
				state = after
			case len(t) == 0:
				if len(blk.b64) == 0 && state == data {
					continue
				}
				return nil, reject(CodeBlankLine, "an empty line inside the armor")
			case state == crcSeen:
				return nil, reject(CodeArmorEnd, "expected %q after the checksum, found %q", endLine, clip(t))
			case t[0] == '=':
				if len(t) != 5 {
					return nil, reject(CodeChecksum, "the checksum line must be \"=\" and 4 base64 characters")
				}
				blk.crc = t[1:]
				state = crcSeen
			case t[0] == '-':
				return nil, reject(CodeArmorEnd, "expected %q, found %q", endLine, clip(t))
			case len(t) > maxLine:
				return nil, reject(CodeLineLength, "a base64 line is %d characters long; at most %d are allowed", len(t), maxLine)
			default:
				blk.b64 = append(blk.b64, t...)
			}
		case after:
			switch {
			case begins:
				if bytes.Contains(t, []byte("-----BEGIN PGP MESSAGE")) {
					return nil, reject(CodeMultipleBlocks, "the body holds more than one armored message; post one message per article")
				}
				return nil, reject(CodeArmorLabel, "another armored block (%q) follows the message; only one PGP MESSAGE is carried", clip(bytes.TrimLeft(t, " \t>")))
			case string(l) == "-- " || string(t) == "--":
				mailSig = true
				textAfter++
			case len(t) > 0:
				textAfter++
			}
		}
	}
	switch state {
	case before:
		if textBefore == 0 {
			return nil, reject(CodeEmptyBody, "the body is empty; it must hold one armored PGP MESSAGE")
		}
		if e := noArmor(body); e != nil {
			return nil, e
		}
		return nil, reject(CodeTextBefore, "the body holds no %q block", beginLine)
	case headers, data, crcSeen:
		return nil, reject(CodeArmorEnd, "the armor has no %q line", endLine)
	}
	if len(hdrs) > 0 {
		blk.dropped = append(blk.dropped, "armor headers: "+strings.Join(hdrs, ", "))
	}
	if textBefore > 0 {
		blk.dropped = append(blk.dropped, lines(textBefore)+" of text before the armor")
	}
	if textAfter > 0 {
		what := lines(textAfter) + " of text after the armor"
		if mailSig {
			what += " (a mail signature)"
		}
		blk.dropped = append(blk.dropped, what)
	}
	return blk, nil
}

func lines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return strconv.Itoa(n) + " lines"
}

// anonymize rewrites the PKESKs located by walk to the wildcard recipient.
// v3 PKESKs keep their length; v6 PKESKs lose the key version and
// fingerprint, so their header is re-emitted with the new length.
func anonymize(raw []byte, wr *walkResult) ([]byte, int) {
	count := 0
	shrink := false
	for _, pk := range wr.pkesks[:wr.npk] {
		body := raw[pk.bodyStart:pk.end]
		switch body[0] {
		case 3:
			if !allZero(body[1:9]) {
				clear(body[1:9])
				count++
			}
		case 6:
			if body[1] != 0 {
				shrink = true
				count++
			}
		}
	}
	if !shrink {
		return raw, count
	}
	out := make([]byte, 0, len(raw))
	last := 0
	for _, pk := range wr.pkesks[:wr.npk] {
		body := raw[pk.bodyStart:pk.end]
		if body[0] != 6 || body[1] == 0 {
			continue
		}
		out = append(out, raw[last:pk.start]...)
		rest := body[2+int(body[1]):] // algorithm and fields
		out = appendHeader(out, pk.legacy, tagPKESK, 2+len(rest))
		out = append(out, 6, 0)
		out = append(out, rest...)
		last = pk.end
	}
	return append(out, raw[last:]...), count
}

// appendHeader writes a packet header with a definite length, in the format
// the packet had.
func appendHeader(out []byte, legacy bool, tag, n int) []byte {
	if legacy {
		switch {
		case n < 1<<8:
			return append(out, 0x80|byte(tag)<<2, byte(n))
		case n < 1<<16:
			return append(out, 0x80|byte(tag)<<2|1, byte(n>>8), byte(n))
		}
		return append(out, 0x80|byte(tag)<<2|2, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	out = append(out, 0xC0|byte(tag))
	switch {
	case n < 192:
		return append(out, byte(n))
	case n < 8384:
		n -= 192
		return append(out, byte(n>>8)+192, byte(n))
	}
	return append(out, 0xFF, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// reframe rewrites the packet stream b (already walked under p, so every
// header parses) with new-format headers and the shortest definite
// lengths, without Marker packets. It returns the new stream, the offset
// of the last packet (the encrypted data) and whether anything changed.
func reframe(b []byte, p Policy) (out []byte, last int, changed bool) {
	out = make([]byte, 0, len(b))
	for off := 0; off < len(b); {
		pk, err := nextPacket(b, off, p)
		if err != nil {
			// Unreachable after walk; keep the stream as it is.
			return b, 0, false
		}
		if pk.tag == tagMarker {
			changed = true
			off = pk.end
			continue
		}
		last = len(out)
		out = appendHeader(out, false, pk.tag, pk.total)
		if !pk.partial {
			out = append(out, b[pk.bodyStart:pk.end]...)
		} else {
			out = appendChunks(out, b, pk)
		}
		if !changed && !bytes.Equal(out[last:], b[pk.start:pk.end]) {
			changed = true
		}
		off = pk.end
	}
	return out, last, changed
}

// appendChunks appends the body of a packet with partial lengths, its
// chunks joined.
func appendChunks(out, b []byte, pk packet) []byte {
	pos, n := pk.bodyStart, pk.firstLen
	for {
		out = append(out, b[pos:pos+n]...)
		pos += n
		if pos >= pk.end {
			return out
		}
		l, hl, _, _ := newLength(b[pos:])
		pos += hl
		n = int(l)
	}
}

// encode writes the canonical armor of raw.
func encode(raw []byte, withCRC bool) []byte {
	const nl = "\r\n"
	enc := base64.StdEncoding
	b64 := enc.EncodedLen(len(raw))
	lines := (b64 + canonWidth - 1) / canonWidth
	size := len(beginLine) + 2*len(nl) + b64 + lines*len(nl) + len(endLine) + len(nl)
	if withCRC {
		size += 5 + len(nl)
	}
	out := make([]byte, 0, size)
	out = append(out, beginLine+nl+nl...)
	// 48 raw octets make one 64-character line.
	const per = canonWidth / 4 * 3
	var buf [canonWidth]byte
	for i := 0; i < len(raw); i += per {
		j := min(i+per, len(raw))
		m := enc.EncodedLen(j - i)
		enc.Encode(buf[:m], raw[i:j])
		out = append(out, buf[:m]...)
		out = append(out, nl...)
	}
	if withCRC {
		c := crc24(raw)
		var sum [4]byte
		enc.Encode(sum[:], []byte{byte(c >> 16), byte(c >> 8), byte(c)})
		out = append(out, '=')
		out = append(out, sum[:]...)
		out = append(out, nl...)
	}
	return append(out, endLine+nl...)
}
