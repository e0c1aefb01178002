package armor

import (
	"bytes"
	"encoding/base64"
)

const (
	beginLine = "-----BEGIN PGP MESSAGE-----"
	endLine   = "-----END PGP MESSAGE-----"
	maxLine   = 76 // RFC 4880 §6.3, RFC 9580 §6
)

// strictB64 rejects non-zero unused bits. Go's decoder skips CR and LF, which
// lets Check decode the data lines in place; the line structure is checked
// separately.
var strictB64 = base64.StdEncoding.Strict()

// Check decides whether body (one article body after dot-unstuffing, CRLF or
// LF lines) is exactly one armored PGP MESSAGE carrying only encrypted data.
// The error, when not nil, is an *Error.
func Check(body []byte, p Policy) (*Verdict, error) {
	v := new(Verdict)
	if _, err := check(body, p, v, nil, false); err != nil {
		return nil, err
	}
	return v, nil
}

// check is Check returning the decoded packets as well.
func check(body []byte, p Policy, v *Verdict, wr *walkResult, deferVisible bool) ([]byte, *Error) {
	if len(body) > p.maxBody() {
		return nil, reject(CodeBodyTooLarge, "the body is %d bytes; this server accepts at most %d", len(body), p.maxBody())
	}
	v.BodyBytes = len(body)
	raw, err := parseArmor(body, v)
	if err != nil {
		return nil, err
	}
	v.PacketBytes = len(raw)
	if err := walk(raw, p, v, wr, deferVisible); err != nil {
		return nil, err
	}
	return raw, nil
}

// noArmor is the refusal of a body without any BEGIN PGP MESSAGE line, or
// nil when there is one somewhere. Binary OpenPGP (gpg without --armor)
// gets a hint, since that is the usual way to end up here.
func noArmor(body []byte) *Error {
	if bytes.Contains(body, []byte(beginLine)) {
		return nil
	}
	if looksBinary(body) {
		return reject(CodeNoArmor, "the body holds no armored PGP MESSAGE; it looks like binary OpenPGP: encrypt with gpg --armor (-a) and post the text it prints")
	}
	return reject(CodeNoArmor, "the body holds no armored PGP MESSAGE (no %q line)", beginLine)
}

// looksBinary reports whether body starts like a binary OpenPGP message:
// a packet header (high bit set) of an encrypted session key, encrypted
// data, or a marker packet.
func looksBinary(body []byte) bool {
	if len(body) == 0 || body[0]&0x80 == 0 {
		return false
	}
	tag := (body[0] >> 2) & 0x0f // old format
	if body[0]&0x40 != 0 {
		tag = body[0] & 0x3f // new format
	}
	switch tag {
	case 1, 3, 9, 10, 18, 20: // PKESK, SKESK, SED, marker, SEIPD, AEAD
		return true
	}
	return false
}

// line returns the line at pos without its ending, the offset of the next
// line, and whether the ending was CRLF. At the end of input next is len(b).
func line(b []byte, pos int) (l []byte, next int, crlf bool) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return b[pos:], len(b), false
	}
	l = b[pos : pos+i]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		return l[:len(l)-1], pos + i + 1, true
	}
	return l, pos + i + 1, false
}

// lineDefect reports the R-A1/R-A9 defect of a line, or nil.
func lineDefect(l []byte) *Error {
	if len(l) > 0 && (isBlank(l[0]) || isBlank(l[len(l)-1])) {
		return reject(CodeWhitespace, "a line starts or ends with a space or tab (indented, quoted or padded armor)")
	}
	for _, c := range l {
		if c == '\r' {
			return reject(CodeBareCR, "a carriage return is not followed by a line feed")
		}
		if !isPrintable(c) {
			return reject(CodeNonASCII, "the body contains byte 0x%02x; armor is printable US-ASCII only", c)
		}
	}
	return nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func trimBlank(l []byte) []byte {
	for len(l) > 0 && isBlank(l[0]) {
		l = l[1:]
	}
	for len(l) > 0 && isBlank(l[len(l)-1]) {
		l = l[:len(l)-1]
	}
	return l
}

// parseArmor applies R-A1..R-A7 and R-A9 and returns the decoded packets.
func parseArmor(b []byte, v *Verdict) ([]byte, *Error) {
	pos := 0
	// R-A2: empty lines, then BEGIN.
	var l []byte
	for {
		if pos >= len(b) {
			return nil, reject(CodeEmptyBody, "the body is empty; it must be one armored PGP MESSAGE")
		}
		l, pos, _ = line(b, pos)
		if len(l) != 0 {
			break
		}
	}
	if string(l) != beginLine {
		hasCR := bytes.IndexByte(l, '\r') >= 0
		if hasCR && bytes.Contains(b, []byte(beginLine)) {
			return nil, reject(CodeBareCR, "a carriage return is not followed by a line feed")
		}
		t := trimBlank(l)
		if bytes.HasPrefix(t, []byte("-----BEGIN ")) && string(t) != beginLine {
			return nil, reject(CodeArmorLabel, "the armor is %q; only %q is carried", labelOf(t), beginLine)
		}
		if e := noArmor(b); e != nil {
			return nil, e
		}
		if hasCR {
			return nil, reject(CodeBareCR, "a carriage return is not followed by a line feed")
		}
		if string(t) == beginLine || len(t) == 0 {
			return nil, reject(CodeWhitespace, "a line starts or ends with a space or tab (indented, quoted or padded armor)")
		}
		return nil, reject(CodeTextBefore, "the body must start with %q; text before the armor is not allowed", beginLine)
	}
	// R-A3, R-A4: exactly one empty line, no headers.
	if pos >= len(b) {
		return nil, reject(CodeArmorEnd, "the armor ends after its BEGIN line")
	}
	l, pos, _ = line(b, pos)
	if len(l) != 0 {
		if i := bytes.IndexByte(l, ':'); i > 0 {
			return nil, reject(CodeArmorHeader, "the armor has a header (%q); armor headers are not allowed", headerKey(l[:i]))
		}
		if e := lineDefect(l); e != nil {
			return nil, e
		}
		return nil, reject(CodeBlankLine, "the BEGIN line must be followed by exactly one empty line")
	}
	if pos < len(b) && (b[pos] == '\n' || (b[pos] == '\r' && pos+1 < len(b) && b[pos+1] == '\n')) {
		return nil, reject(CodeBlankLine, "the BEGIN line must be followed by exactly one empty line, not several")
	}
	// R-A5: data lines. The fast path decodes lines of one width as it
	// finds them; anything it does not expect is left to the slow path,
	// which checks line by line and explains the defect.
	dataStart := pos
	raw := make([]byte, (len(b)-dataStart)/4*3+8)
	dataEnd, n, width, crc, ok := fastData(b, dataStart, raw)
	if !ok {
		var err *Error
		dataEnd, width, err = scanData(b, dataStart)
		if err != nil {
			return nil, err
		}
		data := b[dataStart:dataEnd]
		var derr error
		if n, derr = strictB64.Decode(raw, data); derr != nil {
			return nil, diagnoseBase64(data)
		}
		crc = crc24(raw[:n])
	}
	raw = raw[:n]
	v.LineWidth = width
	// R-A6: optional checksum, then R-A7: END.
	pos = dataEnd
	var crcLine []byte
	if pos >= len(b) {
		return nil, reject(CodeArmorEnd, "the armor has no %q line", endLine)
	}
	l, pos, _ = line(b, pos)
	if len(l) > 0 && l[0] == '=' {
		if e := lineDefect(l); e != nil {
			return nil, e
		}
		if len(l) != 5 {
			return nil, reject(CodeChecksum, "the checksum line must be \"=\" and 4 base64 characters")
		}
		crcLine = l[1:]
		if pos >= len(b) {
			return nil, reject(CodeArmorEnd, "the armor has no %q line", endLine)
		}
		l, pos, _ = line(b, pos)
	}
	if string(l) != endLine {
		if e := lineDefect(l); e != nil {
			return nil, e
		}
		if len(l) == 0 {
			return nil, reject(CodeBlankLine, "an empty line inside the armor")
		}
		return nil, reject(CodeArmorEnd, "expected %q, found %q", endLine, clip(l))
	}
	// After END: only empty lines.
	for pos < len(b) {
		l, pos, _ = line(b, pos)
		if len(l) == 0 {
			continue
		}
		if t := trimBlank(l); bytes.HasPrefix(t, []byte("-----BEGIN ")) {
			return nil, reject(CodeMultipleBlocks, "a second armored block follows the message; one message per article")
		} else if len(t) == 0 {
			return nil, reject(CodeWhitespace, "a line after the armor holds only spaces or tabs")
		}
		return nil, reject(CodeTextAfter, "text follows the END line (%q); nothing may follow the armor", clip(l))
	}
	if crcLine != nil {
		v.Checksum = true
		var sum [3]byte
		if m, err := strictB64.Decode(sum[:], crcLine); err != nil || m != 3 {
			return nil, reject(CodeChecksum, "the checksum line is not valid base64")
		}
		want := uint32(sum[0])<<16 | uint32(sum[1])<<8 | uint32(sum[2])
		if crc != want {
			return nil, reject(CodeChecksum, "the CRC24 checksum does not match the data (the armor was damaged or altered)")
		}
	}
	return raw, nil
}

// fastData decodes data lines of one width, a multiple of 4, straight into
// dst, and a last line of any length with Go's strict decoder, computing the
// CRC24 of each line while it is in cache. It returns the offset of the line
// after the data (which starts with '=' or '-'), the number of octets
// decoded and their CRC24, or ok == false when the input needs the slow
// path.
func fastData(b []byte, pos int, dst []byte) (end, n, width int, crc uint32, ok bool) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i <= 0 {
		return
	}
	w := i
	if b[pos+i-1] == '\r' {
		w--
	}
	if w == 0 || w > maxLine || w%4 != 0 {
		return
	}
	c := crc24Start
	for pos < len(b) {
		if ch := b[pos]; ch == '=' || ch == '-' {
			if n == 0 {
				return
			}
			return pos, n, w, c >> 8, true
		}
		e := pos + w
		var next int
		switch {
		case e < len(b) && b[e] == '\n':
			next = e + 1
		case e+1 < len(b) && b[e] == '\r' && b[e+1] == '\n':
			next = e + 2
		}
		if next == 0 || !decodeLine(dst[n:], b[pos:e]) {
			return lastLine(b, pos, dst, n, w, c)
		}
		c = crc24Update(c, dst[n:n+w/4*3])
		n += w / 4 * 3
		pos = next
	}
	return
}

// lastLine decodes the last data line (shorter, or padded) at pos.
func lastLine(b []byte, pos int, dst []byte, n, w int, c uint32) (end, m, width int, crc uint32, ok bool) {
	l, next, _ := line(b, pos)
	if len(l) == 0 || len(l) > w || next >= len(b) || bytes.IndexByte(l, '\r') >= 0 {
		return
	}
	if ch := b[next]; ch != '=' && ch != '-' {
		return
	}
	k, err := strictB64.Decode(dst[n:], l)
	if err != nil {
		return
	}
	return next, n + k, w, crc24Update(c, dst[n:n+k]) >> 8, true
}

// scanData walks the data lines from pos, checking each, up to the first
// line that starts with '=' or '-', and returns its offset.
func scanData(b []byte, pos int) (end, width int, err *Error) {
	for {
		if pos >= len(b) {
			return 0, 0, reject(CodeArmorEnd, "the armor has no %q line", endLine)
		}
		c := b[pos]
		if c == '=' || c == '-' {
			if width == 0 {
				return 0, 0, reject(CodeNoDataPacket, "the armor contains no data")
			}
			return pos, width, nil
		}
		l, next, _ := line(b, pos)
		if next == len(b) && b[len(b)-1] != '\n' {
			if e := lineDefect(l); e != nil {
				return 0, 0, e
			}
			return 0, 0, reject(CodeArmorEnd, "the armor has no %q line", endLine)
		}
		if len(l) == 0 {
			// An empty line inside the data: missing END, or a blank line.
			for p := next; p < len(b); {
				var m []byte
				m, p, _ = line(b, p)
				if len(m) > 0 {
					return 0, 0, reject(CodeBlankLine, "an empty line inside the base64 data")
				}
			}
			return 0, 0, reject(CodeArmorEnd, "the armor has no %q line", endLine)
		}
		if e := lineDefect(l); e != nil {
			return 0, 0, e
		}
		if len(l) > maxLine {
			return 0, 0, reject(CodeLineLength, "a base64 line is %d characters long; at most %d are allowed", len(l), maxLine)
		}
		if width == 0 {
			width = len(l)
		}
		pos = next
	}
}

// diagnoseBase64 explains why the data lines do not decode.
func diagnoseBase64(data []byte) *Error {
	for pos := 0; pos < len(data); {
		var l []byte
		l, pos, _ = line(data, pos)
		if e := lineDefect(l); e != nil {
			return e
		}
		for i, c := range l {
			if !isB64(c) {
				if c == '=' {
					if pos == len(data) && allEq(l[i:]) {
						continue
					}
					return reject(CodeBase64, "base64 padding \"=\" in the middle of the data")
				}
				return reject(CodeBase64, "character %q is not in the base64 alphabet", c)
			}
		}
	}
	return reject(CodeBase64, "the data is not strict base64 (length not a multiple of 4, misplaced padding or non-zero unused bits)")
}

func allEq(l []byte) bool {
	for _, c := range l {
		if c != '=' {
			return false
		}
	}
	return true
}

func isB64(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'
}

func labelOf(t []byte) string {
	return clip(t)
}

func headerKey(k []byte) string {
	return clip(trimBlank(k))
}

// clip shortens a line quoted in an error message, replacing anything that is
// not printable ASCII.
func clip(l []byte) string {
	const max = 40
	var out []byte
	for i, c := range l {
		if i == max {
			out = append(out, "..."...)
			break
		}
		if !isPrintable(c) {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
