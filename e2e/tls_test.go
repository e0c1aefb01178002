package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
)

// TestNntpdTLSAndAuth runs the binary with NNTPS, STARTTLS, an accounts
// file and posting reserved to logged-in users, configured through the
// environment as docker-compose does.
func TestNntpdTLSAndAuth(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	cert := testcert.New(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	accounts := filepath.Join(t.TempDir(), "accounts")
	write(t, accounts, "# test accounts\nalice:"+string(hash)+"\n")

	bin := nntpdBinary(t)
	t.Setenv("ALTCRYPT_TLS_LISTEN", "127.0.0.1:0")
	t.Setenv("ALTCRYPT_TLS_CERT", cert.CertFile)
	t.Setenv("ALTCRYPT_TLS_KEY", cert.KeyFile)
	t.Setenv("ALTCRYPT_ACCOUNTS", accounts)
	t.Setenv("ALTCRYPT_REQUIRE_AUTH_TO_POST", "true")
	t.Setenv("ALTCRYPT_RELEASE_INTERVAL", "0")
	p := startNntpd(t, bin, "--db", sqliteKind().dsn(t))
	if p.TLSAddr == "" {
		t.Fatalf("no NNTPS listener:\n%s", p.Log())
	}
	ctx := context.Background()
	tlsCfg := cert.Client()

	// Plain connection: no posting before login; AUTHINFO refused before
	// TLS (483); STARTTLS then AUTHINFO works.
	c := dial(t, p.Addr)
	if c.PostingAllowed() {
		t.Error("greeting allows posting before login")
	}
	if err := c.AuthInfo(ctx, "alice", "s3cret"); nntpCode(err) != 483 {
		t.Errorf("AUTHINFO before TLS: %v, want 483", err)
	}
	if err := c.StartTLS(ctx, tlsCfg); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.AuthInfo(ctx, "alice", "wrong"); nntpCode(err) != 481 {
		t.Errorf("wrong password: %v, want 481", err)
	}
	if err := c.AuthInfo(ctx, "alice", "s3cret"); err != nil {
		t.Fatalf("AUTHINFO after STARTTLS: %v", err)
	}
	if err := c.Post(ctx, postArticle("x", gpg.EncryptText(t, "over starttls\n"))); err != nil {
		t.Fatalf("POST after login: %v", err)
	}

	// NNTPS: not logged in, POST is refused (480 "authentication
	// required", RFC 4643, since logging in would help); logged in, it works.
	s, err := nntp.DialTLS(ctx, p.TLSAddr, &nntp.ClientOptions{TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Post(ctx, postArticle("x", gpg.EncryptText(t, "refused\n"))); nntpCode(err) != 480 {
		t.Errorf("POST without login: %v, want 480", err)
	}
	if err := s.AuthInfo(ctx, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if err := s.Post(ctx, postArticle("x", gpg.EncryptText(t, "over nntps\n"))); err != nil {
		t.Fatalf("POST over NNTPS: %v", err)
	}
	g, err := s.Group(ctx, group)
	if err != nil || g.Count != 2 {
		t.Fatalf("GROUP %+v %v", g, err)
	}
	// The listeners' own addresses appear (listening and serving lines);
	// any other address would be a client's.
	logText := p.Log()
	for _, m := range regexp.MustCompile(`msg=listening addr=(\S+)`).FindAllStringSubmatch(logText, -1) {
		logText = strings.ReplaceAll(logText, m[1], "LISTENER")
	}
	if strings.Contains(logText, "127.0.0.1:") {
		t.Errorf("client addresses in the log (only the two listeners may appear):\n%s", p.Log())
	}
}
