package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/node/nodetest"
)

func startServer(t *testing.T) string { return startServerWith(t, node.Config{}) }

// startServerWith serves a node of cfg, releasing posts at once.
func startServerWith(t *testing.T, cfg node.Config) string {
	t.Helper()
	cfg.ReleaseInterval = 0
	return nodetest.Start(t, cfg)
}

type result struct {
	code           int
	stdout, stderr string
}

func runPool(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestCommands(t *testing.T) {
	addr := startServer(t)
	alice, bob := t.TempDir(), t.TempDir()
	r := runPool(t, "", "--home", bob, "keygen", "--name", "bob")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Fatalf("keygen: %+v", r)
	}
	bobPub := r.stdout
	if r := runPool(t, "", "--home", bob, "pubkey"); r.code != 0 || r.stdout != bobPub {
		t.Fatalf("pubkey: %+v", r)
	}
	if r := runPool(t, bobPub, "--home", alice, "import", "--contact", "bob", "--hsub", "our secret", "-"); r.code != 0 {
		t.Fatalf("import contact: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "import", "--contact", "alice", "--hsub", "our secret"); r.code != 0 {
		t.Fatalf("import hsub only: %+v", r)
	}
	if r := runPool(t, "hello bob\n", "--home", alice, "send", "--to", "bob", "--server", addr); r.code != 0 {
		t.Fatalf("send: %+v", r)
	}
	r = runPool(t, "", "--home", bob, "sync", "--server", addr)
	if r.code != 0 || !strings.Contains(r.stderr, "1 new articles stored") {
		t.Fatalf("sync: %+v", r)
	}
	r = runPool(t, "", "--home", bob, "read")
	if r.code != 0 || !strings.Contains(r.stdout, "hello bob\n") || !strings.Contains(r.stdout, "=== article 1 on "+addr) || !strings.Contains(r.stdout, "hsub match") {
		t.Fatalf("read: %+v", r)
	}
	// Nothing new the second time; --again and --out find it again.
	if r := runPool(t, "", "--home", bob, "read"); r.code != 0 || r.stdout != "" {
		t.Fatalf("second read: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "inbox")
	r = runPool(t, "", "--home", bob, "read", "--again", "--out", out)
	files, _ := filepath.Glob(filepath.Join(out, "*.msg"))
	if r.code != 0 || len(files) != 1 {
		t.Fatalf("read --out: %+v, files %v", r, files)
	}
	if data, _ := os.ReadFile(files[0]); string(data) != "hello bob\n" {
		t.Fatalf("saved %q", data)
	}
	// sync without --server goes back to the servers synced before.
	if r := runPool(t, "", "--home", bob, "sync"); r.code != 0 || !strings.Contains(r.stderr, addr) {
		t.Fatalf("sync (known servers): %+v", r)
	}
	// --print writes a whole article with nothing identifying in it.
	r = runPool(t, "x", "--home", alice, "send", "--to", "bob", "--print")
	head, _, ok := strings.Cut(r.stdout, "\r\n\r\n")
	if r.code != 0 || !ok {
		t.Fatalf("send --print: %+v", r)
	}
	for _, l := range strings.Split(head, "\r\n") {
		name, _, _ := strings.Cut(l, ":")
		if name != "From" && name != "Newsgroups" && name != "Subject" {
			t.Errorf("unexpected header %q", l)
		}
	}
}

func TestUsageAndErrors(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"--home", home, "frobnicate"}, 2, "unknown command"},
		{[]string{"--home", home, "send"}, 2, "usage: pool send"},
		{[]string{"--home", home, "send", "--to", "nobody", "--print"}, 1, "no contact"},
		{[]string{"--home", home, "read"}, 1, "no secret key"},
		{[]string{"--home", home, "sync", "--server", "127.0.0.1:1"}, 1, "down or unreachable"},
		{[]string{"--home", home, "import", "--hsub", "x"}, 1, "needs --contact"},
		{[]string{"--home", home, "import", "--contact", "../evil", "-"}, 1, "bad contact name"},
	} {
		r := runPool(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	// Help that was asked for is not an error.
	if r := runPool(t, "", "--home", home, "help"); r.code != 0 || !strings.Contains(r.stdout, "usage: pool") {
		t.Errorf("help: code %d, stdout %q", r.code, r.stdout)
	}
	if r := runPool(t, "", "--home", home, "help", "send"); r.code != 0 || !strings.Contains(r.stderr, "Usage of pool send") {
		t.Errorf("help send: code %d, stderr %q", r.code, r.stderr)
	}
	for _, h := range []string{"--help", "-h"} {
		if r := runPool(t, "", h); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: pool") || r.stderr != "" {
			t.Errorf("%s: %+v", h, r)
		}
	}
	if r := runPool(t, "", "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "pool altcrypt ") {
		t.Errorf("--version: %+v", r)
	}
	if r := runPool(t, "", "--no-such-flag"); r.code != 2 || !strings.Contains(r.stderr, "usage: pool") {
		t.Errorf("bad flag: %+v", r)
	}
}

// TestGPGKeyImport: a secret key exported from gpg is imported and finds
// what gpg encrypts to it with --throw-keyids.
func TestGPGKeyImport(t *testing.T) {
	addr := startServer(t)
	gh, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "gpg-agent")
		c.Env = append(os.Environ(), "GNUPGHOME="+gh)
		c.Run()
		os.RemoveAll(gh)
	})
	gpg := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+gh)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	gpg("", "--quick-gen-key", "me <me@example.org>", "future-default", "default", "never")
	home := t.TempDir()
	if r := runPool(t, gpg("", "--armor", "--export-secret-keys"), "--home", home, "import", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	ct := gpg("secret words\n", "--armor", "--encrypt", "--throw-keyids", "-r", "me@example.org")
	art := "From: x <x@example.org>\r\nNewsgroups: alt.crypt.messages\r\nSubject: hi\r\n\r\n" + strings.ReplaceAll(ct, "\n", "\r\n")
	cl, err := nntp.Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Post(context.Background(), []byte(art)); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if r := runPool(t, "", "--home", home, "sync", "--server", addr); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	r := runPool(t, "", "--home", home, "read")
	if r.code != 0 || !strings.Contains(r.stdout, "secret words") {
		t.Fatalf("read: %+v", r)
	}
}

// TestImportWithoutContact: a public key imported without --contact
// becomes the contact named after its user ID, and the name is printed.
func TestImportWithoutContact(t *testing.T) {
	alice, bob := t.TempDir(), t.TempDir()
	r := runPool(t, "", "--home", bob, "keygen", "--name", "Bob Builder")
	if r.code != 0 {
		t.Fatalf("keygen: %+v", r)
	}
	bobPub := r.stdout
	r = runPool(t, bobPub, "--home", alice, "import", "--hsub", "our secret", "-")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "contact Bob-Builder: key ") ||
		!strings.Contains(r.stdout, `user ID "Bob Builder"`) || !strings.Contains(r.stdout, "contact Bob-Builder: hsub secret stored") {
		t.Fatalf("import: %+v", r)
	}
	if r := runPool(t, "", "--home", alice, "contacts"); r.code != 0 || !strings.Contains(r.stdout, "Bob-Builder") {
		t.Fatalf("contacts: %+v", r)
	}
	if r := runPool(t, "hi\n", "--home", alice, "send", "--to", "Bob-Builder", "--print"); r.code != 0 || !strings.Contains(r.stdout, "BEGIN PGP MESSAGE") {
		t.Fatalf("send: %+v", r)
	}
	// Another key under the same user ID does not replace Bob's.
	other := t.TempDir()
	r = runPool(t, "", "--home", other, "keygen", "--name", "Bob Builder")
	if r := runPool(t, r.stdout, "--home", alice, "import", "-"); r.code != 1 || !strings.Contains(r.stderr, "--contact NAME") {
		t.Fatalf("second Bob: %+v", r)
	}
}

// TestKeygenUserID: the key's user ID is the one the user gives, and
// importing the public key names the contact after it.
func TestKeygenUserID(t *testing.T) {
	for _, tc := range []struct {
		name, uid, contact string
	}{
		{"name and address", "Alice Liddell <Alice@Example.org>", "alice@example.org"},
		{"address", "bob@example.org", "bob@example.org"},
		{"name", "Carol", "Carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			me, friend := t.TempDir(), t.TempDir()
			r := runPool(t, "", "--home", me, "keygen", "--name", tc.uid)
			if r.code != 0 {
				t.Fatalf("keygen: %+v", r)
			}
			r = runPool(t, r.stdout, "--home", friend, "import", "-")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "contact "+tc.contact+": key ") {
				t.Fatalf("import: %+v", r)
			}
			gpg := exec.Command("gpg", "--with-colons", "--show-keys", filepath.Join(friend, "contacts", tc.contact+".asc"))
			gpg.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
			out, err := gpg.Output()
			if err != nil {
				t.Fatal(err)
			}
			want := tc.uid
			if !strings.Contains(tc.uid, " ") && strings.Contains(tc.uid, "@") {
				want = "<" + tc.uid + ">"
			}
			if !strings.Contains(string(out), ":"+want+":") {
				t.Errorf("gpg sees no user ID %q:\n%s", want, out)
			}
		})
	}
	// No --name and no terminal: a usage error, and no key made.
	me := t.TempDir()
	r := runPool(t, "", "--home", me, "keygen")
	if r.code != 2 || !strings.Contains(r.stderr, "--name") {
		t.Errorf("keygen without --name: %+v", r)
	}
	for _, bad := range []string{"Eve (the other one)", "Mallory <not an address>", "Ann\x01"} {
		if r := runPool(t, "", "--home", me, "keygen", "--name", bad); r.code != 1 || !strings.Contains(r.stderr, "--name") {
			t.Errorf("keygen --name %q: %+v", bad, r)
		}
	}
	if keys, _ := os.ReadDir(filepath.Join(me, "secret")); len(keys) != 0 {
		t.Errorf("%d keys made by refused keygens", len(keys))
	}
}

// TestSendTooLarge: a message the server's size limit refuses is answered
// with the largest text that fits, and a text of that size is posted.
func TestSendTooLarge(t *testing.T) {
	// 20 KiB of text seal to 64 KiB, over the body limit but within the
	// article limit (64 KiB more), so that the gate refuses it, not the
	// protocol layer.
	addr := startServerWith(t, node.Config{MaxArticleSize: 32 << 10})
	alice, _ := pair(t)
	r := runPool(t, strings.Repeat("x", 20<<10), "--home", alice, "send", "--to", "bob", "--server", addr)
	m := regexp.MustCompile(`the largest this server takes is about (\d+) octets`).FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil || !strings.Contains(r.stderr, "body-too-large") {
		t.Fatalf("send too large: %+v", r)
	}
	n, _ := strconv.Atoi(m[1])
	if r := runPool(t, strings.Repeat("y", n), "--home", alice, "send", "--to", "bob", "--server", addr); r.code != 0 {
		t.Errorf("send %d octets, the largest said to fit: %+v", n, r)
	}
}
