package home

import (
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestParseUserID(t *testing.T) {
	good := map[string][2]string{ // typed -> name, address
		"Alice <alice@example.org>": {"Alice", "alice@example.org"},
		"  bob@example.org ":        {"", "bob@example.org"},
		"Carol Ann":                 {"Carol Ann", ""},
		"<dave@example.org>":        {"", "dave@example.org"},
	}
	for in, want := range good {
		if name, email, err := ParseUserID(in); err != nil || [2]string{name, email} != want {
			t.Errorf("ParseUserID(%q) = %q, %q, %v; want %q", in, name, email, err, want)
		}
	}
	bad := map[string]string{ // typed -> part of the error
		"":                       "empty",
		"Eve (work)":             "cannot hold",
		"Frank <frank>":          "not an e-mail address",
		"Gina\n<g@example.org>":  "control",
		strings.Repeat("h", 201): "longer",
	}
	for in, want := range bad {
		if _, _, err := ParseUserID(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUserID(%q): err %v, want %q", in, err, want)
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
