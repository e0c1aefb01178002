package postgres

import "testing"

func TestWithBinaryParameters(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable", "postgres://u@127.0.0.1:5432/db?binary_parameters=yes&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?binary_parameters=yes"},
		{"postgres://u@h/db?binary_parameters=no", "postgres://u@h/db?binary_parameters=no"},
		{"host=/tmp dbname=news sslmode=disable", "host=/tmp dbname=news sslmode=disable binary_parameters=yes"},
		{"host=/tmp binary_parameters=no", "host=/tmp binary_parameters=no"},
		{"", "binary_parameters=yes"},
	} {
		got, err := withBinaryParameters(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("withBinaryParameters(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := withBinaryParameters("postgres://u@h:port:x/db"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}
