package article

import (
	"bytes"
	"strings"
	"time"
)

// MaxMessageIDLength is the longest message-id allowed, brackets included
// (RFC 3977 section 3.6, RFC 5536 section 3.1.3).
const MaxMessageIDLength = 250

// CheckMessageID reports whether id is a message-id a server may store and
// a client may ask for: "<" left "@" right ">", printable US-ASCII without
// spaces, no "<" or ">" inside, at most 250 octets.
func CheckMessageID(id string) error {
	if len(id) < 5 || len(id) > MaxMessageIDLength {
		return errorf(CodeMessageID, "message-id must be 5 to %d octets", MaxMessageIDLength)
	}
	if id[0] != '<' || id[len(id)-1] != '>' {
		return errorf(CodeMessageID, "message-id must be enclosed in angle brackets")
	}
	core := id[1 : len(id)-1]
	for i := 0; i < len(core); i++ {
		c := core[i]
		if c <= ' ' || c > '~' || c == '<' || c == '>' {
			return errorf(CodeMessageID, "message-id holds a space, control, non-ASCII or bracket character")
		}
	}
	at := strings.LastIndexByte(core, '@')
	if at <= 0 || at == len(core)-1 {
		return errorf(CodeMessageID, "message-id must have the form <left@right>")
	}
	return nil
}

// ValidMessageID is CheckMessageID as a predicate.
func ValidMessageID(id string) bool { return CheckMessageID(id) == nil }

// Newsgroups limits.
const (
	MaxGroupNameLength = 255
	MaxNewsgroups      = 100
)

// ParseNewsgroups parses a Newsgroups field value: group names separated
// by commas, white space allowed around them (RFC 5536 section 3.1.4).
// Duplicates are dropped, order kept. Names are made of letters, digits,
// "+", "-" and "_" in dot-separated components.
func ParseNewsgroups(v string) ([]string, error) {
	var groups []string
	for _, part := range strings.Split(v, ",") {
		name := strings.Trim(part, " \t\r\n")
		if name == "" {
			return nil, errorf(CodeNewsgroups, "empty group name in Newsgroups")
		}
		if err := checkGroupName(name); err != nil {
			return nil, err
		}
		dup := false
		for _, g := range groups {
			if g == name {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if len(groups) >= MaxNewsgroups {
			return nil, errorf(CodeNewsgroups, "more than %d groups in Newsgroups", MaxNewsgroups)
		}
		groups = append(groups, name)
	}
	return groups, nil
}

func checkGroupName(name string) error {
	if len(name) > MaxGroupNameLength {
		return errorf(CodeNewsgroups, "group name longer than %d octets", MaxGroupNameLength)
	}
	for _, comp := range strings.Split(name, ".") {
		if comp == "" {
			return errorf(CodeNewsgroups, "group name %q has an empty component", name)
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '_'
			if !ok {
				return errorf(CodeNewsgroups, "group name %q holds an invalid character", sanitize(name))
			}
		}
	}
	return nil
}

// sanitize makes s safe to echo in a one-line response: printable ASCII,
// at most 64 octets.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Overview holds the fields of one OVER line, taken from an article.
// Values are unfolded with TAB, CR and LF replaced by spaces (RFC 3977
// section 8.3.2).
type Overview struct {
	Subject, From, Date, MessageID, References string
	Bytes, Lines                               int64
}

// Overview computes the overview fields. Bytes counts the whole article
// as given; Lines counts the body's lines.
func (a *Article) Overview() Overview {
	return Overview{
		Subject:    overviewValue(a.Get("Subject")),
		From:       overviewValue(a.Get("From")),
		Date:       overviewValue(a.Get("Date")),
		MessageID:  overviewValue(a.Get("Message-ID")),
		References: overviewValue(a.Get("References")),
		Bytes:      int64(len(a.Raw)),
		Lines:      CountLines(a.Body),
	}
}

func overviewValue(s string) string {
	if !strings.ContainsAny(s, "\t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// CountLines counts the lines of a body: the number of line endings, plus
// one for a last line without one.
func CountLines(body []byte) int64 {
	n := int64(bytes.Count(body, []byte{'\n'}))
	if len(body) > 0 && body[len(body)-1] != '\n' {
		n++
	}
	return n
}

// TransitHeaders are the fields RFC 5536 requires in every article a
// server relays; each must appear exactly once.
var TransitHeaders = []string{"Date", "From", "Message-ID", "Newsgroups", "Path", "Subject"}

// CheckTransit verifies that the fields RFC 5536 requires are present
// once each, and that Message-ID, Newsgroups and Date are well formed.
func (a *Article) CheckTransit() error {
	for _, name := range TransitHeaders {
		switch n := a.Count(name); {
		case n == 0:
			return errorf(CodeMissingHeader, "the article has no %s header", name)
		case n > 1:
			return errorf(CodeDuplicate, "the article has %d %s headers", n, name)
		}
	}
	if err := CheckMessageID(a.Get("Message-ID")); err != nil {
		return err
	}
	if _, err := ParseNewsgroups(a.Get("Newsgroups")); err != nil {
		return err
	}
	if _, err := a.Date(); err != nil {
		return err
	}
	return nil
}

// Date parses the Date field (RFC 5322 syntax, obsolete forms accepted).
// The result is kept, since transit asks more than once.
func (a *Article) Date() (time.Time, error) {
	if !a.dateParsed {
		a.date, a.dateErr = a.parseDate()
		a.dateParsed = true
	}
	return a.date, a.dateErr
}

func (a *Article) parseDate() (time.Time, error) {
	v := a.Get("Date")
	if v == "" {
		return time.Time{}, errorf(CodeMissingHeader, "the article has no Date header")
	}
	t, err := parseDate(v)
	if err != nil {
		return time.Time{}, errorf(CodeDate, "the Date header cannot be parsed")
	}
	return t, nil
}

// Newsgroups parses the Newsgroups field.
func (a *Article) Newsgroups() ([]string, error) {
	f := a.Field("Newsgroups")
	if f == nil {
		return nil, errorf(CodeMissingHeader, "the article has no Newsgroups header")
	}
	if a.Count("Newsgroups") > 1 {
		return nil, errorf(CodeDuplicate, "the article has more than one Newsgroups header")
	}
	return ParseNewsgroups(f.Value())
}
