package postgres

import "testing"

func TestWithBinaryParameters(t *testing.T) {
	adds := func(in, want string) {
		t.Helper()
		if got, err := withBinaryParameters(in); err != nil || got != want {
			t.Errorf("withBinaryParameters(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	adds("postgres://u@127.0.0.1:5432/db?sslmode=disable", "postgres://u@127.0.0.1:5432/db?binary_parameters=yes&sslmode=disable")
	adds("postgresql://u@h/db", "postgresql://u@h/db?binary_parameters=yes")
	adds("postgres://u@h/db?binary_parameters=no", "postgres://u@h/db?binary_parameters=no")
	adds("host=/tmp dbname=news sslmode=disable", "host=/tmp dbname=news sslmode=disable binary_parameters=yes")
	adds("host=/tmp binary_parameters=no", "host=/tmp binary_parameters=no")
	adds("", "binary_parameters=yes")
	if _, err := withBinaryParameters("postgres://u@h:port:x/db"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}
