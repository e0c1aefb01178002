package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	gonntp "github.com/dustin/go-nntp/client"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
)

var messageIDShape = regexp.MustCompile(`^<[a-z2-7]{32}@id\.news\.example>$`)

// checkInjected verifies that a released article carries only the fresh
// header set, an anonymised recipient, and decrypts to want.
func checkInjected(t *testing.T, gpg *gpgtest.Key, raw []byte, want string) {
	t.Helper()
	checkInjectedOn(t, gpg, raw, "news.example", want)
}

// checkInjectedOn is checkInjected for an article injected by server name.
func checkInjectedOn(t *testing.T, gpg *gpgtest.Key, raw []byte, name, want string) {
	t.Helper()
	a, err := article.Parse(raw, article.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range a.Fields {
		names = append(names, string(f.Name))
	}
	if got := strings.Join(names, " "); got != "Path From Newsgroups Subject Message-ID Date Injection-Date Injection-Info" {
		t.Errorf("header fields: %s", got)
	}
	if a.Get("Path") != name+"!not-for-mail" || a.Get("From") != inject.DefaultFrom ||
		a.Get("Newsgroups") != group || a.Get("Injection-Info") != name {
		t.Errorf("header:\n%s", a.Header)
	}
	if !messageIDShape.MatchString(a.Get("Message-ID")) {
		t.Errorf("Message-ID %q", a.Get("Message-ID"))
	}
	if !hsub.Shaped(a.Get("Subject")) {
		t.Errorf("Subject %q is not a tag", a.Get("Subject"))
	}
	d, err := a.Date()
	if err != nil || time.Since(d) > time.Hour || a.Get("Date") != a.Get("Injection-Date") || !strings.HasSuffix(a.Get("Date"), " +0000") {
		t.Errorf("Date %q Injection-Date %q", a.Get("Date"), a.Get("Injection-Date"))
	}
	for _, leak := range []string{"alice", "home.example", "192.0.2.1", "Tester", "Mailer", "Organization", "References"} {
		if bytes.Contains(a.Header, []byte(leak)) {
			t.Errorf("header leaks %q:\n%s", leak, a.Header)
		}
	}
	if pk := gpg.ListPackets(a.Body); !strings.Contains(pk, "keyid 0000000000000000") {
		t.Errorf("recipient not anonymised:\n%s", pk)
	}
	if bytes.Contains(a.Body, []byte("Version:")) || bytes.Contains(a.Body, []byte("Comment:")) {
		t.Errorf("armor headers kept:\n%s", a.Body)
	}
	r := gpg.Decrypt(a.Body)
	plain, status := string(r.Stdout), r.Status
	if !strings.Contains(status, "DECRYPTION_OKAY") || plain != want {
		t.Errorf("decrypted %q, status:\n%s", plain, status)
	}
}

// TestPostCiphertextReleased: a gpg-made message posted over NNTP appears
// only after release, with fresh headers and an anonymised recipient.
func TestPostCiphertextReleased(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServerManual(t, k.open(t), func(c *node.Config) { c.ReleaseInterval = time.Hour })
		c := dial(t, srv.Addr)
		ctx := context.Background()
		if err := c.Post(ctx, postArticle("Hello Bob", gpg.EncryptText(t, "meet at noon\n"))); err != nil {
			t.Fatalf("POST: %v", err)
		}
		if g, err := c.Group(ctx, group); err != nil || g.Count != 0 {
			t.Fatalf("before release: %+v %v", g, err)
		}
		if n, err := srv.Backend.Release(ctx); err != nil || n != 1 {
			t.Fatalf("Release = %d, %v", n, err)
		}
		g, err := c.Group(ctx, group)
		if err != nil || g.Count != 1 {
			t.Fatalf("after release: %+v %v", g, err)
		}
		_, id, raw, err := c.Article(ctx, fmt.Sprint(g.High))
		if err != nil {
			t.Fatal(err)
		}
		checkInjected(t, gpg, raw, "meet at noon\n")
		var ov *nntp.Overview
		if err := c.Over(ctx, id, func(o *nntp.Overview) error { ov = o; return nil }); err != nil {
			t.Fatal(err)
		}
		if ov == nil || ov.MessageID != id || ov.Xref != fmt.Sprintf("news.example %s:%d", group, g.High) {
			t.Errorf("OVER %s: %+v", id, ov)
		}
	})
}

// TestPostPlaintextRefused: plaintext gets 441 with the gate's reason
// code, and nothing is stored.
func TestPostPlaintextRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		srv := startServer(t, k.open(t), nil)
		c := dial(t, srv.Addr)
		ctx := context.Background()
		cases := map[string][]byte{
			"plain text":  []byte("Dear Bob,\r\nsee you at noon.\r\n"),
			"signed text": []byte("-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhi\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\niQ==\r\n-----END PGP SIGNATURE-----\r\n"),
		}
		for name, body := range cases {
			raw := []byte("Newsgroups: " + group + "\r\nSubject: x\r\n\r\n" + string(body))
			err := c.Post(ctx, raw)
			var e *nntp.Error
			if nntpCode(err) != 441 {
				t.Fatalf("%s: %v, want 441", name, err)
			}
			e = err.(*nntp.Error)
			if !regexp.MustCompile(`^[a-z0-9-]+: \S`).MatchString(e.Msg) {
				t.Errorf("%s: 441 %q has no reason code", name, e.Msg)
			}
		}
		err := c.Post(ctx, []byte("Newsgroups: alt.test\r\nSubject: x\r\n\r\nhi\r\n"))
		if nntpCode(err) != 441 || !strings.Contains(err.Error(), "unknown-group: ") {
			t.Errorf("unknown group: %v", err)
		}
		// The session is still in step.
		if g, err := c.Group(ctx, group); err != nil || g.Count != 0 {
			t.Errorf("GROUP after refusals: %+v %v", g, err)
		}
		if p, _ := srv.Store.PendingArticles(ctx, 10); len(p) != 0 {
			t.Errorf("%d refused posts pending", len(p))
		}
	})
}

// TestBatchReleaseShuffles posts over several connections and checks the
// released order is not the posting order and all share one Date.
func TestBatchReleaseShuffles(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServerManual(t, k.open(t), func(c *node.Config) { c.ReleaseInterval = time.Hour })
		ctx := context.Background()
		const n = 16
		var posted []string // plaintexts in posting order
		for i := range n {
			c := dial(t, srv.Addr)
			msg := fmt.Sprintf("message %02d\n", i)
			if err := c.Post(ctx, postArticle("x", gpg.EncryptText(t, msg))); err != nil {
				t.Fatal(err)
			}
			posted = append(posted, msg)
		}
		if got, err := srv.Backend.Release(ctx); err != nil || got != n {
			t.Fatalf("Release = %d, %v", got, err)
		}
		c := dial(t, srv.Addr)
		if _, err := c.Group(ctx, group); err != nil {
			t.Fatal(err)
		}
		var released []string
		dates := map[string]bool{}
		if err := c.Over(ctx, "1-", func(o *nntp.Overview) error { dates[o.Date] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= n; i++ {
			_, _, body, err := c.Body(ctx, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			plain := string(gpg.Decrypt(body).Stdout)
			released = append(released, plain)
		}
		if len(dates) != 1 {
			t.Errorf("%d different Dates in one batch", len(dates))
		}
		if strings.Join(released, "") == strings.Join(posted, "") {
			t.Error("released in posting order (chance 1 in 16!)")
		}
		seen := map[string]bool{}
		for _, r := range released {
			seen[r] = true
		}
		for _, p := range posted {
			if !seen[p] {
				t.Errorf("%q not released", p)
			}
		}
	})
}

// TestGoNNTPClient drives the server with github.com/dustin/go-nntp's
// client, an independent implementation.
func TestGoNNTPClient(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServer(t, k.open(t), nil)
		c, err := gonntp.New("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		caps, err := c.Capabilities()
		if err != nil || !strings.Contains(strings.Join(caps, " "), "READER") {
			t.Fatalf("CAPABILITIES %q %v", caps, err)
		}
		if err := c.Post(bytes.NewReader(postArticle("x", gpg.EncryptText(t, "via go-nntp\n")))); err != nil {
			t.Fatalf("POST: %v", err)
		}
		g, err := c.Group(group)
		if err != nil || g.High != 1 || g.Low != 1 {
			t.Fatalf("GROUP %+v %v", g, err)
		}
		lines, err := c.Over("1-1")
		if err != nil || len(lines) != 1 {
			t.Fatalf("OVER %q %v", lines, err)
		}
		fields := strings.Split(lines[0], "\t")
		if len(fields) < 8 || fields[0] != "1" || !messageIDShape.MatchString(fields[4]) {
			t.Fatalf("OVER line %q", lines[0])
		}
		n, id, r, err := c.Article(fields[4])
		if err != nil || n != 0 || id != fields[4] {
			t.Fatalf("ARTICLE by id: %d %s %v", n, id, err)
		}
		raw, _ := io.ReadAll(r)
		checkInjected(t, gpg, gpgtest.CRLF(raw), "via go-nntp\n")
		if err := c.Post(strings.NewReader("Newsgroups: " + group + "\r\nSubject: x\r\n\r\nplain\r\n")); err == nil || !strings.Contains(err.Error(), "441") {
			t.Errorf("plaintext POST: %v", err)
		}
	})
}
