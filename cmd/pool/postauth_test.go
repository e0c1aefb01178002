package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/altcrypt/altcrypt/backend"
	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store/sqlite"
)

// startGuardedServer is a real injecting server that asks posters for a
// login and a hashcash stamp of 12 bits for resource news.test.
func startGuardedServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "news.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := backend.ParseAccounts(strings.NewReader("alice:" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := backend.New(ctx, st, backend.Config{Name: "news.test", ReleaseInterval: 0, Accounts: accts,
		RequireAuthToPost: true, Hashcash: &backend.Hashcash{Bits: 12, Resource: "news.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &nntp.Server{Backend: b, AllowInsecureAuth: true}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); st.Close() })
	return l.Addr().String()
}

// TestSendLoginAndHashcash: pool send logs in with a password from a file
// and mints the stamp the server's 441 asks for (or the one
// --hashcash-bits names); without a login it says what is missing.
func TestSendLoginAndHashcash(t *testing.T) {
	addr := startGuardedServer(t)
	alice, bob := t.TempDir(), t.TempDir()
	r := runPool(t, "", "--home", bob, "keygen", "--name", "bob")
	if r.code != 0 {
		t.Fatal(r)
	}
	if r := runPool(t, r.stdout, "--home", alice, "import", "--contact", "bob", "-"); r.code != 0 {
		t.Fatal(r)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("wrong\n"), 0o600)

	if r := runPool(t, "hi\n", "--home", alice, "send", "--to", "bob", "--server", addr); r.code != 1 || !strings.Contains(r.stderr, "without a login (--user)") {
		t.Errorf("no login: %+v", r)
	}
	if r := runPool(t, "hi\n", "--home", alice, "send", "--to", "bob", "--server", addr, "--user", "alice", "--password-file", bad); r.code != 1 || !strings.Contains(r.stderr, "481") {
		t.Errorf("wrong password: %+v", r)
	}
	r = runPool(t, "asked for\n", "--home", alice, "send", "--to", "bob", "--server", addr, "--user", "alice", "--password-file", pw)
	if r.code != 0 || !strings.Contains(r.stderr, "asks for a hashcash stamp of 12 bits") {
		t.Errorf("stamp on request: %+v", r)
	}
	r = runPool(t, "minted first\n", "--home", alice, "send", "--to", "bob", "--server", addr, "--user", "alice", "--password-file", pw,
		"--hashcash-bits", "14", "--hashcash-resource", "news.test")
	if r.code != 0 || strings.Contains(r.stderr, "asks for") {
		t.Errorf("--hashcash-bits: %+v", r)
	}
	if r := runPool(t, "x\n", "--home", alice, "send", "--to", "bob", "--password-file", pw); r.code != 1 || !strings.Contains(r.stderr, "needs --user") {
		t.Errorf("password file without user: %+v", r)
	}
	runPool(t, "", "--home", bob, "sync", "--server", addr)
	r = runPool(t, "", "--home", bob, "read")
	if !strings.Contains(r.stdout, "asked for\n") || !strings.Contains(r.stdout, "minted first\n") {
		t.Errorf("read: %+v", r)
	}
}

// TestRunLoginAndHashcash: pool run (the built binary) logs in and mints
// stamps for queued messages and for its cover posts, as pool send does.
func TestRunLoginAndHashcash(t *testing.T) {
	bin := buildtest.Build(t, t.TempDir(), "cmd/pool")
	addr := startGuardedServer(t)
	alice, bob := pair(t)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	for _, text := range []string{"queued one\n", "queued two\n"} {
		// --user on a queued send is for pool run: nothing is asked now.
		r := runPool(t, text, "--home", alice, "send", "--to", "bob", "--server", addr, "--later", "--delay-mean", "1ms", "--user", "alice")
		if r.code != 0 || !strings.Contains(r.stderr, "queued") || !strings.Contains(r.stderr, "pool run --user") {
			t.Fatalf("send --later: %+v", r)
		}
	}
	logf := filepath.Join(t.TempDir(), "run.log")
	log, _ := os.Create(logf)
	defer log.Close()
	// About one cover post a second.
	cmd := exec.Command(bin, "--home", alice, "run", "--server", addr, "--cover-rate", "86400",
		"--user", "alice", "--password-file", pw)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		q, _ := os.ReadDir(filepath.Join(alice, "outbox", "q"))
		out, _ := os.ReadFile(logf)
		if len(q) == 0 && strings.Contains(string(out), "posted a cover message") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool run: %d still queued after 2 minutes; log:\n%s", len(q), out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	out, _ := os.ReadFile(logf)
	if !strings.Contains(string(out), "asks for a hashcash stamp of 12 bits") || strings.Contains(string(out), "refused") && !strings.Contains(string(out), "0 refused") {
		t.Errorf("pool run log:\n%s", out)
	}
	if failed, _ := os.ReadDir(filepath.Join(alice, "outbox", "failed")); len(failed) != 0 {
		t.Errorf("%d queued messages refused; log:\n%s", len(failed), out)
	}
	runPool(t, "", "--home", bob, "sync", "--server", addr)
	r := runPool(t, "", "--home", bob, "read")
	if !strings.Contains(r.stdout, "queued one\n") || !strings.Contains(r.stdout, "queued two\n") {
		t.Errorf("read: %+v", r)
	}
}
