package metrics

import "testing"

func TestReason(t *testing.T) {
	for msg, want := range map[string]string{
		"armor-label: the armor is a PGP SIGNATURE":    "armor-label",
		"path-loop: the Path already holds our name x": "path-loop",
		"Article too large":                            "unspecified",
		"Bad Thing: x":                                 "unspecified",
		"":                                             "unspecified",
		"a-very-long-reason-code-that-nobody-would-ever-write-here: x": "unspecified",
	} {
		if got := Reason(msg); got != want {
			t.Errorf("Reason(%q) = %q, want %q", msg, got, want)
		}
	}
}
