package outfeed_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/nntp"
	_ "github.com/lib/pq"

	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

const (
	ourName  = "us.example.test"
	peerName = "peer.example.test"
)

// fixture is our store with queued articles, and a peer server (our own
// nntp.Server and transit.Receiver on a second store).
type fixture struct {
	t        *testing.T
	ours     store.Store
	theirs   store.Store
	peer     *tt.Server
	peerAddr string
	raws     map[string][]byte
}

func newFixture(t *testing.T, open func(testing.TB) store.Store) *fixture {
	f := &fixture{t: t, ours: open(t), theirs: open(t), raws: map[string][]byte{}}
	f.startPeer()
	return f
}

func (f *fixture) startPeer() {
	f.peer = tt.StartServer(f.t, f.theirs, transit.Config{PathName: peerName}, f.peerAddr)
	f.peerAddr = f.peer.Addr
}

// queue stores n articles on our side, queued for the peer named "p".
func (f *fixture) queue(prefix string, n int) {
	ctx := context.Background()
	bodies := tt.Bodies(f.t)
	var batch []*store.NewArticle
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<%s.%d@origin.example>", prefix, i)
		raw := tt.Article(id, "origin.example!not-for-mail", time.Now(), bodies[i%len(bodies)])
		f.raws[id] = raw
		batch = append(batch, tt.NewArticle(f.t, raw, "p"))
		if len(batch) == 100 || i == n-1 {
			if _, err := f.ours.Insert(ctx, batch, nil); err != nil {
				f.t.Fatal(err)
			}
			batch = nil
		}
	}
}

func (f *fixture) manager(streaming bool, conns int) *outfeed.Manager {
	pf, err := peers.Parse(strings.NewReader(fmt.Sprintf(`
peer p {
    send-to: %s
    path: %s
    streaming: %v
    connections: %d
}`, f.peerAddr, peerName, map[bool]string{true: "yes", false: "no"}[streaming], conns)))
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := outfeed.New(outfeed.Config{
		Store: f.ours, Peers: pf.Peers, PathName: ourName, Logger: tt.Quiet(),
		PollInterval: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Timeout: 5 * time.Second, DialTimeout: time.Second,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// run starts m and returns a function that stops it and waits.
func run(m *outfeed.Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// waitAll waits until the peer holds every queued article and the
// managers have had every article acknowledged (acks counts those of
// earlier runs).
func (f *fixture) waitAll(timeout time.Duration, acks int64, ms ...*outfeed.Manager) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g, err := f.theirs.Group(context.Background(), tt.Group)
		n := acks
		for _, m := range ms {
			s := m.Stats("p")
			n += s.Sent + s.Refused
		}
		if err == nil && g.Count >= int64(len(f.raws)) && n >= int64(len(f.raws)) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("peer has %d of %d articles after %s (err %v)", g.Count, len(f.raws), timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify checks that the peer holds each article exactly once, byte for
// byte but for our name prepended to Path, and that our queue is empty.
func (f *fixture) verify() {
	f.t.Helper()
	ctx := context.Background()
	g, err := f.theirs.Group(ctx, tt.Group)
	if err != nil {
		f.t.Fatal(err)
	}
	if g.Count != int64(len(f.raws)) || g.High != int64(len(f.raws)) {
		f.t.Errorf("peer group %+v, want %d articles numbered 1..%d", g, len(f.raws), len(f.raws))
	}
	for id, raw := range f.raws {
		a, err := f.theirs.ArticleByID(ctx, id)
		if err != nil {
			f.t.Fatalf("%s: %v", id, err)
		}
		want := bytes.Replace(raw, []byte("Path: origin.example!"), []byte("Path: "+ourName+"!origin.example!"), 1)
		if got := tt.Joined(a); !bytes.Equal(got, want) {
			f.t.Fatalf("%s arrived as\n%q\nwant\n%q", id, got, want)
		}
		// Our stored copy is untouched.
		o, err := f.ours.ArticleByID(ctx, id)
		if err != nil || !bytes.Equal(tt.Joined(o), raw) {
			f.t.Fatalf("%s: our copy changed (%v)", id, err)
		}
	}
	if q, err := f.ours.ClaimQueue(ctx, "p", 10, time.Millisecond); err != nil || len(q) != 0 {
		f.t.Errorf("queue still holds %d articles (%v)", len(q), err)
	}
}

func forEachStore(t *testing.T, fn func(t *testing.T, open func(testing.TB) store.Store)) {
	for _, s := range []struct {
		name string
		open func(testing.TB) store.Store
	}{{"sqlite", tt.OpenSQLite}, {"postgres", tt.OpenPostgres}} {
		t.Run(s.name, func(t *testing.T) { fn(t, s.open) })
	}
}

func TestFeed(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		for _, mode := range []struct {
			name      string
			streaming bool
			conns     int
		}{{"streaming", true, 2}, {"ihave", false, 1}} {
			t.Run(mode.name, func(t *testing.T) {
				f := newFixture(t, open)
				f.queue("feed", 300)
				m := f.manager(mode.streaming, mode.conns)
				stop := run(m)
				f.waitAll(30*time.Second, 0, m)
				stop()
				f.verify()
				s := m.Stats("p")
				if s.Sent != 300 || s.Offered != 300 || s.Refused != 0 || s.Streaming != mode.streaming {
					t.Errorf("stats %+v", s)
				}
				if rs := f.peer.Receiver.Stats(); rs.Stored != 300 || rs.Duplicates != 0 {
					t.Errorf("peer receiver %+v: something was sent twice", rs)
				}
				// More articles later: the wake-up brings them at once.
				stop = run(m)
				f.queue("later", 50)
				f.waitAll(10*time.Second, 0, m)
				stop()
				f.verify()
			})
		}
	})
}

func TestPeerDiesMidStream(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		f := newFixture(t, open)
		const n = 500
		f.queue("dies", n)
		m := f.manager(true, 2)
		stop := run(m)
		defer stop()
		// Let part of the queue through, then kill the peer.
		for {
			g, _ := f.theirs.Group(context.Background(), tt.Group)
			if g.Count > 100 {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		first := f.peer.Receiver
		f.peer.Stop()
		got, _ := f.theirs.Group(context.Background(), tt.Group)
		if got.Count >= n {
			t.Fatalf("the peer died too late (%d articles)", got.Count)
		}
		time.Sleep(300 * time.Millisecond) // the senders fail and back off
		f.startPeer()
		f.waitAll(30*time.Second, 0, m)
		stop()
		f.verify()
		a, b := first.Stats(), f.peer.Receiver.Stats()
		t.Logf("peer down after %d articles; receipts: %+v then %+v; sender %+v", got.Count, a, b, m.Stats("p"))
		// Sent again only what was not acknowledged: at most one window
		// per connection, and the peer recognised them.
		if resent := a.Duplicates + b.Duplicates; resent > 2*outfeed.DefaultWindow {
			t.Errorf("%d articles offered again after acknowledgement", resent)
		}
	})
}

func TestRestartWithFullQueue(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		f := newFixture(t, open)
		f.queue("restart", 600)
		// A first run stopped part way (a restart of nntpd).
		m := f.manager(true, 1)
		stop := run(m)
		for m.Stats("p").Sent < 100 {
			time.Sleep(2 * time.Millisecond)
		}
		stop()
		first := m.Stats("p")
		// A crash: articles claimed by a sender that never answers for
		// them come back when the lease runs out.
		ctx := context.Background()
		leased, err := f.ours.ClaimQueue(ctx, "p", 40, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		m2 := f.manager(true, 2)
		stop = run(m2)
		f.waitAll(30*time.Second, 0, m, m2)
		stop()
		f.verify()
		t.Logf("first run %+v, crash held %d, second run %+v", first, len(leased), m2.Stats("p"))
		if rs := f.peer.Receiver.Stats(); rs.Duplicates != 0 || rs.Stored != 600 {
			t.Errorf("peer receiver %+v: duplicates or losses", rs)
		}
	})
}

// TestPeerDatabaseConnectionsKilled feeds a peer whose PostgreSQL
// connections are killed again and again mid-feed (as in a database
// restart): the peer answers try-later, we retry, and in the end every
// article is there once.
func TestPeerDatabaseConnectionsKilled(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	f := &fixture{t: t, ours: tt.OpenSQLite(t), theirs: tt.OpenPostgresDSN(t, dsn), raws: map[string][]byte{}}
	f.startPeer()
	const n = 400
	f.queue("killed", n)
	m := f.manager(true, 2)
	stop := run(m)
	defer stop()
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	killed, rounds := 0, 0
	for ; rounds < 6; rounds++ {
		g, _ := f.theirs.Group(context.Background(), tt.Group)
		if g.Count >= n {
			break
		}
		var k int
		if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&k); err != nil {
			t.Fatal(err)
		}
		killed += k
		time.Sleep(400 * time.Millisecond)
	}
	f.waitAll(60*time.Second, 0, m)
	stop()
	f.verify()
	t.Logf("killed %d connections in %d rounds; sender %+v; peer %+v", killed, rounds, m.Stats("p"), f.peer.Receiver.Stats())
	if killed == 0 {
		t.Error("no connection was killed")
	}
}

// TestFeedWithAuth feeds a real nntpd backend that recognises us only by
// our AUTHINFO account (accept-user), as a peer configured with user and
// password must.
func TestFeedWithAuth(t *testing.T) {
	ctx := context.Background()
	theirs := tt.OpenSQLite(t)
	pf, err := peers.Parse(strings.NewReader("peer us {\n accept-user: feeder\n path: " + ourName + "\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := transit.New(transit.Config{Store: theirs, PathName: peerName, Peers: pf, Logger: tt.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	accts, err := inject.ParseAccounts(strings.NewReader("feeder:" + inject.HashArgon2id("s3cret", []byte("0123456789abcdef"), 8*1024, 1, 1) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	be, err := inject.New(ctx, theirs, inject.Config{Name: peerName, Groups: []string{tt.Group}, Peers: pf, Transit: rcv, Accounts: accts, Logger: tt.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// AuthFailureDelay: the wrong password is answered at once, not after the growing delay.
	srv := &nntp.Server{Backend: be, Name: peerName, AllowInsecureAuth: true, AuthFailureDelay: time.Millisecond, Logger: tt.Quiet()}
	go srv.Serve(l)
	defer srv.Close()

	f := &fixture{t: t, ours: tt.OpenSQLite(t), theirs: theirs, raws: map[string][]byte{}}
	f.queue("auth", 100)
	for _, pass := range []string{"wrong", "s3cret"} {
		ps, err := peers.Parse(strings.NewReader(fmt.Sprintf("peer p {\n send-to: %s\n path: %s\n user: feeder\n password: %s\n}\n", l.Addr(), peerName, pass)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := outfeed.New(outfeed.Config{Store: f.ours, Peers: ps.Peers, PathName: ourName, Logger: tt.Quiet(),
			PollInterval: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(m)
		if pass == "wrong" {
			// Wait for the refusal rather than a fixed time: argon2 under
			// the race detector on a loaded machine can take longer.
			for deadline := time.Now().Add(30 * time.Second); m.Stats("p").Failures == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			if s := m.Stats("p"); s.Connects != 0 || s.Failures == 0 || s.Sent != 0 {
				t.Errorf("with a wrong password: %+v", s)
			}
			continue
		}
		f.waitAll(30*time.Second, 0, m)
		stop()
		f.verify()
		if s := m.Stats("p"); !s.Streaming || s.Sent != 100 {
			t.Errorf("stats %+v", s)
		}
	}
}

// TestTwoFrontEnds runs the senders of two front-ends on one PostgreSQL
// database: each queued article is sent once (the claims skip each other's
// rows), none is left behind.
func TestTwoFrontEnds(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a := tt.OpenPostgresDSN(t, dsn)
	b := tt.OpenPostgresDSN(t, dsn)
	f := &fixture{t: t, ours: a, theirs: tt.OpenSQLite(t), raws: map[string][]byte{}}
	f.startPeer()
	f.queue("two", 500)
	m1 := f.manager(true, 2)
	f.ours = b
	m2 := f.manager(true, 2)
	f.ours = a
	stop1, stop2 := run(m1), run(m2)
	f.waitAll(60*time.Second, 0, m1, m2)
	stop1()
	stop2()
	f.verify()
	s1, s2 := m1.Stats("p"), m2.Stats("p")
	t.Logf("front-end 1 %+v, front-end 2 %+v", s1, s2)
	if s1.Sent+s2.Sent != 500 || s1.Refused+s2.Refused != 0 || s1.Offered+s2.Offered != 500 {
		t.Errorf("sent %d+%d, refused %d+%d: want 500 sent once", s1.Sent, s2.Sent, s1.Refused, s2.Refused)
	}
	if s1.Sent == 0 || s2.Sent == 0 {
		t.Errorf("one front-end sent nothing (%d, %d)", s1.Sent, s2.Sent)
	}
	if rs := f.peer.Receiver.Stats(); rs.Stored != 500 || rs.Duplicates != 0 {
		t.Errorf("peer %+v", rs)
	}
}
