package trial

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// MaxArmored bounds the armored bodies Dearmor accepts.
const MaxArmored = 64 << 20

var (
	errNoArmor  = errors.New("trial: no PGP MESSAGE armor")
	errBadArmor = errors.New("trial: broken armor")
)

// Dearmor returns the binary OpenPGP data of the first armored PGP MESSAGE
// in body. It is lenient where a reader can afford it (text before the
// armor, headers, CRLF, a missing or wrong CRC): the server's gate is where
// strictness belongs, and a recipient wants to read what it was sent.
func Dearmor(body []byte) ([]byte, error) {
	if len(body) > MaxArmored {
		return nil, errBadArmor
	}
	const begin = "-----BEGIN PGP MESSAGE-----"
	i := bytes.Index(body, []byte(begin))
	if i < 0 || (i > 0 && body[i-1] != '\n') {
		return nil, errNoArmor
	}
	rest := body[i+len(begin):]
	// The rest of the BEGIN line must be blank.
	line, rest, ok := cutLine(rest)
	if !ok || len(bytes.TrimSpace(line)) != 0 {
		return nil, errBadArmor
	}
	// Headers, up to the blank line.
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, errBadArmor
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if bytes.IndexByte(line, ':') < 0 {
			// No blank line after BEGIN: this is already data.
			rest = append(append([]byte(nil), line...), append([]byte("\n"), rest...)...)
			break
		}
	}
	data := make([]byte, 0, len(rest))
	ended := false
	for len(rest) > 0 {
		line, rest, _ = cutLine(rest)
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("-----END PGP MESSAGE-----")) {
			ended = true
			break
		}
		if len(line) == 5 && line[0] == '=' {
			continue // CRC-24; not checked, the MDC protects the content
		}
		data = append(data, line...)
	}
	if !ended {
		return nil, errBadArmor
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(out, data)
	if err != nil || n == 0 {
		return nil, errBadArmor
	}
	return out[:n], nil
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, true
}
