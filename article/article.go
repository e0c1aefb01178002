// Package article parses netnews articles (RFC 5536) as they arrive on the
// wire: header lines, a blank line, the body, with CRLF line endings.
//
// Parsing never copies: the header and body are slices of the input, and
// each field keeps its raw bytes (folding, case and order untouched) so a
// relaying server can store and forward the article byte for byte. Reading
// a field unfolds it. Every dimension of the input has a limit.
package article

import (
	"bytes"
	"time"

	"github.com/altcrypt/altcrypt/internal/unset"
	"github.com/altcrypt/altcrypt/news"
)

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	// MaxHeaderBytes bounds the header section, blank line excluded.
	MaxHeaderBytes int
	// MaxFields bounds the number of header fields.
	MaxFields int
	// MaxLineLength bounds each physical header line, CRLF excluded
	// (RFC 5322 allows 998 octets).
	MaxLineLength int
}

// Default limits: generous for news, small enough that a hostile header
// cannot cost much.
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxFields      = 256
	DefaultMaxLineLength  = 998
)

func (l Limits) withDefaults() Limits {
	l.MaxHeaderBytes = unset.Or(l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	l.MaxFields = unset.Or(l.MaxFields, DefaultMaxFields)
	l.MaxLineLength = unset.Or(l.MaxLineLength, DefaultMaxLineLength)
	return l
}

// Error is a refusal with a short reason code (for "441 code: sentence"
// and transit logs) and a sentence for people: the shared news.Refusal.
type Error = news.Refusal

func errorf(code, format string, args ...any) *Error {
	return news.Refuse(code, format, args...)
}

// Reason codes of the errors this package returns.
const (
	CodeMalformed     = "malformed-header"
	CodeTooLarge      = "header-too-large"
	CodeMissingHeader = "missing-header"
	CodeDuplicate     = "duplicate-header"
	CodeMessageID     = news.CodeMessageID
	CodeNewsgroups    = news.CodeNewsgroups
	CodeDate          = "bad-date"
)

// Field is one header field as it appears in the article.
type Field struct {
	// Name is the field name as written (case kept).
	Name []byte
	// Raw is the whole field: name, colon, value, continuation lines and
	// the final line ending.
	Raw []byte
	// value is the raw value after the colon, folding kept, final line
	// ending removed.
	value []byte
}

// Value returns the field's value unfolded (line breaks before white space
// removed) with leading and trailing white space trimmed.
func (f *Field) Value() string {
	return string(unfold(f.value))
}

// Article is a parsed article. Header, Body and each field's bytes are
// slices of the input given to Parse, which must not change afterwards.
type Article struct {
	// Raw is the whole article as given.
	Raw []byte
	// Header is the header section, each line with its line ending,
	// without the blank separator line.
	Header []byte
	// Body is everything after the blank line.
	Body   []byte
	Fields []Field

	// The parsed Date field, once asked for.
	date       time.Time
	dateErr    error
	dateParsed bool
}

// Parse splits raw into header fields and body. Lines end in CRLF; a bare
// LF is tolerated when reading (the raw bytes are kept as they are). An
// article without a blank line is all header and has an empty body.
func Parse(raw []byte, lim Limits) (*Article, error) {
	lim = lim.withDefaults()
	a := &Article{Raw: raw}
	pos := 0
	for {
		if pos >= len(raw) {
			// No blank line: the header ran to the end.
			a.Header = raw
			a.Body = raw[len(raw):]
			break
		}
		end, next := lineEnd(raw, pos)
		if end < 0 {
			return nil, errorf(CodeMalformed, "header line without a line ending")
		}
		if end == pos { // blank line
			a.Header = raw[:pos]
			a.Body = raw[next:]
			break
		}
		if next > lim.MaxHeaderBytes {
			return nil, errorf(CodeTooLarge, "header section longer than %d octets", lim.MaxHeaderBytes)
		}
		if end-pos > lim.MaxLineLength {
			return nil, errorf(CodeMalformed, "header line longer than %d octets", lim.MaxLineLength)
		}
		line := raw[pos:end]
		if err := checkHeaderBytes(line); err != nil {
			return nil, err
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(a.Fields) == 0 {
				return nil, errorf(CodeMalformed, "continuation line before the first field")
			}
			f := &a.Fields[len(a.Fields)-1]
			start := len(raw[:pos]) - len(f.Raw) // f.Raw starts at this offset
			f.Raw = raw[start:next]
			f.value = raw[start+len(f.Name)+1 : end]
			pos = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, errorf(CodeMalformed, "header line without a field name and colon")
		}
		name := line[:colon]
		for _, c := range name {
			if c <= ' ' || c > '~' {
				return nil, errorf(CodeMalformed, "invalid character in field name %q", name)
			}
		}
		if len(a.Fields) >= lim.MaxFields {
			return nil, errorf(CodeTooLarge, "more than %d header fields", lim.MaxFields)
		}
		a.Fields = append(a.Fields, Field{Name: name, Raw: raw[pos:next], value: raw[pos+colon+1 : end]})
		pos = next
	}
	return a, nil
}

// lineEnd finds the line starting at pos: end is where its content stops
// (before CRLF or LF), next is where the next line starts. end is -1 when
// no LF follows.
func lineEnd(b []byte, pos int) (end, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return -1, -1
	}
	end = pos + i
	next = end + 1
	if end > pos && b[end-1] == '\r' {
		end--
	}
	return end, next
}

// checkHeaderBytes refuses NUL, bare CR and other control characters
// except TAB in a header line. Octets above 127 are allowed (RFC 6532).
func checkHeaderBytes(line []byte) error {
	for _, c := range line {
		if c < ' ' && c != '\t' || c == 0x7f {
			return errorf(CodeMalformed, "control character 0x%02x in header", c)
		}
	}
	return nil
}

// unfold removes the line breaks of a folded value and trims white space.
func unfold(v []byte) []byte {
	if bytes.IndexByte(v, '\n') < 0 {
		return bytes.Trim(v, " \t")
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			continue
		}
		if c == '\n' {
			continue
		}
		out = append(out, c)
	}
	return bytes.Trim(out, " \t")
}

// Field returns the first field named name (case-insensitive), or nil.
func (a *Article) Field(name string) *Field {
	for i := range a.Fields {
		if equalFold(a.Fields[i].Name, name) {
			return &a.Fields[i]
		}
	}
	return nil
}

// Get returns the unfolded value of the first field named name, or "".
func (a *Article) Get(name string) string {
	if f := a.Field(name); f != nil {
		return f.Value()
	}
	return ""
}

// Has reports whether a field named name is present.
func (a *Article) Has(name string) bool { return a.Field(name) != nil }

// Values returns the unfolded values of every field named name, in order.
func (a *Article) Values(name string) []string {
	var vs []string
	for i := range a.Fields {
		if equalFold(a.Fields[i].Name, name) {
			vs = append(vs, a.Fields[i].Value())
		}
	}
	return vs
}

// Count returns how many fields are named name.
func (a *Article) Count(name string) int {
	n := 0
	for i := range a.Fields {
		if equalFold(a.Fields[i].Name, name) {
			n++
		}
	}
	return n
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
