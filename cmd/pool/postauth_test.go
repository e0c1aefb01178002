package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/altcrypt/altcrypt/backend"
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
