package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/internal/corpustest"
)

func TestDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch(context.Background(), []string{"help"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "check") {
		t.Fatalf("help: %d %q", code, out.String())
	}
	out.Reset()
	if code := dispatch(context.Background(), []string{"--version"}, nil, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "gateway altcrypt ") {
		t.Fatalf("--version: %d %q", code, out.String())
	}
	out.Reset()
	if code := dispatch(context.Background(), []string{"help", "check"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "--body") {
		t.Fatalf("help check: %d %q", code, out.String())
	}
	for _, args := range [][]string{nil, {"frobnicate"}, {"check", "--no-such-flag"}, {"check", "--max-esks", "0"}} {
		errb.Reset()
		if code := dispatch(context.Background(), args, nil, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// TestBinary builds the command and runs it as a process.
func TestBinary(t *testing.T) {
	bin := buildtest.Build(t, t.TempDir(), "cmd/gateway")
	good := filepath.Join(corpustest.Dir(t), "gpg-hidden-recipient-rsa.asc")
	bad := filepath.Join(corpustest.Dir(t), "armor-text-after.asc")
	cases := []struct {
		args  []string
		stdin string
		code  int
		out   string
	}{
		{[]string{"check", "--body", good}, "", 0, good + ": accept\n"},
		{[]string{"check", "--body", good, bad}, "", 1, bad + ": reject text-after-armor: "},
		{[]string{"check", "--body", "--json", bad}, "", 1, `"code":"text-after-armor"`},
		{[]string{"check", "--body", "--allow-visible-recipients=false", filepath.Join(corpustest.Dir(t), "gpg-cv25519-one-recipient.asc")}, "", 1, "visible-recipient"},
		{[]string{"check", "--body", filepath.Join(corpustest.Dir(t), "missing.asc")}, "", 2, ""},
		{[]string{"check"}, "Subject: no body separator\n", 1, "-: reject no-header-separator: "},
		{[]string{"help"}, "", 0, "usage: gateway"},
		{[]string{"bogus"}, "", 2, ""},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		cmd.Stdin = strings.NewReader(c.stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("%q: exit %d, want %d; stdout %q", c.args, code, c.code, out.String())
		}
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
}
