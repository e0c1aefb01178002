package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

func newGPG(t *testing.T) *m2ntest.GPG {
	t.Helper()
	g, err := m2ntest.NewGPG()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

const ngHeader = "Newsgroups: alt.crypt.messages"

// TestPostExitCodes runs `gateway post` in-process against the injection
// server on sqlite, with mails built by Python's email package.
func TestPostExitCodes(t *testing.T) {
	g := newGPG(t)
	news := m2ntest.StartInjectionServer(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("secret\n"), 0o600)

	specs := []m2ntest.MailSpec{
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{ngHeader}},                          // 0
		{Kind: "qp", Armors: [][]byte{g.Encrypt(t)}, Sig: "Alice", Headers: []string{ngHeader}},                // 1
		{Kind: "base64", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{ngHeader}},                          // 2
		{Kind: "pgpmime", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{"To: someone@else.example"}},       // 3
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{"To: someone@else.example"}},        // 4
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t), g.Encrypt(t)}, Headers: []string{ngHeader}},            // 5
		{Kind: "inline", Before: "nothing encrypted here", Headers: []string{ngHeader}},                        // 6
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{ngHeader, "Control: cancel <x@y>"}}, // 7
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{"Newsgroups: alt.test"}},            // 8
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{ngHeader}},                          // 9
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t, "--sign")}, Headers: []string{ngHeader}},                // 10: signed inside
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}},                                                       // 11: no Newsgroups
	}
	mails := m2ntest.MakeMails(t, specs)
	server := []string{"--server", news.Addr}
	// A server that wants a login from everyone (480), and one whose
	// certificate the gateway does not trust.
	closed := nntpmem.New("alt.crypt.messages")
	closed.Anonymous = nntp.Permissions{}
	loginServer := m2ntest.StartNewsServer(t, closed, nil)
	tlsServer := m2ntest.StartNewsServer(t, nntpmem.New("alt.crypt.messages"), testcert.New(t).Server)
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		mail   []byte
		code   int
		stderr string
	}{
		{"inline", server, nil, mails[0], 0, ""},
		{"quoted-printable with signature", server, nil, mails[1], 0, ""},
		{"base64", server, nil, mails[2], 0, ""},
		{"pgp/mime, group from -r", append([]string{"--group-from-address", "-r", "mail2news-alt.crypt.messages@gw.example"}, server...), nil, mails[3], 0, ""},
		{"group from $RECIPIENT", append([]string{"--group-from-address"}, server...), map[string]string{"RECIPIENT": "mail2news-alt.crypt.messages@gw.example"}, mails[4], 0, ""},
		{"signed inside the encryption", server, nil, mails[10], 0, ""},
		{"no Newsgroups header: the one group carried", server, nil, mails[11], 0, ""},
		{"two blocks", server, nil, mails[5], 65, "mail-multiple-messages: "},
		{"no ciphertext", server, nil, mails[6], 65, "mail-no-ciphertext: "},
		{"control", server, nil, mails[7], 65, "control: "},
		{"group not carried", server, nil, mails[8], 65, "unknown-group: "},
		{"group from $ORIGINAL_RECIPIENT not carried", append([]string{"--group-from-address"}, server...), map[string]string{"ORIGINAL_RECIPIENT": "mail2news-alt.test@gw.example"}, mails[9], 65, "unknown-group: "},
		{"too large", append([]string{"--max-size", "300"}, server...), nil, mails[9], 65, "mail-too-large: "},
		{"server refuses the replay: counted as posted", server, nil, mails[0], 0, ""},
		{"server down", []string{"--server", "127.0.0.1:1"}, nil, mails[9], 75, "temporary failure"},
		{"tls to a server without it", append([]string{"--tls"}, server...), nil, mails[9], 75, "temporary failure"},
		{"server wants a login", []string{"--server", loginServer.Addr}, nil, mails[9], 78, "configuration error"},
		{"untrusted certificate", []string{"--tls", "--server", tlsServer.Addr}, nil, mails[9], 78, "certificate does not verify"},
		{"bad flag", []string{"--no-such-flag"}, nil, mails[9], 64, ""},
		{"stray argument", []string{"extra"}, nil, mails[9], 64, ""},
		{"user without password file", []string{"--user", "gw"}, nil, mails[9], 64, ""},
		{"missing password file", []string{"--user", "gw", "--password-file", filepath.Join(dir, "nope")}, nil, mails[9], 78, "password file"},
		{"missing CA file", []string{"--tls", "--tls-ca", filepath.Join(dir, "nope")}, nil, mails[9], 78, "--tls-ca"},
		{"empty groups", []string{"--groups", ","}, nil, mails[9], 64, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			getenv := func(k string) string { return tc.env[k] }
			code := runPost(context.Background(), tc.args, bytes.NewReader(tc.mail), &stderr, getenv)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
			if code == 78 && strings.Count(stderr.String(), "480") > 1 {
				t.Fatalf("server text doubled: %q", stderr.String())
			}
			if code == 0 && stderr.Len() != 0 {
				t.Fatalf("output on success: %q", stderr.String())
			}
		})
	}
	arts := m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")
	if len(arts) != 7 {
		t.Fatalf("%d articles in the group, want 7", len(arts))
	}
	for _, a := range arts {
		if leaks := m2ntest.HeaderLeaks(a.Header); len(leaks) > 0 {
			t.Errorf("article %d leaks %q:\n%s", a.Number, leaks, a.Header)
		}
	}
}
