package news

import (
	"bytes"
	"fmt"
	"strings"
)

// CheckPathName is the rule for this server's own Path entry (and the
// name in Xref): letters, digits, ".", "-" and "_", not empty.
func CheckPathName(name string) error {
	if name == "" {
		return Refuse(CodePathName, "server name is empty")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return &Refusal{Code: CodePathName, Msg: fmt.Sprintf("server name %q must be letters, digits, '.', '-' or '_'", name)}
		}
	}
	return nil
}

// InPath reports whether name is one of the entries of a Path field value.
// Entries are separated by "!" (and, leniently, by other delimiters RFC
// 5537 allows around diagnostics: "!!", "!.", "!+", whitespace).
func InPath(path, name string) bool {
	if name == "" {
		return false
	}
	for _, e := range strings.FieldsFunc(path, func(r rune) bool {
		return r == '!' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		e = strings.TrimLeft(e, ".+")
		if strings.EqualFold(e, name) {
			return true
		}
	}
	return false
}

// RelayBytes returns header and body joined as an article with name
// prepended to the Path field ("Path: name!" + the old value). If the Path
// already starts with name (an article we injected) it is left as it is;
// an article without Path gets "Path: name!not-for-mail" first.
func RelayBytes(header, body []byte, name string) []byte {
	out := make([]byte, 0, len(header)+len(name)+len(body)+32)
	start, vstart := findPath(header)
	if start < 0 {
		out = append(out, "Path: "...)
		out = append(out, name...)
		out = append(out, "!not-for-mail\r\n"...)
		out = append(out, header...)
	} else {
		rest := header[vstart:]
		if bytes.HasPrefix(rest, []byte(name)) && len(rest) > len(name) && rest[len(name)] == '!' {
			out = append(out, header...)
		} else {
			out = append(out, header[:vstart]...)
			out = append(out, name...)
			out = append(out, '!')
			out = append(out, rest...)
		}
	}
	out = append(out, '\r', '\n')
	return append(out, body...)
}

// findPath returns the offset of the Path field's line in header and of
// its value (after "Path:" and white space), or -1.
func findPath(header []byte) (int, int) {
	pos := 0
	for pos < len(header) {
		end := bytes.IndexByte(header[pos:], '\n')
		if end < 0 {
			end = len(header) - pos
		}
		line := header[pos : pos+end]
		if len(line) >= 5 && bytes.EqualFold(line[:5], []byte("path:")) {
			v := pos + 5
			for v < len(header) && (header[v] == ' ' || header[v] == '\t') {
				v++
			}
			return pos, v
		}
		pos += end + 1
	}
	return -1, -1
}
