package outfeed_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

// answers records what the peer answered our feed: how often each code
// was given, each answer written as the IHAVE code its error maps to (235
// and 335 success, 435 have it, 436 try later, 437 refused; streaming
// gives 238/239, 438/439, 431/400 and 439 for the same), how often each
// article was transferred and stored, and the answers given while the
// database was down.
type answers struct {
	mu       sync.Mutex
	outage   bool
	codes    map[int]int      // every answer
	down     map[int]int      // answers given during the outage
	stored   map[string]int   // Receive answered success
	received map[string]int   // Receive called (a transfer)
	other    map[string]error // any error not mapping to 435/436/437
}

func newAnswers() *answers {
	return &answers{codes: map[int]int{}, down: map[int]int{}, stored: map[string]int{},
		received: map[string]int{}, other: map[string]error{}}
}

func (a *answers) note(id string, receive bool, err error) {
	code := 335
	if receive {
		code = 235
	}
	if err != nil {
		code = nntp.ResponseFor(err, nntp.CmdIHave).Code
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.codes[code]++
	if a.outage {
		a.down[code]++
	}
	if receive {
		a.received[id]++
		if err == nil {
			a.stored[id]++
		}
	}
	if code != 235 && code != 335 && code != 435 && code != 436 && code != 437 {
		a.other[id] = err
	}
}

func (a *answers) setOutage(v bool) {
	a.mu.Lock()
	a.outage = v
	a.mu.Unlock()
}

func (a *answers) storedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.stored)
}

// recordingBackend is the peer's backend: sessions feed a Receiver and
// record its answers.
type recordingBackend struct {
	st  store.Store
	r   *transit.Receiver
	rec *answers
}

func (b *recordingBackend) NewSession(context.Context, nntp.ConnInfo) (nntp.Session, error) {
	return &recordingSession{Reader: b.st, b: b}, nil
}

type recordingSession struct {
	nntp.Reader
	b *recordingBackend
}

func (s *recordingSession) Permissions() nntp.Permissions { return nntp.Permissions{Feed: true} }
func (s *recordingSession) Close() error                  { return nil }
func (s *recordingSession) Wanted(ctx context.Context, id string) error {
	err := s.b.r.Wanted(ctx, id)
	s.b.rec.note(id, false, err)
	return err
}
func (s *recordingSession) Receive(ctx context.Context, id string, article []byte) error {
	err := s.b.r.Receive(ctx, id, article)
	s.b.rec.note(id, true, err)
	return err
}

// startRecordingPeer serves the peer's store st over NNTP on 127.0.0.1
// and returns its address, its Receiver and the record of its answers.
func startRecordingPeer(t *testing.T, st store.Store) (string, *transit.Receiver, *answers) {
	r, err := transit.New(transit.Config{Store: st, PathName: peerName, Logger: tt.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := newAnswers()
	srv := &nntp.Server{Backend: &recordingBackend{st: st, r: r, rec: rec}, Name: peerName, Logger: tt.Quiet()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); r.Close() })
	return l.Addr().String(), r, rec
}

// restartManager is fixture.manager with a short lease: acknowledgements
// lost while our own database is down come back after it, not after the
// default two minutes.
func (f *fixture) restartManager(streaming bool, conns int, lease time.Duration) *outfeed.Manager {
	pf, err := peers.Parse(strings.NewReader(fmt.Sprintf(
		"peer p {\n send-to: %s\n path: %s\n streaming: %v\n connections: %d\n}\n",
		f.peerAddr, peerName, map[bool]string{true: "yes", false: "no"}[streaming], conns)))
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := outfeed.New(outfeed.Config{
		Store: f.ours, Peers: pf.Peers, PathName: ourName, Logger: tt.Quiet(), Lease: lease,
		PollInterval: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Timeout: 5 * time.Second, DialTimeout: time.Second,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// newDatabase creates a database on the private server srv and returns
// its DSN (dropped with the server's directory at the end).
func newDatabase(t *testing.T, srv *pgtest.Server) string {
	db, err := sql.Open("postgres", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "r_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	dsn, err := pgtest.WithDatabase(srv.URL, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// restartMidFeed waits until the peer has stored from articles, stops
// srv's PostgreSQL, keeps it down for outage while the feed goes on, and
// starts it again. It returns how many articles the peer had stored when
// the database was down, and when it came back.
func restartMidFeed(t *testing.T, srv *pgtest.Server, rec *answers, from int, outage time.Duration) (atStop, atStart int) {
	deadline := time.Now().Add(30 * time.Second)
	for rec.storedCount() < from {
		if time.Now().After(deadline) {
			t.Fatalf("the peer stored only %d articles in 30s", rec.storedCount())
		}
		time.Sleep(2 * time.Millisecond)
	}
	rec.setOutage(true)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	atStop = rec.storedCount()
	time.Sleep(outage)
	atStart = rec.storedCount()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rec.setOutage(false)
	return atStop, atStart
}

// checkAnswers fails t unless every answer was a success, "have it" or
// "try later" (a database outage must never make the peer refuse an
// article as bad, 437 or 439 with a reason, nor fail with 403), every
// article was transferred, none was stored twice, and at most maxResent
// transfers were of articles the peer already held.
func checkAnswers(t *testing.T, f *fixture, rec *answers, maxResent int) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.codes[437] != 0 {
		t.Errorf("%d articles refused (437/439 for a reason): %v", rec.codes[437], rec.codes)
	}
	for id, err := range rec.other {
		t.Errorf("%s: answered %v (neither success, have-it nor try-later)", id, err)
	}
	resent := 0
	for id := range f.raws {
		if rec.stored[id] > 1 {
			t.Errorf("%s stored %d times", id, rec.stored[id])
		}
		if rec.received[id] == 0 {
			t.Errorf("%s never transferred", id)
		}
		resent += rec.received[id] - 1
	}
	if resent > maxResent {
		t.Errorf("%d articles transferred again (at most %d were unacknowledged)", resent, maxResent)
	}
	if len(rec.received) != len(f.raws) {
		t.Errorf("the peer received %d distinct message-ids, want %d", len(rec.received), len(f.raws))
	}
}

// TestDatabaseRestartMidFeed restarts PostgreSQL mid-feed (a fast
// shutdown, about a second down, a start on the same data directory and
// port), once under the peer's store and once under ours. Nothing is lost,
// each article arrives once, and our queue drains. The cases share one
// private server (initdb is the slow part).
func TestDatabaseRestartMidFeed(t *testing.T) {
	srv := pgtest.NewServer(t)
	for _, mode := range []struct {
		name      string
		streaming bool
		conns     int
	}{{"streaming", true, 2}, {"ihave", false, 1}} {
		t.Run("peer-"+mode.name, func(t *testing.T) { peerDatabaseRestart(t, srv, mode.streaming, mode.conns) })
	}
	t.Run("ours", func(t *testing.T) { ourDatabaseRestart(t, srv) })
}

// peerDatabaseRestart restarts the peer's PostgreSQL mid-feed: while it
// is down the peer answers try-later (436, 431, 400; never 437/439) and we
// retry; then every article arrives exactly once, byte for byte, and our
// queue drains.
func peerDatabaseRestart(t *testing.T, srv *pgtest.Server, streaming bool, conns int) {
	f := &fixture{t: t, ours: tt.OpenSQLite(t), theirs: tt.OpenPostgresDSN(t, newDatabase(t, srv)), raws: map[string][]byte{}}
	addr, r, rec := startRecordingPeer(t, f.theirs)
	f.peerAddr = addr
	const n = 300
	f.queue(fmt.Sprintf("pgrestart-%v", streaming), n)
	m := f.restartManager(streaming, conns, outfeed.DefaultLease)
	stop := run(m)
	defer stop()
	atStop, atStart := restartMidFeed(t, srv, rec, 30, time.Second)
	if atStop >= n {
		t.Fatalf("the database stopped too late (%d articles stored)", atStop)
	}
	during := m.Stats("p")
	f.waitAll(30*time.Second, 0, m)
	stop()
	f.verify()
	rec.mu.Lock()
	t.Logf("database down after %d articles (%d when back); answers %v, while down %v; sender at restart %+v, at the end %+v; receiver %+v",
		atStop, atStart, rec.codes, rec.down, during, m.Stats("p"), r.Stats())
	tempDown := rec.down[436]
	rec.mu.Unlock()
	if tempDown == 0 {
		t.Error("no try-later answer while the database was down: the outage was not seen")
	}
	checkAnswers(t, f, rec, conns*outfeed.DefaultWindow)
}

// ourDatabaseRestart restarts our own PostgreSQL (the sender's store,
// queue included) mid-feed: the batches in flight finish, the sender
// waits, and when the database is back the feed goes on. The peer holds
// every article once; what is offered again is only what we could not
// record as acknowledged (at most a window per connection), and the queue
// drains.
func ourDatabaseRestart(t *testing.T, srv *pgtest.Server) {
	dsn := newDatabase(t, srv)
	f := &fixture{t: t, ours: tt.OpenPostgresDSN(t, dsn), theirs: tt.OpenSQLite(t), raws: map[string][]byte{}}
	addr, r, rec := startRecordingPeer(t, f.theirs)
	f.peerAddr = addr
	const n, conns = 300, 2
	f.queue("ourrestart", n)
	const lease = 2 * time.Second
	m := f.restartManager(true, conns, lease)
	stop := run(m)
	defer stop()
	atStop, atStart := restartMidFeed(t, srv, rec, 10, time.Second)
	if atStop >= n {
		t.Fatalf("the database stopped too late (%d articles at the peer)", atStop)
	}
	// While our database is down, only the batches already claimed can
	// reach the peer.
	if atStart-atStop > conns*outfeed.DefaultWindow {
		t.Errorf("%d articles sent while our queue was unreadable", atStart-atStop)
	}
	// Wait until the queue is empty, leased rows included (a lost
	// acknowledgement comes back when its lease passes).
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left int
		err := db.QueryRow(`SELECT count(*) FROM feed_queue WHERE peer = 'p'`).Scan(&left)
		if err == nil && left == 0 && rec.storedCount() >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d queued (err %v), %d at the peer", left, err, rec.storedCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	f.verify()
	rec.mu.Lock()
	t.Logf("database down after %d articles (%d when back); answers %v, while down %v; sender %+v; receiver %+v",
		atStop, atStart, rec.codes, rec.down, m.Stats("p"), r.Stats())
	rec.mu.Unlock()
	checkAnswers(t, f, rec, conns*outfeed.DefaultWindow)
}
