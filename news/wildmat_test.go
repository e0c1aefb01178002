package news

import (
	"strings"
	"testing"
)

// refGlob is the reference matcher: the textbook table of "does p[i:]
// match s[j:]", filled from the ends. It takes len(p)*len(s) steps for any
// input, where the naive recursion went exponential on runs of '*'.
func refGlob(p, s []rune) bool {
	m := make([][]bool, len(p)+1)
	for i := range m {
		m[i] = make([]bool, len(s)+1)
	}
	m[len(p)][len(s)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			switch {
			case p[i] == '*':
				m[i][j] = m[i+1][j] || (j < len(s) && m[i][j+1])
			case j == len(s):
				m[i][j] = false
			case p[i] == '?' || p[i] == s[j]:
				m[i][j] = m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

func FuzzWildmat(f *testing.F) {
	for _, s := range [][2]string{
		{"alt.*", "alt.test"}, {"*,!alt.*", "alt.test"}, {"a?c", "abc"}, {"*a*b*c*", "xaybzc"},
		{"!x", "x"}, {"[a]", "a"}, {"ü?", "üß"}, {"**?", ""}, {"a,,b", "a"},
		// Runs of '*' made a naive reference matcher exponential.
		{"************7***", strings.Repeat("a", 60)},
		{strings.Repeat("*a", 40) + "b", strings.Repeat("a", 200)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 256 || len(name) > 256 {
			return // the reference table is len(pattern)*len(name)
		}
		w, err := ParseWildmat(pattern)
		if err != nil {
			return
		}
		got := w.Match(name)
		want := false
		rs := []rune(name)
		for _, p := range w.pats {
			if refGlob(p.p, rs) {
				want = !p.neg
			}
		}
		if got != want {
			t.Fatalf("%q ~ %q: got %v, want %v", pattern, name, got, want)
		}
	})
}

func TestWildmat(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		match     bool
		bad       bool
	}{
		{"*", "anything", true, false},
		{"alt.*", "alt.crypt.messages", true, false},
		{"alt.*", "alt", false, false},
		{"alt.*,!alt.binaries.*", "alt.binaries.x", false, false},
		{"alt.*,!alt.binaries.*,alt.binaries.ok", "alt.binaries.ok", true, false},
		{"a?c", "abc", true, false},
		{"a?c", "ac", false, false},
		{"a?c", "aüc", true, false}, // ? is one UTF-8 character
		{"*.test", "alt.test", true, false},
		{"!alt.*", "", false, true},
		{"a,!", "", false, true},
		{"a,", "", false, true},
		{"[abc]", "", false, true},
		{"a\\b", "", false, true},
		{"a b", "", false, true},
		{"\xff", "", false, true},
	} {
		w, err := ParseWildmat(c.pat)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v", c.pat, err)
			continue
		}
		if err == nil && w.Match(c.name) != c.match {
			t.Errorf("%q ~ %q: want %v", c.pat, c.name, c.match)
		}
	}
}
