package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/internal/injecttest"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
)

// startGuardedServer is a real injecting server that asks posters for a
// login and a hashcash stamp of 12 bits for resource news.test.
func startGuardedServer(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := inject.ParseAccounts(strings.NewReader("alice:" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := injecttest.Backend(t, inject.Config{Name: "news.test", ReleaseInterval: 0, Accounts: accts,
		RequireAuthToPost: true, Hashcash: &inject.Hashcash{Bits: 12, Resource: "news.test"}})
	return nntptest.ServeNNTP(t, &nntp.Server{Backend: b, AllowInsecureAuth: true}, nil)
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

// TestRunReadsWithKeyUnlockedOnce: pool run --read-every unlocks a
// protected key once and keeps it in memory: after the passphrase file is
// gone it still reads new messages into the inbox, and the key on disk
// stays protected. A wrong passphrase stops it at once.
func TestRunReadsWithKeyUnlockedOnce(t *testing.T) {
	bin := buildtest.Build(t, t.TempDir(), "cmd/pool")
	addr := startServer(t)
	alice, bob := t.TempDir(), t.TempDir()
	secrets := t.TempDir()
	pf, wrong := filepath.Join(secrets, "pass"), filepath.Join(secrets, "wrong")
	os.WriteFile(pf, []byte("agent words\n"), 0o600)
	os.WriteFile(wrong, []byte("other words\n"), 0o600)
	pub := runPool(t, "", "--home", bob, "keygen", "--name", "Bob <bob@example.org>", "--passphrase-file", pf).stdout
	if r := runPool(t, pub, "--home", alice, "import", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	post := func(text string) {
		t.Helper()
		if r := runPool(t, text, "--home", alice, "send", "--to", "bob@example.org", "--server", addr); r.code != 0 {
			t.Fatalf("send: %+v", r)
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(bob, "secret", "*.asc"))
	before, _ := os.ReadFile(onDisk[0])

	if r := runPool(t, "", "--home", bob, "run", "--server", addr, "--read-every", "1s", "--key-passphrase-file", wrong); r.code != 1 || !strings.Contains(r.stderr, "wrong passphrase") {
		t.Errorf("wrong passphrase: %+v", r)
	}
	post("before the run\n")
	logf := filepath.Join(t.TempDir(), "run.log")
	log, _ := os.Create(logf)
	defer log.Close()
	cmd := exec.Command(bin, "--home", bob, "run", "--server", addr, "--read-every", "200ms", "--key-passphrase-file", pf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitForLog(t, logf, "inbox 1 ", time.Minute)
	os.Remove(pf) // from now on the key is unlocked only in pool run's memory
	post("during the run\n")
	waitForLog(t, logf, "inbox 2 ", time.Minute)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		out, _ := os.ReadFile(logf)
		t.Errorf("pool run: %v\n%s", err, out)
	}
	if r := runPool(t, "", "--home", bob, "inbox", "2"); !strings.Contains(r.stdout, "during the run") {
		t.Errorf("inbox 2: %+v", r)
	}
	after, _ := os.ReadFile(onDisk[0])
	if !bytes.Equal(before, after) {
		t.Error("the secret key file changed")
	}
	if r := runPool(t, "", "--home", bob, "read", "--again"); r.code != 1 || !strings.Contains(r.stderr, "passphrase") {
		t.Errorf("read without the passphrase after the run: %+v", r)
	}
}

// waitForLog waits until the file at path holds want.
func waitForLog(t *testing.T, path, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q:\n%s", path, want, data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
