package news

import (
	"errors"
	"unicode/utf8"
)

// Wildmat is a compiled wildmat as RFC 3977 section 4 defines it: a list
// of patterns separated by ",", each but the first optionally negated by a
// leading "!". Within a pattern, "*" matches any sequence of characters
// (including none) and "?" exactly one UTF-8 character; every other
// character matches itself. There are no character classes and no
// escapes: "[", "]", "\\", space and control characters are not allowed.
// The rightmost pattern that matches decides: the name matches unless that
// pattern is negated; if none matches, the name does not match.
type Wildmat struct {
	pats []wildPattern
}

type wildPattern struct {
	neg bool
	p   []rune
}

var errBadWildmat = errors.New("news: invalid wildmat")

// ParseWildmat compiles s or reports errBadWildmat.
func ParseWildmat(s string) (*Wildmat, error) {
	if !utf8.ValidString(s) {
		return nil, errBadWildmat
	}
	w := &Wildmat{}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		part := s[start:i]
		start = i + 1
		var p wildPattern
		if len(part) > 0 && part[0] == '!' {
			if len(w.pats) == 0 {
				return nil, errBadWildmat
			}
			p.neg = true
			part = part[1:]
		}
		if part == "" {
			return nil, errBadWildmat
		}
		for _, r := range part {
			if r < 0x80 && !wildmatChar(byte(r)) {
				return nil, errBadWildmat
			}
		}
		p.p = []rune(part)
		w.pats = append(w.pats, p)
	}
	return w, nil
}

// wildmatChar reports whether an ASCII byte may appear in a pattern:
// wildmat-exact (%x22-29 / %x2B / %x2D-3E / %x40-5A / %x5E-7E) or "*"/"?".
func wildmatChar(c byte) bool {
	switch {
	case c == '*' || c == '?':
		return true
	case c >= 0x22 && c <= 0x29, c == 0x2b, c >= 0x2d && c <= 0x3e,
		c >= 0x40 && c <= 0x5a, c >= 0x5e && c <= 0x7e:
		return true
	}
	return false
}

// Match reports whether name matches the wildmat. A nil Wildmat matches
// everything.
func (w *Wildmat) Match(name string) bool {
	if w == nil {
		return true
	}
	rs := []rune(name)
	for i := len(w.pats) - 1; i >= 0; i-- {
		if globMatch(w.pats[i].p, rs) {
			return !w.pats[i].neg
		}
	}
	return false
}

// globMatch matches one pattern with "*" and "?" against s. It backtracks
// only to the most recent "*", which is enough for these two wildcards and
// keeps the cost at O(len(p)*len(s)).
func globMatch(p, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]) && p[pi] != '*':
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
