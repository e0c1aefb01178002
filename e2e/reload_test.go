package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
)

// TestSIGHUPReload: SIGHUP makes nntpd re-read its accounts, peers and
// certificate files and log what changed; a file that no longer loads is
// refused and the old one kept. (SIGHUP used to kill nntpd.)
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	peersFile := filepath.Join(dir, "peers")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert1, cert2 := testcert.New(t), testcert.New(t)
	useCert := func(c *testcert.Cert) {
		for src, dst := range map[string]string{c.CertFile: certFile, c.KeyFile: keyFile} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			write(t, dst, string(b))
		}
	}
	account := func(user, pass string) string {
		h, _ := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		return user + ":" + string(h) + "\n"
	}
	write(t, accounts, account("alice", "old"))
	write(t, peersFile, "peer far {\n    accept-from: 192.0.2.1\n    path: far.example\n}\n")
	useCert(cert1)
	p := startNntpd(t, nntpdBinary(t), "--db", sqliteKind().dsn(t), "--accounts", accounts, "--peers", peersFile,
		"--tls-listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--allow-insecure-auth")
	ctx := context.Background()
	hup := func(wantLines int) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(p.Log(), "reload: new certificate")+strings.Count(p.Log(), "reload: the certificate is refused") < wantLines {
			select {
			case <-p.done:
				t.Fatalf("nntpd exited on SIGHUP:\n%s", p.Log())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no reload logged:\n%s", p.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	login := func(user, pass string) error {
		c := dial(t, p.Addr)
		defer c.Close()
		return c.AuthInfo(ctx, user, pass)
	}
	checks := 0
	mayFeed := func() bool {
		c := dial(t, p.Addr)
		defer c.Close()
		checks++ // a fresh id: one just offered is "try later" for a while
		err := c.Check(ctx, fmt.Sprintf("<reload.%d@far.example>", checks))
		if err != nil {
			t.Logf("CHECK: %v", err)
		}
		return err == nil
	}
	tlsWith := func(c *testcert.Cert) error {
		s, err := nntp.DialTLS(ctx, p.TLSAddr, &nntp.ClientOptions{TLSConfig: c.Client()})
		if err == nil {
			s.Close()
		}
		return err
	}
	if login("alice", "old") != nil || mayFeed() || tlsWith(cert1) != nil {
		t.Fatalf("start state wrong:\n%s", p.Log())
	}

	// New files: bob replaces alice, 127.0.0.1 may feed, a new certificate.
	write(t, accounts, account("bob", "new"))
	write(t, peersFile, "peer far {\n    accept-from: 192.0.2.1\n    path: far.example\n}\npeer near {\n    accept-from: 127.0.0.1\n    path: near.example\n}\n")
	useCert(cert2)
	hup(1)
	if err := login("bob", "new"); err != nil {
		t.Errorf("bob after reload: %v", err)
	}
	if err := login("alice", "old"); nntpCode(err) != 481 {
		t.Errorf("alice after reload: %v, want 481", err)
	}
	if !mayFeed() {
		t.Error("127.0.0.1 may not feed after the peers file named it")
	}
	if err := tlsWith(cert2); err != nil {
		t.Errorf("TLS with the new certificate: %v", err)
	}
	log := p.Log()
	for _, want := range []string{"reload: accounts", "added=1 removed=1", "reload: peers", "added=near", "reload: new certificate"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}

	// Broken files are refused; what was loaded stays in force.
	write(t, accounts, "bob has no hash\n")
	write(t, peersFile, "peer {\n")
	write(t, certFile, "not a certificate\n")
	hup(2)
	if err := login("bob", "new"); err != nil {
		t.Errorf("bob after a refused reload: %v", err)
	}
	if !mayFeed() {
		t.Error("the peers file in force was dropped by a refused reload")
	}
	if err := tlsWith(cert2); err != nil {
		t.Errorf("TLS after a refused reload: %v", err)
	}
	log = p.Log()
	for _, want := range []string{"the accounts file is refused", "the peers file is refused", "the certificate is refused"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
