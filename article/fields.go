package article

import (
	"bytes"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

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
	if err := news.CheckMessageID(a.Get("Message-ID")); err != nil {
		return err
	}
	if _, err := news.ParseNewsgroups(a.Get("Newsgroups")); err != nil {
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
	return news.ParseNewsgroups(f.Value())
}
