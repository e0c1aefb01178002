package mail2news

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// Limits on the MIME tree, so a hostile mail cannot make us recurse or
// allocate without bound (the whole mail is already size-capped).
const (
	maxDepth = 8
	maxParts = 64
)

// armorBlock is one "-----BEGIN PGP ...-----" block found in the mail.
type armorBlock struct {
	Label string // "MESSAGE", "SIGNATURE", "PUBLIC KEY BLOCK", ...
	Text  []byte // from the BEGIN line to the END line (or to the end of the part)
}

// walker collects the armored blocks of one mail, part by part.
type walker struct {
	blocks []armorBlock
	parts  int
}

// findCiphertext returns the one armored PGP MESSAGE of the mail, or a
// Refusal saying why there is not exactly one. header is the top-level
// header and body the raw (still transfer-encoded) body.
func findCiphertext(header textproto.MIMEHeader, body []byte) ([]byte, error) {
	w := &walker{}
	if err := w.entity(header, body, 0); err != nil {
		return nil, err
	}
	var messages [][]byte
	var others []string
	for _, b := range w.blocks {
		if b.Label == "MESSAGE" {
			messages = append(messages, b.Text)
		} else {
			others = append(others, b.Label)
		}
	}
	switch {
	case len(messages) > 1:
		return nil, refuse(ReasonTwoMessages, "the mail holds %d armored PGP messages; send exactly one per mail", len(messages))
	case len(messages) == 0 && len(others) > 0:
		if allSignatures(others) {
			return nil, refuse(ReasonSignatureOnly, "the mail holds a PGP signature but no encrypted PGP message")
		}
		return nil, refuse(ReasonNoCiphertext, "the mail holds a PGP %s block but no encrypted PGP message", strings.ToLower(others[0]))
	case len(messages) == 0:
		return nil, refuse(ReasonNoCiphertext, "the mail holds no armored PGP message (-----BEGIN PGP MESSAGE-----)")
	case len(others) > 0:
		// A signature or key outside the encryption names the sender to
		// everyone who reads the pool.
		return nil, refuse(ReasonOtherBlock, "besides the encrypted message the mail holds a PGP %s block, which would identify the sender; sign inside the encryption", strings.ToLower(others[0]))
	}
	return messages[0], nil
}

func allSignatures(labels []string) bool {
	for _, l := range labels {
		if l != "SIGNATURE" && l != "SIGNED MESSAGE" {
			return false
		}
	}
	return true
}

// entity handles one MIME entity: a multipart is walked, a leaf is decoded
// and scanned for armor.
func (w *walker) entity(h textproto.MIMEHeader, raw []byte, depth int) error {
	w.parts++
	if depth > maxDepth || w.parts > maxParts {
		return refuse(ReasonMalformed, "the MIME structure is nested too deeply or has too many parts")
	}
	mediaType, params := contentType(h)
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return refuse(ReasonMalformed, "%s without a boundary", mediaType)
		}
		// A multipart's own transfer encoding may only be 7bit, 8bit or
		// binary (RFC 2045 section 6.4).
		if cte := transferEncoding(h); cte != "7bit" && cte != "8bit" && cte != "binary" {
			return refuse(ReasonEncoding, "%s with Content-Transfer-Encoding %s", mediaType, cte)
		}
		parts, err := readParts(raw, boundary)
		if err != nil {
			return err
		}
		switch mediaType {
		case "multipart/encrypted":
			return w.pgpMIME(params, parts, depth)
		case "multipart/alternative":
			// The alternatives say the same thing: read the plain text
			// one, or the ciphertext would be counted once per
			// alternative.
			for _, p := range parts {
				if t, _ := contentType(p.header); t == "text/plain" {
					return w.entity(p.header, p.body, depth+1)
				}
			}
		}
		for _, p := range parts {
			if err := w.entity(p.header, p.body, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if mediaType == "text/html" || mediaType == "message/rfc822" || strings.HasPrefix(mediaType, "image/") ||
		strings.HasPrefix(mediaType, "audio/") || strings.HasPrefix(mediaType, "video/") {
		// Not where ciphertext travels; an armored block quoted in an
		// HTML part or a forwarded mail is not the sender's post.
		return nil
	}
	data, err := decodeTransfer(h, raw)
	if err != nil {
		return err
	}
	w.scan(data)
	return nil
}

// pgpMIME handles RFC 3156 section 4: multipart/encrypted with
// protocol="application/pgp-encrypted", a first part of that type holding
// "Version: 1", and a second application/octet-stream part holding the
// armored message.
func (w *walker) pgpMIME(params map[string]string, parts []mimePart, depth int) error {
	if !strings.EqualFold(params["protocol"], "application/pgp-encrypted") {
		return refuse(ReasonPGPMIME, "multipart/encrypted with protocol %q; only application/pgp-encrypted (RFC 3156) is understood", params["protocol"])
	}
	if len(parts) != 2 {
		return refuse(ReasonPGPMIME, "multipart/encrypted must have exactly two parts (RFC 3156), this one has %d", len(parts))
	}
	if t, _ := contentType(parts[0].header); t != "application/pgp-encrypted" {
		return refuse(ReasonPGPMIME, "the first part of multipart/encrypted is %s, not application/pgp-encrypted", t)
	}
	control, err := decodeTransfer(parts[0].header, parts[0].body)
	if err != nil {
		return err
	}
	if !hasVersion1(control) {
		return refuse(ReasonPGPMIME, "the application/pgp-encrypted part does not say \"Version: 1\"")
	}
	if t, _ := contentType(parts[1].header); t != "application/octet-stream" {
		return refuse(ReasonPGPMIME, "the second part of multipart/encrypted is %s, not application/octet-stream", t)
	}
	w.parts += 2
	if w.parts > maxParts || depth+1 > maxDepth {
		return refuse(ReasonMalformed, "the MIME structure is nested too deeply or has too many parts")
	}
	data, err := decodeTransfer(parts[1].header, parts[1].body)
	if err != nil {
		return err
	}
	w.scan(data)
	return nil
}

func hasVersion1(control []byte) bool {
	for _, line := range strings.Split(string(control), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Version") && strings.TrimSpace(v) == "1" {
			return true
		}
	}
	return false
}

const (
	beginPrefix = "-----BEGIN PGP "
	endPrefix   = "-----END PGP "
	dashes      = "-----"
)

// scan finds the armored blocks of one decoded text. A BEGIN line counts
// even when indented or quoted ("> -----BEGIN PGP MESSAGE-----"), so that
// such a block is counted and then judged by the armor gate rather than
// silently skipped. A BEGIN line inside an unfinished block starts a new
// block: that is how a clearsigned text's SIGNATURE follows its SIGNED
// MESSAGE, and how a truncated block is followed by another.
func (w *walker) scan(text []byte) {
	open := false
	var buf bytes.Buffer
	closeBlock := func() {
		if open {
			w.blocks[len(w.blocks)-1].Text = append([]byte(nil), buf.Bytes()...)
			open = false
		}
	}
	for len(text) > 0 {
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i+1], text[i+1:]
		} else {
			line, text = text, nil
		}
		trimmed := strings.TrimSpace(string(line))
		if label, ok := beginLabel(trimmed); ok {
			closeBlock()
			w.blocks = append(w.blocks, armorBlock{Label: label})
			open = true
			buf.Reset()
			buf.Write(line)
			continue
		}
		if !open {
			continue
		}
		buf.Write(line)
		if strings.Contains(trimmed, endPrefix) && strings.HasSuffix(trimmed, dashes) {
			closeBlock()
		}
	}
	closeBlock()
}

// beginLabel recognises an armor BEGIN line and returns its label
// ("MESSAGE", "SIGNATURE", ...). "PGP MESSAGE, PART 1/2" counts as a
// MESSAGE; the armor gate refuses the label itself.
func beginLabel(trimmed string) (string, bool) {
	idx := strings.Index(trimmed, beginPrefix)
	if idx < 0 || !strings.HasSuffix(trimmed, dashes) || len(trimmed) < idx+len(beginPrefix)+len(dashes) {
		return "", false
	}
	label := trimmed[idx+len(beginPrefix) : len(trimmed)-len(dashes)]
	if base, _, ok := strings.Cut(label, ","); ok {
		label = base
	}
	return strings.TrimSpace(label), true
}

type mimePart struct {
	header textproto.MIMEHeader
	body   []byte
}

// readParts splits a multipart body into raw parts (headers kept, transfer
// encoding not undone).
func readParts(raw []byte, boundary string) ([]mimePart, error) {
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	var parts []mimePart
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Refusal{Code: ReasonMalformed, Msg: "cannot read the MIME parts: " + err.Error(), Err: err}
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return nil, &Refusal{Code: ReasonMalformed, Msg: "cannot read a MIME part: " + err.Error(), Err: err}
		}
		parts = append(parts, mimePart{header: p.Header, body: body})
		if len(parts) > maxParts {
			return nil, refuse(ReasonMalformed, "the mail has too many MIME parts")
		}
	}
	if len(parts) == 0 {
		return nil, refuse(ReasonMalformed, "a multipart with no parts")
	}
	return parts, nil
}

// contentType returns the lower-case media type (text/plain when absent, as
// RFC 2045 says) and its parameters. An unparseable Content-Type is treated
// as text/plain too, the RFC 2045 default, so the text is still scanned.
func contentType(h textproto.MIMEHeader) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain", map[string]string{}
	}
	t, params, err := mime.ParseMediaType(v)
	if err != nil {
		return "text/plain", map[string]string{}
	}
	return strings.ToLower(t), params
}

func transferEncoding(h textproto.MIMEHeader) string {
	v := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if v == "" {
		return "7bit"
	}
	return v
}

// decodeTransfer undoes the Content-Transfer-Encoding of a leaf part.
func decodeTransfer(h textproto.MIMEHeader, raw []byte) ([]byte, error) {
	switch cte := transferEncoding(h); cte {
	case "7bit", "8bit", "binary":
		return raw, nil
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil, &Refusal{Code: ReasonEncoding, Msg: "bad quoted-printable: " + err.Error(), Err: err}
		}
		return out, nil
	case "base64":
		// Mail base64 is wrapped at 76 columns and may end in CRLF.
		clean := make([]byte, 0, len(raw))
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 4096), len(raw)+1)
		for sc.Scan() {
			clean = append(clean, bytes.TrimSpace(sc.Bytes())...)
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return nil, &Refusal{Code: ReasonEncoding, Msg: "bad base64: " + err.Error(), Err: err}
		}
		return out[:n], nil
	default:
		return nil, refuse(ReasonEncoding, "unknown Content-Transfer-Encoding %q", cte)
	}
}
