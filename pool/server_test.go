package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/internal/injecttest"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/spool"
	"github.com/altcrypt/altcrypt/store"
)

// newsServer is nntpd's stack, in process: nntp.Server over backend on the
// embedded SQLite store, on 127.0.0.1:0.
type newsServer struct {
	addr    string
	backend *inject.Injector
	store   store.Store // by startServer
}

func startServer(t testing.TB, wrap func(nntp.Backend) nntp.Backend) *newsServer {
	t.Helper()
	b, st := injecttest.BackendAndStore(t, inject.Config{ReleaseInterval: 0})
	srv := serve(t, b, wrap)
	srv.store = st
	return srv
}

func serve(t testing.TB, b *inject.Injector, wrap func(nntp.Backend) nntp.Backend) *newsServer {
	var nb nntp.Backend = b
	if wrap != nil {
		nb = wrap(b)
	}
	addr := nntptest.ServeNNTP(t, &nntp.Server{Backend: nb, Name: "test.invalid"}, nil)
	return &newsServer{addr: addr, backend: b}
}

// dialNews connects to the news server at addr as any newsreader would;
// the caller closes the client.
func dialNews(t testing.TB, addr string) *nntp.Client {
	t.Helper()
	cl, err := nntp.Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// postRaw posts an article as any newsreader would.
func postRaw(t testing.TB, addr string, article []byte) {
	t.Helper()
	cl := dialNews(t, addr)
	defer cl.Close()
	if err := cl.Post(context.Background(), article); err != nil {
		t.Fatalf("post: %v", err)
	}
}

func gpgArticle(subject string, armored []byte) []byte {
	return []byte("From: someone <someone@example.org>\r\nNewsgroups: alt.crypt.messages\r\nSubject: " + subject +
		"\r\nUser-Agent: gpg by hand\r\n\r\n" + strings.ReplaceAll(string(armored), "\n", "\r\n"))
}

// postedToBob makes alice and bob, alice knowing bob's key, and has
// alice send bob n messages "0", "1"... through server.
func postedToBob(t testing.TB, server string, n int) (alice, bob *Client) {
	t.Helper()
	alice, bob, _ = aliceAndBob(t)
	for i := 0; i < n; i++ {
		sendTo(t, alice, "bob", server, fmt.Sprint(i))
	}
	return alice, bob
}

func sendTo(t testing.TB, from *Client, contact, server, text string) {
	t.Helper()
	art, err := from.Compose(contact, []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := from.Post(context.Background(), server, art); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripsThroughServer(t *testing.T) {
	srv := startServer(t, nil)
	alice, bob, carol := newClient(t), newClient(t), newClient(t)
	bobKey, err := bob.Home.Keygen(home.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	carolKey, _ := carol.Home.Keygen(home.KeyOptions{})
	bobPub, _ := home.ArmoredPublic(bobKey)
	carolPub, _ := home.ArmoredPublic(carolKey)
	alice.Home.ImportContact("bob", bytes.NewReader(bobPub))
	alice.Home.SetHsub("bob", []byte("alice+bob"))
	alice.Home.ImportContact("carol", bytes.NewReader(carolPub))
	// Bob knows the hsub secret he shares with alice.
	bob.Home.ImportContact("alice", bytes.NewReader(carolPub))
	bob.Home.SetHsub("alice", []byte("alice+bob"))

	// gpg, holding bob's public key, writes to him with a hidden recipient
	// and with --throw-keyids.
	g := gpgtest.New(t)
	g.Must(t, bobPub, "--import")
	for i, args := range [][]string{{"-R", "pool"}, {"-r", "pool", "--throw-keyids"}} {
		r := g.Must(t, []byte(fmt.Sprintf("gpg says %d", i)), append([]string{"--trust-model", "always", "--armor", "-e"}, args...)...)
		tag, _ := hsub.Random(nil)
		postRaw(t, srv.addr, gpgArticle(tag, r.Stdout))
	}
	for i := 0; i < 20; i++ {
		sendTo(t, alice, "carol", srv.addr, fmt.Sprintf("noise %d", i))
		if i == 10 {
			sendTo(t, alice, "bob", srv.addr, "hello bob")
		}
	}

	st, err := bob.Sync(context.Background(), srv.addr, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Fetched != 23 || st.Listed != 23 {
		t.Fatalf("sync: %+v", st)
	}
	found, rs := readAll(t, bob, ReadOptions{})
	if rs.Examined != 23 || rs.HsubMatch != 1 {
		t.Fatalf("read: %+v", rs)
	}
	got := map[string]bool{}
	for _, f := range found {
		got[string(f.Plaintext)] = true
		if f.Date.IsZero() || f.Number == 0 || f.MessageID == "" {
			t.Errorf("found without number or date: %+v", f)
		}
		if string(f.Plaintext) == "hello bob" && !f.Hsub {
			t.Error("alice's message did not match the hsub secret")
		}
	}
	for _, want := range []string{"hello bob", "gpg says 0", "gpg says 1"} {
		if !got[want] {
			t.Errorf("bob did not find %q (found %v)", want, got)
		}
	}
	if len(found) != 3 {
		t.Errorf("bob found %d messages, want 3", len(found))
	}
	// Carol finds her 20 and nothing else.
	if _, err := carol.Sync(context.Background(), srv.addr, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if found, _ := readAll(t, carol, ReadOptions{}); len(found) != 20 {
		t.Fatalf("carol found %d, want 20", len(found))
	}
	// A second sync fetches nothing new.
	if st, err := bob.Sync(context.Background(), srv.addr, SyncOptions{}); err != nil || st.Fetched != 0 {
		t.Fatalf("second sync: %+v %v", st, err)
	}
}

// TestPoolToGPG: what pool posts, fetched back from the server (headers
// replaced, armor canonicalised by the gate), gpg decrypts.
func TestPoolToGPG(t *testing.T) {
	srv := startServer(t, nil)
	g := gpgtest.New(t)
	g.Must(t, nil, "--quick-gen-key", "gpg user <g@example.org>", "future-default", "default", "never")
	pub := g.Must(t, nil, "--armor", "--export", "g@example.org").Stdout
	alice := newClient(t)
	if _, err := alice.Home.ImportContact("g", bytes.NewReader(pub)); err != nil {
		t.Fatal(err)
	}
	text := "to gpg, through the pool\n"
	art, err := alice.Compose("g", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"User-Agent", "Date", "Message-ID", "X-", "Organization"} {
		if bytes.Contains(art, []byte("\r\n"+h)) {
			t.Errorf("composed article carries %s", h)
		}
	}
	if err := alice.Post(context.Background(), srv.addr, art); err != nil {
		t.Fatal(err)
	}
	cl := dialNews(t, srv.addr)
	defer cl.Close()
	grp, err := cl.Group(context.Background(), DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	_, _, body, err := cl.Body(context.Background(), strconv.FormatInt(grp.High, 10))
	if err != nil {
		t.Fatal(err)
	}
	r := g.Run(body, "--decrypt")
	if !r.OK("DECRYPTION_OKAY") || !r.OK("GOODMDC") || string(r.Stdout) != text {
		t.Fatalf("gpg: %v\n%s\n%s\nout %q", r.Err, r.Stderr, r.Status, r.Stdout)
	}
}

// countingBackend counts, per article number, how often a body is served,
// and calls hook before serving.
type countingBackend struct {
	nntp.Backend
	mu    sync.Mutex
	count map[int64]int
	hook  func(n int64)
	// numbers maps message-ids to article numbers (numberArticles).
	numbers map[string]int64
}

// numberArticles fills b.numbers from the overview of the group on addr.
func (b *countingBackend) numberArticles(t testing.TB, addr string) {
	t.Helper()
	ctx := context.Background()
	cl := dialNews(t, addr)
	defer cl.Close()
	if _, err := cl.Group(ctx, DefaultGroup); err != nil {
		t.Fatal(err)
	}
	b.numbers = map[string]int64{}
	if err := cl.Over(ctx, "1-", func(o *nntp.Overview) error {
		b.numbers[o.MessageID] = o.Number
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (b *countingBackend) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := b.Backend.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return &countingSession{Session: s, b: b}, nil
}

type countingSession struct {
	nntp.Session
	b *countingBackend
}

func (s *countingSession) Article(ctx context.Context, group string, n int64) (*nntp.Article, error) {
	s.b.mu.Lock()
	s.b.count[n]++
	hook := s.b.hook
	s.b.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return s.Session.Article(ctx, group, n)
}

// TestSyncInterruptedResumes: syncs stopped in the middle of a chunk (and
// of a pipelined window) and resumed fetch every article exactly once.
// ArticleByID counts as Article does (pipelined sync fetches by
// message-id), numbering the article as the overview does.
func (s *countingSession) ArticleByID(ctx context.Context, id string) (*nntp.Article, error) {
	a, err := s.Session.ArticleByID(ctx, id)
	if err != nil {
		return a, err
	}
	s.b.mu.Lock()
	n := s.b.numbers[id]
	s.b.count[n]++
	hook := s.b.hook
	s.b.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return a, nil
}

func TestSyncInterruptedResumes(t *testing.T) {
	for _, opt := range []SyncOptions{
		{OverChunk: 25, Window: 4, Connections: 1},
		{OverChunk: 25, Connections: 1},
		{OverChunk: 7, Window: 4, Connections: 3},
		{OverChunk: 25, LockStep: true},
	} {
		t.Run(fmt.Sprintf("window=%d/lockstep=%v/conns=%d", opt.Window, opt.LockStep, opt.Connections), func(t *testing.T) {
			testSyncInterruptedResumes(t, opt)
		})
	}
}

func testSyncInterruptedResumes(t *testing.T, opt SyncOptions) {
	srv := startServer(t, nil)
	// Enough that two interrupted syncs, each storing the chunks it had
	// started, usually leave some for the last one (with 60, under load,
	// the first stored 50 and the second finished before its stop).
	const n = 200
	_, bob := postedToBob(t, srv.addr, n)
	cb := &countingBackend{count: map[int64]int{}}
	reader := serve(t, srv.backend, func(b nntp.Backend) nntp.Backend { cb.Backend = b; return cb })
	cb.numberArticles(t, srv.addr)

	// Interrupt twice, at the 7th article each sync asks for (a pipelined
	// sync has more in flight by then, which it stores).
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		cb.mu.Lock()
		var served atomic.Int64
		cb.hook = func(int64) {
			if served.Add(1) == 7 {
				cancel()
			}
		}
		cb.mu.Unlock()
		st, err := bob.Sync(ctx, reader.addr, opt)
		cancel()
		if err == nil && !st.Stopped && st.From+st.Fetched-1 == n {
			// Everything asked for was in flight before the stop: a slow
			// machine can let a pipelined sync get that far ahead.
			t.Logf("sync from %d finished before it was stopped", st.From)
			continue
		}
		if !errors.Is(err, context.Canceled) || !st.Stopped {
			t.Fatalf("interrupted sync: %+v, %v", st, err)
		}
		t.Logf("interrupted sync from %d stored %d articles", st.From, st.Fetched)
	}
	cb.mu.Lock()
	cb.hook = nil
	cb.mu.Unlock()
	st, err := bob.Sync(context.Background(), reader.addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stopped {
		t.Fatal("last sync stopped")
	}
	for i := int64(1); i <= n; i++ {
		if cb.count[i] != 1 {
			t.Errorf("article %d fetched %d times", i, cb.count[i])
		}
	}
	found, _ := readAll(t, bob, ReadOptions{})
	if len(found) != n {
		t.Fatalf("found %d of %d after resumed syncs", len(found), n)
	}
	seen := map[string]bool{}
	for _, f := range found {
		seen[string(f.Plaintext)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}
}

func TestSyncOnlyMatches(t *testing.T) {
	srv := startServer(t, nil)
	alice, bob, pub := aliceAndBob(t)
	alice.Home.ImportContact("bob-tagged", bytes.NewReader(pub))
	alice.Home.SetHsub("bob-tagged", []byte("tag secret"))
	bob.Home.SetHsub("alice", []byte("tag secret"))
	sendTo(t, alice, "bob", srv.addr, "untagged")
	sendTo(t, alice, "bob-tagged", srv.addr, "tagged")
	sendTo(t, alice, "bob", srv.addr, "untagged again")
	st, err := bob.Sync(context.Background(), srv.addr, SyncOptions{OnlyMatches: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Listed != 3 || st.Fetched != 1 {
		t.Fatalf("only-matches sync: %+v", st)
	}
	found, _ := readAll(t, bob, ReadOptions{})
	if len(found) != 1 || string(found[0].Plaintext) != "tagged" || !found[0].Hsub {
		t.Fatalf("found %v", found)
	}
	if !strings.Contains(OnlyMatchesWarning, "which messages are yours") {
		t.Fatal("the warning does not say what it reveals")
	}
}

// TestHsubVectors: the published hsub vectors select articles in Read.
func TestHsubVectors(t *testing.T) {
	c := newClient(t)
	c.Home.Keygen(home.KeyOptions{})
	c.Home.SetHsub("nym", []byte("91c5dc4d604c9dee4a4074bbaef4f0fe94d92f406da5aee04d414400dd6d9f42"))
	c.Home.SetHsub("foo", []byte("foo"))
	recs := []struct {
		subject string
		match   bool
	}{
		{"0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4", true},
		{"00010203040506071387619220b9139b0e25aa0f3b4ec234", true},
		{"00010203040506071387619220b9139b0e25aa0f3b4ec235", false},
		{"0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b", false}, // 47 digits
	}
	var rs []sprec
	for i, r := range recs {
		rs = append(rs, sprec{n: int64(i + 1), subject: r.subject})
	}
	fillSpool(t, c, "v", toRecords(rs))
	_, st := readAll(t, c, ReadOptions{})
	if st.HsubMatch != 2 {
		t.Fatalf("%d hsub matches, want 2", st.HsubMatch)
	}
}

func TestServerDownOrOdd(t *testing.T) {
	c := newClient(t)
	// Down: a port nobody listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err := c.Sync(context.Background(), addr, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "down or unreachable") {
		t.Fatalf("down server: %v", err)
	}
	// Odd: something that is not a news server.
	odd := nntptest.Serve(t, func(conn net.Conn) {
		conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	_, err = c.Sync(context.Background(), odd, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "answered oddly") {
		t.Fatalf("odd server: %v", err)
	}
	t.Logf("odd server: %v", err)
	// A server that accepts and hangs up.
	hangUp := nntptest.Serve(t, func(net.Conn) {})
	_, err = c.Sync(context.Background(), hangUp, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "closed the connection") {
		t.Fatalf("hang-up server: %v", err)
	}
	// A server that accepts and never answers.
	silent := nntptest.Serve(t, func(conn net.Conn) { io.Copy(io.Discard, conn) })
	_, err = c.Sync(context.Background(), silent, SyncOptions{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer in time") {
		t.Fatalf("silent server: %v", err)
	}
	// A news server without the group.
	srv := startServerGroups(t)
	_, err = c.Sync(context.Background(), srv, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "411") {
		t.Fatalf("server without the group: %v", err)
	}
	t.Logf("no group: %v", err)
}

func startServerGroups(t *testing.T) string {
	return serve(t, injecttest.Backend(t, inject.Config{Groups: []string{"alt.test"}}), nil).addr
}

// TestV6Keys: a v6 (Ed25519 + X25519) key made with --v6 receives through
// the server; the message passes the gate.
func TestV6Keys(t *testing.T) {
	srv := startServer(t, nil)
	alice, dave := newClient(t), newClient(t)
	k, err := dave.Home.Keygen(home.KeyOptions{V6: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := home.ArmoredPublic(k)
	if _, err := alice.Home.ImportContact("dave", bytes.NewReader(pub)); err != nil {
		t.Fatal(err)
	}
	sendTo(t, alice, "dave", srv.addr, "to a v6 key")
	if _, err := dave.Sync(context.Background(), srv.addr, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	found, _ := readAll(t, dave, ReadOptions{})
	if len(found) != 1 || string(found[0].Plaintext) != "to a v6 key" {
		t.Fatalf("found %v", found)
	}
}

// TestSyncRenumberedServer: a server whose group ends below what the store
// already holds is refused with a clear error, and nothing is stored.
func TestSyncRenumberedServer(t *testing.T) {
	srv := startServer(t, nil)
	alice, bob, _ := aliceAndBob(t)
	sendTo(t, alice, "bob", srv.addr, "one")
	// The store says we already had up to article 500 from this address.
	fillSpool(t, bob, srv.addr, []spool.Record{{Kind: spool.KindRaw, Number: 500, Body: []byte("x")}})
	_, err := bob.Sync(context.Background(), srv.addr, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "renumbered") {
		t.Fatalf("renumbered server: %v", err)
	}
}
