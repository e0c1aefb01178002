package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMailClient: pool as a mail client through a real server: who sent
// what (by signature or hsub tag), signature checks, the inbox and sent
// folders, reply, and own posts not counted as matches.
func TestMailClient(t *testing.T) {
	addr := startServer(t)
	alice, bob, carol := t.TempDir(), t.TempDir(), t.TempDir()
	key := func(home, name string) string {
		r := runPool(t, "", "--home", home, "keygen", "--name", name)
		if r.code != 0 {
			t.Fatalf("keygen: %+v", r)
		}
		return r.stdout
	}
	alicePub, bobPub := key(alice, "alice"), key(bob, "bob")
	key(carol, "carol")
	mustRun := func(stdin string, args ...string) result {
		t.Helper()
		r := runPool(t, stdin, args...)
		if r.code != 0 {
			t.Fatalf("%q: %+v", args, r)
		}
		return r
	}
	mustRun(bobPub, "--home", alice, "import", "--contact", "bob", "--hsub", "ab secret", "-")
	mustRun(alicePub, "--home", bob, "import", "--contact", "alice", "--hsub", "ab secret", "-")
	mustRun(bobPub, "--home", carol, "import", "--contact", "bob", "-")

	mustRun("signed hello\n", "--home", alice, "send", "--sign", "--to", "bob", "--server", addr)
	mustRun("plain hello\n", "--home", alice, "send", "--to", "bob", "--server", addr)
	mustRun("from a stranger\n", "--home", carol, "send", "--sign", "--to", "bob", "--server", addr)
	if r := mustRun("  \n", "--home", carol, "send", "--to", "bob", "--server", addr); !strings.Contains(r.stderr, "the message is empty") {
		t.Errorf("no warning for an empty message: %+v", r)
	}

	mustRun("", "--home", bob, "sync", "--server", addr)
	r := mustRun("", "--home", bob, "read")
	for _, want := range []string{
		"signed hello\n", "from alice (by signature), good signature by alice, inbox 1",
		"plain hello\n", "from alice (by hsub), unsigned, inbox 2",
		"from a stranger\n", "from an unknown sender, signed by an unknown key 0x",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("read lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustRun("", "--home", bob, "inbox")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 4 || !strings.Contains(lines[0], "alice (signature)") || !strings.Contains(lines[0], "signed hello") {
		t.Errorf("inbox:\n%s", r.stdout)
	}
	r = mustRun("", "--home", bob, "inbox", "2")
	if !strings.Contains(r.stdout, "From: alice (hsub)\n") || !strings.Contains(r.stdout, "Signature: unsigned\n") || !strings.HasSuffix(r.stdout, "\n\nplain hello\n") {
		t.Errorf("inbox 2:\n%s", r.stdout)
	}
	if r := runPool(t, "x\n", "--home", bob, "reply", "--server", addr, "3"); r.code != 1 || !strings.Contains(r.stderr, "unknown sender") {
		t.Errorf("reply to a stranger: %+v", r)
	}
	mustRun("hello alice\n", "--home", bob, "reply", "--sign", "--server", addr, "1")
	if r := mustRun("", "--home", bob, "inbox", "--sent"); !strings.Contains(r.stdout, "to alice") || !strings.Contains(r.stdout, "hello alice") {
		t.Errorf("sent folder:\n%s", r.stdout)
	}

	// Alice finds the reply, and her own two posts to bob (tagged with
	// their shared secret) do not count as hsub matches.
	mustRun("", "--home", alice, "sync", "--server", addr)
	r = mustRun("", "--home", alice, "read")
	if !strings.Contains(r.stdout, "hello alice\n") || !strings.Contains(r.stdout, "good signature by bob") {
		t.Errorf("alice read:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "1 hsub matches, 1 messages found") {
		t.Errorf("alice's own posts counted: %s", r.stderr)
	}

	// Contacts are renamed and removed.
	mustRun("", "--home", alice, "contacts", "--rename", "bob", "robert")
	if r := mustRun("", "--home", alice, "contacts"); !strings.HasPrefix(r.stdout, "robert\t") || strings.Contains(r.stdout, "bob") {
		t.Errorf("after rename: %s", r.stdout)
	}
	mustRun("", "--home", alice, "contacts", "--remove", "robert")
	if r := mustRun("", "--home", alice, "contacts"); r.stdout != "" {
		t.Errorf("after remove: %q", r.stdout)
	}
	if r := runPool(t, "", "--home", alice, "contacts", "--remove", "nobody"); r.code != 1 {
		t.Errorf("removing a missing contact: %+v", r)
	}
}

// TestKeygenPassphrase: a key made with --passphrase-file is stored
// protected; pool read finds nothing without the passphrase and the
// message with it.
func TestKeygenPassphrase(t *testing.T) {
	addr := startServer(t)
	alice, bob := t.TempDir(), t.TempDir()
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte("correct horse\n"), 0o600)
	r := runPool(t, "", "--home", bob, "keygen", "--name", "bob", "--passphrase-file", pf)
	if r.code != 0 {
		t.Fatalf("keygen: %+v", r)
	}
	if r := runPool(t, r.stdout, "--home", alice, "import", "--contact", "bob", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	if r := runPool(t, "secret\n", "--home", alice, "send", "--to", "bob", "--server", addr); r.code != 0 {
		t.Fatalf("send: %+v", r)
	}
	runPool(t, "", "--home", bob, "sync", "--server", addr)
	if r := runPool(t, "", "--home", bob, "read"); r.code != 1 || !strings.Contains(r.stderr, "passphrase") {
		t.Errorf("read without the passphrase: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "read", "--key-passphrase-file", pf); r.code != 0 || !strings.Contains(r.stdout, "secret\n") {
		t.Errorf("read with the passphrase: %+v", r)
	}
	// Signing with the protected key needs the passphrase too.
	r = runPool(t, "", "--home", alice, "keygen", "--name", "alice")
	if r := runPool(t, r.stdout, "--home", bob, "import", "--contact", "alice", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	if r := runPool(t, "signed\n", "--home", bob, "send", "--sign", "--to", "alice", "--server", addr); r.code != 1 || !strings.Contains(r.stderr, "protected") {
		t.Errorf("--sign without the passphrase: %+v", r)
	}
	if r := runPool(t, "signed\n", "--home", bob, "send", "--sign", "--key-passphrase-file", pf, "--to", "alice", "--server", addr); r.code != 0 {
		t.Fatalf("--sign with the passphrase: %+v", r)
	}
	runPool(t, "", "--home", alice, "sync", "--server", addr)
	if r := runPool(t, "", "--home", alice, "read"); !strings.Contains(r.stdout, "good signature by bob") {
		t.Errorf("alice read: %+v", r)
	}
}
