package pgtest

import "testing"

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u@127.0.0.1:5432/t_x?sslmode=disable"},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/t_x"},
		{"postgres://u@h", "postgres://u@h/t_x"},
		{"host=/tmp port=5 sslmode=disable", "host=/tmp port=5 sslmode=disable dbname=t_x"},
	} {
		got, err := WithDatabase(c.in, "t_x")
		if err != nil || got != c.want {
			t.Errorf("WithDatabase(%q) = %q %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://u:secret@h/db"); got != "postgres://u:xxxxx@h/db" {
		t.Errorf("redact = %q", got)
	}
}
