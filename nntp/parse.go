package nntp

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/altcrypt/altcrypt/news"
)

var errSyntax = errors.New("nntp: syntax error")

// parseCommand splits a command line into its upper-cased keyword and
// arguments. RFC 3977 section 3.1: words are separated by one or more
// spaces or tabs; the line must be valid UTF-8 without NUL or other control
// characters.
func parseCommand(line []byte) (keyword string, args []string, err error) {
	if !utf8.Valid(line) {
		return "", nil, errSyntax
	}
	for _, b := range line {
		if (b < 0x20 && b != '\t') || b == 0x7f {
			return "", nil, errSyntax
		}
	}
	fields := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return "", nil, errSyntax
	}
	return strings.ToUpper(fields[0]), fields[1:], nil
}

// restAfter returns what follows the first n words of line, with the
// separating whitespace removed: AUTHINFO PASS takes the rest of the line
// so that passwords may contain spaces.
func restAfter(line string, n int) string {
	s := line
	for i := 0; i < n; i++ {
		s = strings.TrimLeft(s, " \t")
		j := strings.IndexAny(s, " \t")
		if j < 0 {
			return ""
		}
		s = s[j:]
	}
	return strings.TrimLeft(s, " \t")
}

// maxArticleNumber bounds article numbers; RFC 3977 allows 1 to 2^31-1,
// we accept up to 2^63-1 but no more than 16 digits like the RFC's syntax.
const maxNumberDigits = 16

func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > maxNumberDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ParseRange parses an article range as RFC 3977 section 6.1 writes it:
// "n", "n-" (n to the end) or "n-m". A range with m < n is valid and empty.
func ParseRange(s string) (Range, error) {
	lo, hi, dash := strings.Cut(s, "-")
	low, ok := parseNumber(lo)
	if !ok {
		return Range{}, errSyntax
	}
	if !dash {
		return Range{Low: low, High: low}, nil
	}
	if hi == "" {
		return Range{Low: low, High: -1}, nil
	}
	high, ok := parseNumber(hi)
	if !ok {
		return Range{}, errSyntax
	}
	return Range{Low: low, High: high}, nil
}

// parseDateTime parses the date and time arguments of NEWGROUPS and NEWNEWS
// (RFC 3977 section 7.3): date is yymmdd or yyyymmdd, time hhmmss, and an
// optional "GMT". Without GMT the time is the server's local time, which for
// this server is UTC too. A two-digit year lies in the current century if
// not after the current year, else in the previous one.
func parseDateTime(args []string, now time.Time) (time.Time, error) {
	if len(args) < 2 || len(args) > 3 {
		return time.Time{}, errSyntax
	}
	if len(args) == 3 && !strings.EqualFold(args[2], "GMT") {
		return time.Time{}, errSyntax
	}
	date, clock := args[0], args[1]
	if !allDigits(date) || !allDigits(clock) || len(clock) != 6 {
		return time.Time{}, errSyntax
	}
	var year int
	switch len(date) {
	case 8:
		year = atoi(date[:4])
		date = date[4:]
	case 6:
		yy := atoi(date[:2])
		nowYear := now.UTC().Year()
		century := nowYear / 100 * 100
		year = century + yy
		if year > nowYear {
			year -= 100
		}
		date = date[2:]
	default:
		return time.Time{}, errSyntax
	}
	month, day := atoi(date[:2]), atoi(date[2:4])
	hh, mm, ss := atoi(clock[:2]), atoi(clock[2:4]), atoi(clock[4:6])
	if month < 1 || month > 12 || day < 1 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, errSyntax
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.UTC)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, errSyntax
	}
	return t, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// cleanField makes a header value fit on one overview or HDR line: RFC
// 3977 section 8.3.2 asks that CR, LF and TAB be replaced by spaces (after
// unfolding) and NUL removed.
func cleanField(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || c == '\r' || c == '\n' || c == 0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			// CRLF followed by folding whitespace is unfolded away.
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
				if i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
					continue
				}
			}
			b.WriteByte(' ')
		case '\n':
			if i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
				continue
			}
			b.WriteByte(' ')
		case '\t':
			b.WriteByte(' ')
		case 0:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerValue returns the value of the first header field called name
// (case-insensitive) in a raw header block, unfolded, and whether it was
// present.
func headerValue(header []byte, name string) (string, bool) {
	h := header
	for len(h) > 0 {
		end := indexLineEnd(h)
		line := h[:end]
		h = h[end:]
		// gather continuation lines
		for len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
			e := indexLineEnd(h)
			line = append(append([]byte(nil), line...), h[:e]...)
			h = h[e:]
		}
		colon := strings.IndexByte(string(line), ':')
		if colon <= 0 {
			continue
		}
		if !strings.EqualFold(string(line[:colon]), name) {
			continue
		}
		v := string(line[colon+1:])
		v = strings.TrimRight(v, "\r\n")
		return strings.TrimSpace(cleanField(v)), true
	}
	return "", false
}

// indexLineEnd returns the offset just past the next LF, or len(b).
func indexLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i + 1
		}
	}
	return len(b)
}

// IsMessageID is news.ValidMessageID: the server's one message-id rule,
// named here for clients of this package.
func IsMessageID(s string) bool { return news.ValidMessageID(s) }
