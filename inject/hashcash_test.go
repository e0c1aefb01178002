package inject

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
)

const testBits = 12

func withHashcash(c *Config) {
	c.Hashcash = &Hashcash{Bits: testBits}
	c.ReleaseInterval = 0
}

// stamped prepends X-Hashcash fields to a posted article.
func stamped(raw []byte, stamps ...string) []byte {
	var b bytes.Buffer
	for _, s := range stamps {
		b.WriteString("X-Hashcash: " + s + "\r\n")
	}
	b.Write(raw)
	return b.Bytes()
}

func mint(t *testing.T, resource string, bits int, at time.Time) string {
	t.Helper()
	s, err := hashcash.Mint(resource, bits, at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// weakStamp mints a stamp that claims bits but whose SHA-1 has fewer
// leading zero bits.
func weakStamp(t *testing.T, resource string, bits int, at time.Time) string {
	t.Helper()
	for {
		s := mint(t, resource, 0, at)
		s = strings.Replace(s, "1:0:", "1:"+itoa(bits)+":", 1)
		if hashcash.LeadingZeroBits(s) < bits {
			return s
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHashcashOffByDefault(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), nil)
	if err := session(t, b).Post(context.Background(), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "no stamp"))); err != nil {
		t.Fatalf("post without stamp, hashcash off: %v", err)
	}
	b, _ = newBackend(t, openStore(t), func(c *Config) { c.Hashcash = &Hashcash{Bits: 0, Resource: "x"} })
	if err := session(t, b).Post(context.Background(), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "bits 0"))); err != nil {
		t.Fatalf("post without stamp, Bits 0: %v", err)
	}
}

func TestHashcashPost(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	st := openStore(t)
	b, _ := newBackend(t, st, withHashcash)
	if r := b.Config().Hashcash.Resource; r != "news.example" {
		t.Fatalf("resource defaults to %q, want the server name", r)
	}
	s := session(t, b)
	ctx := context.Background()
	good := mint(t, "news.example", testBits, t0)
	body := gpg.EncryptText(t, "the post")

	refusals := []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"missing", posted("alt.crypt.messages", "x", body), hashcash.ReasonMissing},
		{"empty", stamped(posted("alt.crypt.messages", "x", body), ""), hashcash.ReasonMissing},
		{"malformed", stamped(posted("alt.crypt.messages", "x", body), "1:12:xx"), hashcash.ReasonMalformed},
		{"claims too few bits", stamped(posted("alt.crypt.messages", "x", body), mint(t, "news.example", 4, t0)), hashcash.ReasonTooWeak},
		{"work missing", stamped(posted("alt.crypt.messages", "x", body), weakStamp(t, "news.example", testBits, t0)), hashcash.ReasonTooWeak},
		{"wrong resource", stamped(posted("alt.crypt.messages", "x", body), mint(t, "other.example", testBits, t0)), hashcash.ReasonWrongResource},
		{"expired", stamped(posted("alt.crypt.messages", "x", body), mint(t, "news.example", testBits, t0.Add(-72*time.Hour))), hashcash.ReasonExpired},
		{"future", stamped(posted("alt.crypt.messages", "x", body), mint(t, "news.example", testBits, t0.Add(2*time.Hour))), hashcash.ReasonExpired},
		// A refused article does not cost its stamp.
		{"plaintext with a good stamp", stamped(posted("alt.crypt.messages", "x", []byte("hello\n")), good), ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := errCode(t, s.Post(ctx, tt.raw))
			if code != 441 || !strings.HasPrefix(msg, tt.reason) {
				t.Errorf("%d %s; want 441 %s: ...", code, msg, tt.reason)
			}
			if tt.reason == "" && strings.HasPrefix(msg, "hashcash") {
				t.Errorf("plaintext refused for its stamp: %s", msg)
			}
		})
	}

	// A stamp for another server beside ours, as a mail to two
	// recipients carries: ours is found.
	if err := s.Post(ctx, stamped(posted("alt.crypt.messages", "x", body), mint(t, "other.example", testBits, t0), " "+good+" ")); err != nil {
		t.Fatalf("valid stamp: %v", err)
	}
	code, msg := errCode(t, s.Post(ctx, stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "another post")), good)))
	if code != 441 || !strings.HasPrefix(msg, hashcash.ReasonSpent+": ") {
		t.Errorf("reused stamp: %d %s", code, msg)
	}
	// The same post again (a gateway whose 240 got lost) is a replay, not a
	// spent stamp, so the gateway knows the post is in.
	code, msg = errCode(t, s.Post(ctx, stamped(posted("alt.crypt.messages", "x", body), good)))
	if code != 441 || !strings.HasPrefix(msg, CodeReplay+": ") {
		t.Errorf("same post again: %d %s", code, msg)
	}

	g, err := s.Group(ctx, "alt.crypt.messages")
	if err != nil || g.Count != 1 {
		t.Fatalf("group %+v, %v; want the one post", g, err)
	}
	a, err := s.Article(ctx, "alt.crypt.messages", g.High)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(a.Header), []byte("hashcash")) || bytes.Contains(a.Header, []byte(good)) || bytes.Contains(a.Body, []byte(good)) {
		t.Errorf("the stamp reached the article:\n%s", a.Header)
	}
}

// flaky fails AddPending once as an outage does, after the stamp is spent.
type flaky struct {
	store.Store
	failed atomic.Bool
}

func (f *flaky) AddPending(ctx context.Context, p *store.Pending, since time.Time) error {
	if f.failed.CompareAndSwap(false, true) {
		return store.ErrUnavailable
	}
	return f.Store.AddPending(ctx, p, since)
}

func TestHashcashRetryAfterOutage(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	st := &flaky{Store: openStore(t)}
	b, _ := newBackend(t, st, withHashcash)
	s := session(t, b)
	ctx := context.Background()
	raw := stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "retried")), mint(t, "news.example", testBits, t0))
	code, msg := errCode(t, s.Post(ctx, raw))
	if code != 441 || !strings.HasPrefix(msg, CodeTemporary+": ") {
		t.Fatalf("outage: %d %s", code, msg)
	}
	if err := s.Post(ctx, raw); err != nil {
		t.Fatalf("retry with the same stamp after an outage: %v", err)
	}
}

// noStamps is a store whose SpendStamp fails as an outage does.
type noStamps struct{ store.Store }

func (noStamps) SpendStamp(context.Context, string, time.Time) error {
	return errors.Join(errors.New("connection refused"), store.ErrUnavailable)
}

func TestHashcashStoreUnavailable(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, noStamps{openStore(t)}, withHashcash)
	raw := stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "a")), mint(t, "news.example", testBits, t0))
	code, msg := errCode(t, session(t, b).Post(context.Background(), raw))
	if code != 441 || !strings.HasPrefix(msg, CodeTemporary+": ") || !strings.Contains(msg, "try again later") {
		t.Errorf("%d %s", code, msg)
	}
}

func TestHashcashConfig(t *testing.T) {
	st := openStore(t)
	for _, h := range []Hashcash{
		{Bits: hashcash.MaxBits + 1},
		{Bits: 10, MaxAge: -time.Hour},
		{Bits: 10, MaxAge: 90 * 24 * time.Hour}, // longer than the history
	} {
		if _, err := New(context.Background(), st, Config{Hashcash: &h}); err == nil {
			t.Errorf("accepted %+v", h)
		}
	}
	if _, err := New(context.Background(), st, Config{Hashcash: &Hashcash{Bits: 10}, ReplayWindow: time.Hour}); err == nil {
		t.Error("accepted a replay window shorter than a stamp's validity")
	}
	h := &Hashcash{Bits: 10}
	b, err := New(context.Background(), st, Config{Name: "a.example", Hashcash: h})
	if err != nil {
		t.Fatal(err)
	}
	if h.Resource != "" || b.Config().Hashcash.Resource != "a.example" {
		t.Error("New must fill in a copy, not the caller's Hashcash")
	}
}

// TestHashcashOverNNTP posts through a real server on 127.0.0.1 with the
// nntp client: 441 without a stamp or with a weak one, 240 with a valid
// one, 441 hashcash-spent when it comes again.
func TestHashcashOverNNTP(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), func(c *Config) {
		withHashcash(c)
		c.Now = time.Now
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &nntp.Server{Backend: b, Name: "news.example"}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := nntp.Dial(ctx, l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	now := time.Now()
	good := mint(t, "NEWS.example", testBits, now)
	for _, tt := range []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"missing", posted("alt.crypt.messages", "x", gpg.EncryptText(t, "1")), hashcash.ReasonMissing},
		{"weak", stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "2")), mint(t, "news.example", testBits-4, now)), hashcash.ReasonTooWeak},
		{"valid", stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "3")), good), ""},
		{"reused", stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, "4")), good), hashcash.ReasonSpent},
	} {
		err := c.Post(ctx, tt.raw)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ne *nntp.Error
		if !errors.As(err, &ne) || ne.Code != 441 || !strings.HasPrefix(ne.Msg, tt.reason+": ") {
			t.Errorf("%s: %v; want 441 %s", tt.name, err, tt.reason)
		}
	}
	_, nums, err := c.ListGroup(ctx, "alt.crypt.messages", nil)
	if err != nil || len(nums) != 1 {
		t.Fatalf("LISTGROUP: %v %v; want one article", nums, err)
	}
	_, _, raw, err := c.Article(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(raw), []byte("hashcash")) || bytes.Contains(raw, []byte(good)) {
		t.Errorf("the stamp reached the article:\n%s", raw)
	}
}
