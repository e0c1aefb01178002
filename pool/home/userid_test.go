package home

import (
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestParseUserID(t *testing.T) {
	for _, tc := range []struct {
		in, name, email, err string
	}{
		{"Alice <alice@example.org>", "Alice", "alice@example.org", ""},
		{"  bob@example.org ", "", "bob@example.org", ""},
		{"Carol Ann", "Carol Ann", "", ""},
		{"<dave@example.org>", "", "dave@example.org", ""},
		{"", "", "", "empty"},
		{"Eve (work)", "", "", "cannot hold"},
		{"Frank <frank>", "", "", "not an e-mail address"},
		{"Gina\n<g@example.org>", "", "", "control"},
		{strings.Repeat("h", 201), "", "", "longer"},
	} {
		name, email, err := ParseUserID(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseUserID(%q): err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || name != tc.name || email != tc.email {
			t.Errorf("ParseUserID(%q) = %q, %q, %v; want %q, %q", tc.in, name, email, err, tc.name, tc.email)
		}
	}
}

// FuzzParseUserID: whatever ParseUserID accepts, OpenPGP can make a user
// ID of.
func FuzzParseUserID(f *testing.F) {
	for _, s := range []string{"Alice <alice@example.org>", "bob@example.org", "Carol", "a <b@c> <d@e>", "x@y@z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, email, err := ParseUserID(s)
		if err != nil {
			return
		}
		if name == "" && email == "" {
			t.Fatalf("ParseUserID(%q): accepted with nothing in it", s)
		}
		if packet.NewUserId(name, "", email) == nil {
			t.Fatalf("ParseUserID(%q) = %q, %q: not a valid user ID", s, name, email)
		}
	})
}
