package inject

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
	"golang.org/x/crypto/bcrypt"
)

// detRand is a deterministic byte stream (SHA-256 in counter mode) that
// stands in for crypto/rand where a test wants exact bytes.
type detRand struct {
	mu  sync.Mutex
	ctr uint64
	buf []byte
}

func (r *detRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(p) {
		if len(r.buf) == 0 {
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], r.ctr)
			r.ctr++
			s := sha256.Sum256(c[:])
			r.buf = s[:]
		}
		k := copy(p[n:], r.buf)
		r.buf = r.buf[k:]
		n += k
	}
	return n, nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	return sqlitetest.Open(t)
}

func newBackend(t *testing.T, st store.Store, mod func(*Config)) (*Injector, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	cfg := Config{
		Name:             "news.example",
		Domain:           "id.news.example",
		ReleaseInterval:  time.Minute,
		Policy:           armor.DefaultPolicy(),
		MailComplaintsTo: "abuse@news.example",
		Now:              clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(context.Background(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, clk
}

func session(t *testing.T, b *Injector) *Session {
	t.Helper()
	s, err := b.NewSession(context.Background(), nntp.ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*Session)
}

// posted builds a POSTed article as a newsreader would send it, with the
// identifying headers a real one adds.
func posted(newsgroups, subject string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Alice Example <alice@home.example>\r\n")
	fmt.Fprintf(&b, "Newsgroups: %s\r\n", newsgroups)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Message-ID: <alice.1@home.example>\r\n")
	fmt.Fprintf(&b, "Date: Wed, 25 Nov 2026 09:59:59 +0100\r\n")
	fmt.Fprintf(&b, "References: <older@home.example>\r\n")
	fmt.Fprintf(&b, "User-Agent: tin/2.6.2 (Linux)\r\nX-Mailer: Mailer 1.0\r\nOrganization: Alice Inc.\r\n")
	fmt.Fprintf(&b, "NNTP-Posting-Host: 192.0.2.7\r\nX-Trace: trace\r\nPath: home.example!alice\r\n")
	b.WriteString("\r\n")
	b.Write(gpgtest.CRLF(body))
	return b.Bytes()
}

func TestBuildHeaderExact(t *testing.T) {
	b, _ := newBackend(t, openStore(t), nil)
	p := &store.Pending{
		MessageID: "<abc@id.news.example>",
		Groups:    []string{"alt.crypt.messages"},
		Subject:   "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4",
	}
	got := string(b.buildHeader(p, time.Date(2026, 11, 25, 11, 2, 3, 0, time.FixedZone("X", 3600))))
	want := "Path: news.example!not-for-mail\r\n" +
		"From: Anonymous <nobody@invalid>\r\n" +
		"Newsgroups: alt.crypt.messages\r\n" +
		"Subject: 0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4\r\n" +
		"Message-ID: <abc@id.news.example>\r\n" +
		"Date: Wed, 25 Nov 2026 10:02:03 +0000\r\n" +
		"Injection-Date: Wed, 25 Nov 2026 10:02:03 +0000\r\n" +
		"Injection-Info: news.example; mail-complaints-to=\"abuse@news.example\"\r\n"
	if got != want {
		t.Errorf("header:\n%s\nwant:\n%s", got, want)
	}
	b.cfg.MailComplaintsTo = ""
	if got := string(b.buildHeader(p, t0)); !strings.HasSuffix(got, "Injection-Info: news.example\r\n") {
		t.Errorf("without complaints address:\n%s", got)
	}
}

func TestMessageIDFromRand(t *testing.T) {
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.Rand = bytes.NewReader(make([]byte, 20)) })
	id, err := b.newMessageID()
	if err != nil {
		t.Fatal(err)
	}
	if want := "<" + strings.Repeat("a", 32) + "@id.news.example>"; id != want {
		t.Errorf("id = %s, want %s", id, want)
	}
	b.cfg.Rand = &detRand{}
	a, _ := b.newMessageID()
	c, _ := b.newMessageID()
	if a == c || len(a) != len("<@id.news.example>")+32 {
		t.Errorf("ids %s %s", a, c)
	}
}

func TestShuffle(t *testing.T) {
	// Deterministic with a fixed stream, and every element reaches every
	// position over many runs with crypto/rand.
	mk := func() []*store.Pending {
		ps := make([]*store.Pending, 6)
		for i := range ps {
			ps[i] = &store.Pending{ID: int64(i)}
		}
		return ps
	}
	a, c := mk(), mk()
	shuffle(a, &detRand{})
	shuffle(c, &detRand{})
	for i := range a {
		if a[i].ID != c[i].ID {
			t.Fatal("same stream, different order")
		}
	}
	var seen [6][6]int
	for range 3000 {
		ps := mk()
		if err := shuffle(ps, nil); err != nil {
			t.Fatal(err)
		}
		for pos, p := range ps {
			seen[p.ID][pos]++
		}
	}
	for id := range seen {
		for pos, n := range seen[id] {
			if n < 350 || n > 650 { // expected 500; 7 sigma is about 145
				t.Errorf("element %d at position %d %d times of 3000", id, pos, n)
			}
		}
	}
}

func TestUniformRejectsBias(t *testing.T) {
	// A stream that first yields a value in the biased zone must be skipped.
	n := uint64(3)
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, uint64(0)) // lo = 0 < (2^64 mod 3) = 1: rejected
	binary.Write(&buf, binary.BigEndian, ^uint64(0))
	v, err := uniform(&buf, n)
	if err != nil || v != 2 {
		t.Errorf("uniform = %d, %v; want 2", v, err)
	}
}

func TestPostStripsAndReleases(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	st := openStore(t)
	b, clk := newBackend(t, st, func(c *Config) { c.Rand = &detRand{} })
	s := session(t, b)
	ctx := context.Background()

	tag, _ := hsub.New([]byte("secret"), nil)
	if err := s.Post(ctx, posted("alt.crypt.messages", tag, gpg.EncryptText(t, "one"))); err != nil {
		t.Fatalf("post with tag: %v", err)
	}
	if err := s.Post(ctx, posted("alt.crypt.messages", "Hello Bob", gpg.EncryptText(t, "two"))); err != nil {
		t.Fatalf("post without tag: %v", err)
	}
	g, err := s.Group(ctx, "alt.crypt.messages")
	if err != nil || g.Count != 0 {
		t.Fatalf("before release: %+v, %v", g, err)
	}
	clk.Add(42 * time.Second)
	n, err := b.Release(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Release = %d, %v", n, err)
	}
	g, _ = s.Group(ctx, "alt.crypt.messages")
	if g.Count != 2 || g.Low != 1 || g.High != 2 {
		t.Fatalf("after release: %+v", g)
	}
	var subjects []string
	var ovs []nntp.Overview
	err = s.Overview(ctx, "alt.crypt.messages", nntp.Range{Low: 1, High: -1}, func(o *nntp.Overview) error {
		ovs = append(ovs, *o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	date := "Wed, 25 Nov 2026 10:00:42 +0000"
	for _, o := range ovs {
		subjects = append(subjects, o.Subject)
		if o.Xref != fmt.Sprintf("news.example alt.crypt.messages:%d", o.Number) {
			t.Errorf("Xref = %q", o.Xref)
		}
		if o.From != "Anonymous <nobody@invalid>" || o.Date != date || o.References != "" {
			t.Errorf("overview %+v", o)
		}
		a, err := s.Article(ctx, "alt.crypt.messages", o.Number)
		if err != nil {
			t.Fatal(err)
		}
		want := "Path: news.example!not-for-mail\r\n" +
			"From: Anonymous <nobody@invalid>\r\n" +
			"Newsgroups: alt.crypt.messages\r\n" +
			"Subject: " + o.Subject + "\r\n" +
			"Message-ID: " + o.MessageID + "\r\n" +
			"Date: " + date + "\r\n" +
			"Injection-Date: " + date + "\r\n" +
			"Injection-Info: news.example; mail-complaints-to=\"abuse@news.example\"\r\n"
		if string(a.Header) != want {
			t.Errorf("header:\n%s\nwant\n%s", a.Header, want)
		}
		if !strings.HasSuffix(o.MessageID, "@id.news.example>") || strings.Contains(o.MessageID, "alice") {
			t.Errorf("Message-ID %s", o.MessageID)
		}
		if o.Bytes != int64(len(a.Header)+2+len(a.Body)) {
			t.Errorf("Bytes = %d, article is %d", o.Bytes, len(a.Header)+2+len(a.Body))
		}
		if !bytes.HasPrefix(a.Body, []byte("-----BEGIN PGP MESSAGE-----\r\n")) {
			t.Errorf("body %q", a.Body)
		}
		pkts := gpg.ListPackets(a.Body)
		if !strings.Contains(pkts, "keyid 0000000000000000") {
			t.Errorf("recipient not anonymised:\n%s", pkts)
		}
		r := gpg.Decrypt(a.Body)
		plain, status := string(r.Stdout), r.Status
		if !strings.Contains(status, "DECRYPTION_OKAY") || (plain != "one" && plain != "two") {
			t.Errorf("decrypt: %q\n%s", plain, status)
		}
		byID, err := s.OverviewByID(ctx, o.MessageID)
		if err != nil || byID.Xref != o.Xref {
			t.Errorf("OverviewByID: %+v, %v", byID, err)
		}
	}
	var kept, random int
	for _, sub := range subjects {
		switch {
		case sub == tag:
			kept++
		case hsub.Shaped(sub) && sub != "Hello Bob":
			random++
		}
	}
	if kept != 1 || random != 1 {
		t.Errorf("subjects %q: want the tag kept and a random tag", subjects)
	}
}

func errCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var e *nntp.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *nntp.Error", err)
	}
	return e.Code, e.Msg
}

func TestPostRefusals(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), nil)
	s := session(t, b)
	ctx := context.Background()
	good := gpg.EncryptText(t, "body")
	if err := s.Post(ctx, posted("alt.crypt.messages", "x", good)); err != nil {
		t.Fatal(err)
	}
	plain := []byte("Hello, this is plain text.\n")
	tests := []struct {
		name   string
		raw    []byte
		prefix string
	}{
		{"plaintext", posted("alt.crypt.messages", "x", plain), "441 "},
		{"unknown group", posted("alt.crypt.messages,alt.test", "x", gpg.EncryptText(t, "a")), CodeUnknownGroup + ": "},
		{"bad newsgroups", posted("alt..x", "x", gpg.EncryptText(t, "a")), "bad-newsgroups: "},
		{"no newsgroups", []byte("Subject: x\r\n\r\n" + string(gpgtest.CRLF(gpg.EncryptText(t, "a")))), "missing-header: "},
		{"control", append([]byte("Control: cancel <a@b>\r\n"), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "a"))...), CodeControl + ": "},
		{"also-control", append([]byte("Also-Control: cancel <a@b>\r\n"), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "a"))...), CodeControl + ": "},
		{"supersedes", append([]byte("Supersedes: <a@b>\r\n"), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "a"))...), CodeControl + ": "},
		{"malformed header", []byte("Newsgroups alt.crypt.messages\r\n\r\nx\r\n"), "malformed-header: "},
		{"replay", posted("alt.crypt.messages", "y", good), CodeReplay + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := errCode(t, s.Post(ctx, tt.raw))
			if code != 441 {
				t.Errorf("code %d, want 441", code)
			}
			if tt.prefix != "441 " && !strings.HasPrefix(msg, tt.prefix) {
				t.Errorf("msg %q, want prefix %q", msg, tt.prefix)
			}
			if tt.name == "plaintext" {
				_, cerr := armor.Canonicalize(gpgtest.CRLF(plain), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
				var ae *armor.Error
				if !errors.As(cerr, &ae) || msg != ae.Code+": "+ae.Msg {
					t.Errorf("plaintext refusal %q does not carry armor's code", msg)
				}
			}
		})
	}
	pending, err := b.st.PendingArticles(ctx, 100)
	if err != nil || len(pending) != 1 {
		t.Errorf("pending = %d, %v; want only the good post", len(pending), err)
	}
}

func bcryptHashOf(t *testing.T, pass string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// unavailable is a store whose writes fail as a database outage does.
type unavailable struct{ store.Store }

func (unavailable) AddPending(context.Context, *store.Pending, time.Time) error {
	return fmt.Errorf("dial tcp: connection refused: %w", store.ErrUnavailable)
}

func TestPostStoreUnavailable(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, unavailable{openStore(t)}, nil)
	code, msg := errCode(t, session(t, b).Post(context.Background(), posted("alt.crypt.messages", "x", gpg.EncryptText(t, "a"))))
	if code != 441 || !strings.HasPrefix(msg, CodeTemporary+": ") || !strings.Contains(msg, "try again later") {
		t.Errorf("%d %s", code, msg)
	}
}

func TestReleaseAtOnce(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.ReleaseInterval = 0 })
	ctx := context.Background()
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = gpg.EncryptText(t, fmt.Sprint("message ", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(bodies))
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := session(t, b)
			errs <- s.Post(ctx, posted("alt.crypt.messages", "x", bodies[i]))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every post returned after a release that followed it.
	g, _ := b.st.Group(ctx, "alt.crypt.messages")
	if g.Count != int64(len(bodies)) {
		t.Fatalf("visible %d of %d", g.Count, len(bodies))
	}
}

func TestBatchReleaseShuffles(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), nil)
	s := session(t, b)
	ctx := context.Background()
	const n = 12
	for i := range n {
		if err := s.Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := b.st.PendingArticles(ctx, n)
	var order []string // message-ids in posting order
	for _, p := range pending {
		order = append(order, p.MessageID)
	}
	if got, err := b.Release(ctx); err != nil || got != n {
		t.Fatalf("Release = %d, %v", got, err)
	}
	var released []string
	var dates = map[string]bool{}
	s.Overview(ctx, "alt.crypt.messages", nntp.Range{Low: 1, High: -1}, func(o *nntp.Overview) error {
		released = append(released, o.MessageID)
		dates[o.Date] = true
		return nil
	})
	if len(released) != n || len(dates) != 1 {
		t.Fatalf("released %d articles with %d dates", len(released), len(dates))
	}
	if strings.Join(order, " ") == strings.Join(released, " ") {
		t.Error("release order is the posting order (chance 1 in 12!)")
	}
}

func TestExpire(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, clk := newBackend(t, openStore(t), func(c *Config) { c.ReleaseInterval = 0; c.Retention = 24 * time.Hour })
	ctx := context.Background()
	if err := session(t, b).Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, "old"))); err != nil {
		t.Fatal(err)
	}
	clk.Add(25 * time.Hour)
	if err := b.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	g, _ := b.st.Group(ctx, "alt.crypt.messages")
	if g.Count != 0 {
		t.Errorf("after expiry: %+v", g)
	}
}

func TestRunReleasesOnInterval(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	st := openStore(t)
	b, _ := newBackend(t, st, func(c *Config) { c.ReleaseInterval = 50 * time.Millisecond; c.Now = nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if err := session(t, b).Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, "run"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.Changes():
	case <-time.After(10 * time.Second):
		t.Fatal("no release within 10s")
	}
	g, _ := st.Group(context.Background(), "alt.crypt.messages")
	if g.Count != 1 {
		t.Errorf("count %d", g.Count)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}

func TestPermissionsAndAuth(t *testing.T) {
	accts, err := ParseAccounts(strings.NewReader(
		"# users\nalice:" + bcryptHashOf(t, "wonderland") + "\n\nbob:" +
			HashArgon2id("builder", []byte("saltsalt"), 64, 1, 1) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.Accounts = accts; c.RequireAuthToPost = true })
	s := session(t, b)
	if s.Permissions().Post {
		t.Error("may post before login")
	}
	if !errors.Is(s.Post(context.Background(), []byte("x")), nntp.ErrPostingNotPermitted) {
		t.Error("Post before login not refused with ErrPostingNotPermitted")
	}
	for _, c := range []struct{ user, pass string }{{"alice", "x"}, {"bob", "wonderland"}, {"carol", "builder"}, {"", ""}} {
		if err := s.Authenticate(context.Background(), c.user, c.pass); !errors.Is(err, nntp.ErrAuthRejected) {
			t.Errorf("%s/%s: %v", c.user, c.pass, err)
		}
	}
	if s.Permissions().Post {
		t.Error("may post after failed logins")
	}
	for _, c := range []struct{ user, pass string }{{"alice", "wonderland"}, {"bob", "builder"}} {
		s := session(t, b)
		if err := s.Authenticate(context.Background(), c.user, c.pass); err != nil {
			t.Errorf("%s: %v", c.user, err)
		}
		if !s.Permissions().Post {
			t.Errorf("%s may not post after login", c.user)
		}
	}
	open, _ := newBackend(t, openStore(t), nil)
	if !session(t, open).Permissions().Post {
		t.Error("posting closed without RequireAuthToPost")
	}
	if session(t, open).Authenticate(context.Background(), "alice", "wonderland") == nil {
		t.Error("login without accounts succeeded")
	}
	if session(t, open).AuthAvailable() {
		t.Error("AUTHINFO offered without accounts")
	}
	if !s.AuthAvailable() {
		t.Error("AUTHINFO not offered with accounts")
	}
}

func TestParseAccountsErrors(t *testing.T) {
	for _, in := range []string{
		"alice",
		"alice:plain",
		":$2a$04$abc",
		"alice:$2a$04$short",
		"alice:$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
		"alice:$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"alice:$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"alice:$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
	} {
		if _, err := ParseAccounts(strings.NewReader(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
	dup := "a:" + HashArgon2id("p", []byte("saltsalt"), 64, 1, 1)
	if _, err := ParseAccounts(strings.NewReader(dup + "\n" + dup)); err == nil {
		t.Error("accepted a user twice")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	st := openStore(t)
	for _, cfg := range []Config{
		{Name: "bad name"},
		{Name: "a!b"},
		{Domain: "x y"},
		{Groups: []string{"alt..x"}},
		{Groups: []string{"a,b"}},
		{From: "a\r\nX-Injected: 1"},
		{ReleaseInterval: -1},
	} {
		if _, err := New(context.Background(), st, cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}
