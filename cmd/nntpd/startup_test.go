package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/testcert"
)

// runNntpd runs nntpd with args until it exits (a start-up failure) or
// ctx ends, and returns its exit code and output.
func runNntpd(ctx context.Context, args []string, environ []string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

// TestStartupChecksCreateNothing: every mistake a flag or file can hold is
// found before the database file exists, and the message names the flag.
func TestStartupChecksCreateNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "news.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", busy.Addr().String()}, "--listen: listen tcp " + busy.Addr().String()},
		{[]string{"--listen", "127.0.0.1:0", "--peers", "/nonexist"}, "--peers: open /nonexist: no such file or directory"},
		{[]string{"--listen", "127.0.0.1:0", "--accounts", "/nonexist"}, "--accounts: open /nonexist: no such file or directory"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "/nonexist.pem", "--tls-key", "/nonexist.key"}, "--tls-cert: open /nonexist.pem"},
	}
	for _, c := range cases {
		args := append([]string{"--db", "sqlite:" + db}, c.args...)
		code, _, stderr := runNntpd(t.Context(), args, nil)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %s", c.args, code, stderr)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("%q left %v behind", c.args, ents)
		}
	}
}

func TestTLSKeyErrorNamesFlag(t *testing.T) {
	cert := testcert.New(t)
	_, err := loadCert(cert.CertFile, filepath.Join(t.TempDir(), "missing.key"))
	if err == nil || !strings.HasPrefix(err.Error(), "--tls-key: open ") {
		t.Errorf("loadCert: %v", err)
	}
}

func TestSQLitePathErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "no", "such", "news.db"), "does not exist"},
		{dir, "is a directory"},
		{"", "needs a path"},
	} {
		err := checkSQLitePath(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.path, err)
		}
	}
	if err := checkSQLitePath(filepath.Join(dir, "news.db")); err != nil {
		t.Errorf("a new file in a writable directory: %v", err)
	}
	code, _, stderr := runNntpd(t.Context(), []string{"--listen", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "no", "news.db")}, nil)
	if code != 1 || !strings.Contains(stderr, "--db: sqlite:"+filepath.Join(dir, "no", "news.db")+": the directory "+filepath.Join(dir, "no")+" does not exist") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestUnknownEnvWarned(t *testing.T) {
	got := unknownEnv([]string{"ALTCRYPT_LISTN=0.0.0.0:119", "ALTCRYPT_LISTEN=127.0.0.1:0", "ALTCRYPT_HOME=/x", "PATH=/bin"})
	if len(got) != 1 || got[0] != "ALTCRYPT_LISTN" {
		t.Errorf("unknownEnv = %q", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the warning comes first; then serve stops at once
	_, _, stderr := runNntpd(ctx, []string{"--db", "sqlite:" + filepath.Join(t.TempDir(), "n.db")},
		[]string{"ALTCRYPT_LISTN=0.0.0.0:119", "ALTCRYPT_LISTEN=127.0.0.1:0"})
	if !strings.Contains(stderr, "unknown environment variable") || !strings.Contains(stderr, "ALTCRYPT_LISTN") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, _, stderr := runNntpd(t.Context(), []string{"-h"}, nil)
	if code != 0 || !strings.Contains(stderr, "ALTCRYPT_<FLAG>") ||
		!strings.Contains(stderr, "(default 60d)") || !strings.Contains(stderr, "(default 3m)") || strings.Contains(stderr, "h0m0s") {
		t.Errorf("-h: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := runNntpd(t.Context(), []string{"--version"}, nil)
	if code != 0 || !strings.HasPrefix(stdout, "nntpd altcrypt ") {
		t.Errorf("--version: exit %d %q", code, stdout)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * 24 * time.Hour: "60d", 3 * time.Minute: "3m", time.Hour: "1h", 90 * time.Second: "1m30s", 0: "0s", 36 * time.Hour: "36h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestDBRetry: an unreachable PostgreSQL is retried with a message that
// says so, until --db-wait runs out.
func TestDBRetry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, _, stderr := runNntpd(t.Context(), []string{"--listen", "127.0.0.1:0", "--db-wait", "3s",
		"--db", "postgres://u:secret@" + addr + "/news?sslmode=disable&connect_timeout=1"}, nil)
	if code != 1 || !strings.Contains(stderr, "database not reachable yet; retrying") || strings.Contains(stderr, "secret") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestProbe: --probe says whether a server answers on --listen.
func TestProbe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if code, _, _ := runNntpd(t.Context(), []string{"--probe", "--listen", addr}, nil); code != 1 {
		t.Errorf("probe with nothing listening: exit %d", code)
	}
	done := make(chan int)
	go func() {
		code, _, _ := runNntpd(ctx, []string{"--listen", addr, "--db", "sqlite:" + filepath.Join(t.TempDir(), "n.db")}, nil)
		done <- code
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, stderr := runNntpd(t.Context(), []string{"--probe", "--listen", addr}, nil)
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe never succeeded: %s", stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-done
}
