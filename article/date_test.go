package article

import (
	"net/mail"
	"testing"
)

var dateSamples = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Wed, 25 Nov 2026 13:12:55 +0000",
	"25 Nov 2026 13:12:55 +0000",
	"  Wed, 25 Nov 2026 13:12:55 +0100\t",
	"Wed, 25 Nov 2026 13:12:55 +0000 (UTC)",
	"Wed, 25 Nov 2026 13:12:55 GMT",
	"Wed, 25 Nov 26 13:12:55 +0000",
	"Wed, 25 Nov 2026 13:12 +0000",
	"Wed, 25 Nov 2026 13:12:55 +0000\n",
	"Wed, 25 Nov 2026 13:12:55 +0000\r\n",
	"Xyz, 25 Nov 2026 13:12:55 +0000",
	"Wed, 31 Feb 2026 13:12:55 +0000",
	"Wed, 25 Nov 2026 25:12:55 +0000",
	"Wed, 25 Nov 2026 13:12:55 +9999",
	"Wed, 25 Nov 2026 13:12:55",
	"",
	"yesterday",
}

// TestParseDateMatchesNetMail: the fast path gives net/mail's answer.
func TestParseDateMatchesNetMail(t *testing.T) {
	for _, s := range dateSamples {
		checkParseDate(t, s)
	}
}

func checkParseDate(t *testing.T, s string) {
	t.Helper()
	got, err := parseDate(s)
	want, werr := mail.ParseDate(s)
	if (err == nil) != (werr == nil) || !got.Equal(want) || got.Format("-0700") != want.Format("-0700") {
		t.Fatalf("parseDate(%q) = %v, %v; net/mail says %v, %v", s, got, err, want, werr)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range dateSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseDate(t, s) })
}

func TestDateKept(t *testing.T) {
	a, err := Parse([]byte("Date: Wed, 25 Nov 2026 13:12:55 +0000\r\n\r\nbody\r\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	d1, err1 := a.Date()
	d2, err2 := a.Date()
	if err1 != nil || err2 != nil || !d1.Equal(d2) || d1.Unix() != 1795612375 {
		t.Fatalf("Date() = %v %v, then %v %v", d1, err1, d2, err2)
	}
}
