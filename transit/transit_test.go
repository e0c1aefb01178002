package transit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

const ourName = "us.example.test"

// stores lists the store implementations every test runs on.
var stores = []struct {
	name string
	open func(testing.TB) store.Store
}{
	{"sqlite", tt.OpenSQLite},
	{"postgres", tt.OpenPostgres},
}

func forEachStore(t *testing.T, fn func(t *testing.T, open func(testing.TB) store.Store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { fn(t, s.open) })
	}
}

// countingStore counts Insert transactions and can be made to fail like a
// database that is down.
type countingStore struct {
	store.Store
	inserts atomic.Int64
	down    atomic.Bool
}

func (s *countingStore) fail() error {
	if s.down.Load() {
		return fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	return nil
}

func (s *countingStore) Insert(ctx context.Context, arts []*store.NewArticle, release []int64) ([]store.InsertResult, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	s.inserts.Add(1)
	return s.Store.Insert(ctx, arts, release)
}

func (s *countingStore) Seen(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Seen(ctx, ids)
}

func (s *countingStore) Remember(ctx context.Context, ids []string, at time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Remember(ctx, ids, at)
}

func (s *countingStore) Groups(ctx context.Context) ([]nntp.Group, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Groups(ctx)
}

func id(prefix string, i int) string { return fmt.Sprintf("<%s.%d@peer.example>", prefix, i) }

func art(t testing.TB, msgID string) []byte {
	b := tt.Bodies(t)
	return tt.Article(msgID, "peer.example!not-for-mail", time.Now(), b[len(msgID)%len(b)])
}

// checkStored verifies that the store holds raw byte for byte under id.
func checkStored(t testing.TB, st store.Store, msgID string, raw []byte) {
	t.Helper()
	a, err := st.ArticleByID(context.Background(), msgID)
	if err != nil {
		t.Fatalf("%s: %v", msgID, err)
	}
	got := append(append(append([]byte{}, a.Header...), "\r\n"...), a.Body...)
	if !bytes.Equal(got, raw) {
		t.Fatalf("%s stored differently:\n%q\nwant\n%q", msgID, got, raw)
	}
}

func TestIHave(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		c := tt.Dial(t, srv.Addr)
		raw := art(t, id("ihave", 1))
		if code, line := c.IHave(id("ihave", 1), raw); code != 235 {
			t.Fatalf("IHAVE: %s", line)
		}
		checkStored(t, st, id("ihave", 1), raw)
		if code, line := c.Cmd("IHAVE %s", id("ihave", 1)); code != 435 {
			t.Fatalf("second IHAVE: %s", line)
		}
		g, err := st.Group(context.Background(), tt.Group)
		if err != nil || g.Count != 1 {
			t.Fatalf("group %+v %v", g, err)
		}
	})
}

func TestStreaming(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		c := tt.Dial(t, srv.Addr)
		if code, line := c.Cmd("MODE STREAM"); code != 203 {
			t.Fatalf("MODE STREAM: %s", line)
		}
		a, b := id("s", 1), id("s", 2)
		// Built once each: art stamps the current time into Date.
		rawA, rawB := art(t, a), art(t, b)
		if code, line := c.Cmd("CHECK %s", a); code != 238 {
			t.Fatalf("CHECK: %s", line)
		}
		if code, line := c.TakeThis(a, rawA); code != 239 {
			t.Fatalf("TAKETHIS: %s", line)
		}
		if code, line := c.Cmd("CHECK %s", a); code != 438 {
			t.Fatalf("CHECK known: %s", line)
		}
		if code, line := c.TakeThis(a, rawA); code != 439 {
			t.Fatalf("TAKETHIS known: %s", line)
		}
		// TAKETHIS without CHECK (innfeed's no-check mode).
		if code, line := c.TakeThis(b, rawB); code != 239 {
			t.Fatalf("TAKETHIS b: %s", line)
		}
		checkStored(t, st, a, rawA)
		checkStored(t, st, b, rawB)
	})
}

func TestRejects(t *testing.T) {
	body := tt.Bodies(t)[0]
	now := time.Now()
	plain := tt.CRLF([]byte("Hello, this is plain text.\nNot ciphertext at all.\n"))
	cases := []struct {
		name   string
		build  func(id string) []byte
		offer  string // message-id in the command when not id
		reason string
	}{
		{"plaintext", func(id string) []byte { return tt.Article(id, "peer!x", now, plain) }, "", ""},
		{"no-carried-group", func(id string) []byte { return tt.Article(id, "peer!x", now, body, "misc.test") }, "", "no-carried-group"},
		{"path-loop", func(id string) []byte { return tt.Article(id, "peer!"+ourName+"!x", now, body) }, "", "path-loop"},
		{"too-old", func(id string) []byte {
			return tt.Article(id, "peer!x", now.Add(-news.DefaultHistoryRetention-24*time.Hour), body)
		}, "", "too-old"},
		{"too-new", func(id string) []byte { return tt.Article(id, "peer!x", now.Add(48*time.Hour), body) }, "", "too-new"},
		{"missing-subject", func(id string) []byte {
			return bytes.Replace(tt.Article(id, "peer!x", now, body), []byte("Subject: "), []byte("X-Subject: "), 1)
		}, "", "missing-header"},
		{"two-dates", func(id string) []byte {
			return bytes.Replace(tt.Article(id, "peer!x", now, body), []byte("Date: "), []byte("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nDate: "), 1)
		}, "", "duplicate-header"},
		{"bad-date", func(id string) []byte {
			a := tt.Article(id, "peer!x", now, body)
			i := bytes.Index(a, []byte("Date: "))
			j := bytes.Index(a[i:], []byte("\r\n"))
			return append(append(append([]byte{}, a[:i]...), "Date: yesterday"...), a[i+j:]...)
		}, "", "bad-date"},
		{"no-body-separator", func(id string) []byte { return []byte("Path: x\r\nMessage-ID: " + id + "\r\n") }, "", ""},
		{"id-mismatch", func(id string) []byte { return tt.Article("<other@peer.example>", "peer!x", now, body) }, "", "message-id-mismatch"},
		// The gate's one Control/Supersedes rule, as for POST and mail.
		{"control", func(id string) []byte {
			return append([]byte("Control: cancel <a@b>\r\n"), tt.Article(id, "peer!x", now, body)...)
		}, "", "control"},
		{"also-control", func(id string) []byte {
			return append([]byte("Also-Control: cancel <a@b>\r\n"), tt.Article(id, "peer!x", now, body)...)
		}, "", "control"},
		{"supersedes", func(id string) []byte {
			return append([]byte("Supersedes: <a@b>\r\n"), tt.Article(id, "peer!x", now, body)...)
		}, "", "control"},
	}
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		c := tt.Dial(t, srv.Addr)
		for i, tc := range cases {
			// Once by IHAVE (437), once by TAKETHIS (439).
			ih, tk := id("rej-ihave-"+tc.name, i), id("rej-tk-"+tc.name, i)
			if code, line := c.IHave(ih, tc.build(ih)); code != 437 {
				t.Errorf("%s: IHAVE answered %q, want 437", tc.name, line)
			}
			if code, line := c.Cmd("MODE STREAM"); code != 203 {
				t.Fatal(line)
			}
			if code, line := c.TakeThis(tk, tc.build(tk)); code != 439 {
				t.Errorf("%s: TAKETHIS answered %q, want 439", tc.name, line)
			}
			// Refused ids are remembered: not offered again.
			if code, line := c.Cmd("CHECK %s", ih); code != 438 {
				t.Errorf("%s: CHECK after refusal answered %q, want 438", tc.name, line)
			}
			if code, line := c.Cmd("IHAVE %s", tk); code != 435 {
				t.Errorf("%s: IHAVE after refusal answered %q, want 435", tc.name, line)
			}
			// The reason, as the Receiver gives it.
			direct := id("rej-direct-"+tc.name, i)
			err := srv.Receiver.Receive(context.Background(), direct, tc.build(direct))
			if !errors.Is(err, nntp.ErrRejected) {
				t.Errorf("%s: Receive = %v, want a rejection", tc.name, err)
			} else if tc.reason != "" && transit.Reason(err) != tc.reason {
				t.Errorf("%s: reason %q (%v), want %q", tc.name, transit.Reason(err), err, tc.reason)
			}
		}
		g, _ := st.Group(context.Background(), tt.Group)
		if g.Count != 0 {
			t.Errorf("%d refused articles stored", g.Count)
		}
	})
}

func TestCrosspostAndQueue(t *testing.T) {
	pf, err := peers.Parse(strings.NewReader(`
peer a {
    send-to: 127.0.0.1:1
    path: a.example
    groups: alt.crypt.*
}
peer b {
    send-to: 127.0.0.1:2
    path: b.example
}
peer c {
    send-to: 127.0.0.1:3
    groups: comp.*
}
peer d {
    accept-from: 127.0.0.1
}
`))
	if err != nil {
		t.Fatal(err)
	}
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		ctx := context.Background()
		if err := st.EnsureGroup(ctx, "alt.crypt.test", ""); err != nil {
			t.Fatal(err)
		}
		r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName, Peers: pf})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		x := "<cross@peer.example>"
		raw := tt.Article(x, "b.example!not-for-mail", time.Now(), tt.Bodies(t)[1], "alt.crypt.messages", "misc.unknown", "alt.crypt.test")
		if err := r.Receive(ctx, x, raw); err != nil {
			t.Fatal(err)
		}
		checkStored(t, st, x, raw)
		for _, g := range []string{"alt.crypt.messages", "alt.crypt.test"} {
			nums, err := st.Numbers(ctx, g, nntp.Range{Low: 1, High: -1})
			if err != nil || len(nums) != 1 {
				t.Errorf("%s numbers %v %v", g, nums, err)
			}
		}
		want := map[string]int{"a": 1, "b": 0, "c": 0, "d": 0}
		for p, n := range want {
			q, err := st.ClaimQueue(ctx, p, 10, time.Minute)
			if err != nil || len(q) != n {
				t.Errorf("queue of %s: %d articles (%v), want %d", p, len(q), err, n)
			}
		}
	})
}

func TestGroupCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := &countingStore{Store: open(t)}
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		const perConn, conns = 200, 4
		var wg sync.WaitGroup
		for k := 0; k < conns; k++ {
			c := tt.Dial(t, srv.Addr)
			if code, line := c.Cmd("MODE STREAM"); code != 203 {
				t.Fatal(line)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() {
					for i := 0; i < perConn; i++ {
						mid := id(fmt.Sprintf("gc%d", k), i)
						c.Send("TAKETHIS %s", mid)
						c.SendArticle(art(t, mid))
					}
					c.Flush()
				}()
				for i := 0; i < perConn; i++ {
					code, line := c.Read()
					want := fmt.Sprintf("239 %s", id(fmt.Sprintf("gc%d", k), i))
					if code != 239 || !strings.HasPrefix(line, want) {
						t.Errorf("answer %d: %q, want %q", i, line, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		n := int64(perConn * conns)
		s := srv.Receiver.Stats()
		t.Logf("%d articles in %d transactions (%d Insert calls)", s.Stored, s.Transactions, st.inserts.Load())
		if s.Stored != n {
			t.Fatalf("stored %d of %d", s.Stored, n)
		}
		if st.inserts.Load() > n/4 {
			t.Errorf("%d transactions for %d articles: not grouped", st.inserts.Load(), n)
		}
		g, _ := st.Group(context.Background(), tt.Group)
		if g.Count != n || g.High != n {
			t.Errorf("group %+v", g)
		}
	})
}

func TestInFlight(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		a, b := tt.Dial(t, srv.Addr), tt.Dial(t, srv.Addr)
		a.Cmd("MODE STREAM")
		b.Cmd("MODE STREAM")
		x := id("inflight", 1)
		if code, line := a.Cmd("CHECK %s", x); code != 238 {
			t.Fatal(line)
		}
		if code, line := b.Cmd("CHECK %s", x); code != 431 {
			t.Fatalf("second offer: %q, want 431", line)
		}
		if code, line := b.Cmd("IHAVE %s", x); code != 436 {
			t.Fatalf("second offer by IHAVE: %q, want 436", line)
		}
		if code, line := a.TakeThis(x, art(t, x)); code != 239 {
			t.Fatal(line)
		}
		if code, line := b.Cmd("CHECK %s", x); code != 438 {
			t.Fatalf("after receipt: %q, want 438", line)
		}
		// Two connections sending the same article at once: one stores it,
		// the other is told it is a duplicate; never two copies.
		y := id("inflight", 2)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []*tt.Conn{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i], _ = c.TakeThis(y, art(t, y)) }()
		}
		wg.Wait()
		if !(codes[0] == 239 && codes[1] == 439 || codes[0] == 439 && codes[1] == 239) {
			t.Errorf("concurrent TAKETHIS answered %v", codes)
		}
		g, _ := st.Group(context.Background(), tt.Group)
		if g.Count != 2 {
			t.Errorf("group count %d, want 2", g.Count)
		}
	})
}

func TestOfferLapses(t *testing.T) {
	st := tt.OpenSQLite(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName, OfferTimeout: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	x := id("lapse", 1)
	if err := r.Wanted(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := r.Wanted(ctx, x); !errors.Is(err, nntp.ErrTryLater) {
		t.Fatalf("second Wanted = %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if err := r.Wanted(ctx, x); err != nil {
		t.Fatalf("Wanted after the offer lapsed = %v", err)
	}
	if err := r.Wanted(ctx, "not-an-id"); !errors.Is(err, nntp.ErrDuplicate) {
		t.Fatalf("Wanted(bad id) = %v", err)
	}
}

func TestOutage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := &countingStore{Store: open(t)}
		srv := tt.StartServer(t, st, transit.Config{PathName: ourName}, "")
		c := tt.Dial(t, srv.Addr)
		x, y, z := id("out", 1), id("out", 2), id("out", 3)
		// Offered while up, sent while down: IHAVE's second stage is 436.
		if code, line := c.Cmd("IHAVE %s", x); code != 335 {
			t.Fatal(line)
		}
		st.down.Store(true)
		c.SendArticle(art(t, x))
		c.Flush()
		if code, line := c.Read(); code != 436 {
			t.Fatalf("IHAVE while down: %q, want 436", line)
		}
		if code, line := c.Cmd("IHAVE %s", y); code != 436 {
			t.Fatalf("IHAVE offer while down: %q, want 436", line)
		}
		c.Cmd("MODE STREAM")
		if code, line := c.Cmd("CHECK %s", y); code != 431 {
			t.Fatalf("CHECK while down: %q, want 431", line)
		}
		// TAKETHIS has no temporary code: 400 and the connection closes,
		// so the peer keeps the article.
		if code, line := c.TakeThis(z, art(t, z)); code != 400 {
			t.Fatalf("TAKETHIS while down: %q, want 400", line)
		}
		st.down.Store(false)
		// Back up: every article the peer retries is taken, none lost.
		c = tt.Dial(t, srv.Addr)
		for _, m := range []string{x, y, z} {
			raw := art(t, m)
			if code, line := c.IHave(m, raw); code != 235 {
				t.Fatalf("IHAVE %s after outage: %q", m, line)
			}
			checkStored(t, st, m, raw)
		}
	})
}

func TestCloseCommitsWaiting(t *testing.T) {
	st := tt.OpenSQLite(t)
	r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.Receive(ctx, id("close", i), art(t, id("close", i))) }()
	}
	time.Sleep(5 * time.Millisecond)
	r.Close()
	wg.Wait()
	seen, err := st.Seen(ctx, func() []string {
		var ids []string
		for i := range errs {
			ids = append(ids, id("close", i))
		}
		return ids
	}())
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		// Answered 239 means stored; anything else means the peer retries.
		if e == nil && !seen[id("close", i)] {
			t.Errorf("article %d acknowledged but not stored", i)
		}
		if e != nil && !errors.Is(e, nntp.ErrTryLater) {
			t.Errorf("article %d: %v", i, e)
		}
	}
}

func TestNewGroupSeen(t *testing.T) {
	st := tt.OpenSQLite(t)
	r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	x, y := id("newgroup", 1), id("newgroup", 2)
	err = r.Receive(ctx, x, tt.Article(x, "peer!x", time.Now(), tt.Bodies(t)[0], "alt.crypt.new"))
	if transit.Reason(err) != "no-carried-group" {
		t.Fatalf("before the group exists: %v", err)
	}
	if err := st.EnsureGroup(ctx, "alt.crypt.new", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if err := r.Receive(ctx, y, tt.Article(y, "peer!x", time.Now(), tt.Bodies(t)[0], "alt.crypt.new")); err != nil {
		t.Fatalf("after the group was created: %v", err)
	}
}

// groupsCounter counts Groups calls and can hold them until released.
type groupsCounter struct {
	store.Store
	calls atomic.Int64
	hold  chan struct{} // when non-nil, Groups waits for it to close
}

func (s *groupsCounter) Groups(ctx context.Context) ([]nntp.Group, error) {
	s.calls.Add(1)
	if s.hold != nil {
		<-s.hold
	}
	return s.Store.Groups(ctx)
}

// TestGroupsCacheOneReader: when the cached list of groups is stale, one
// receipt re-reads it while the others go on with the stale list, instead
// of each querying the store at once (which, with a pipeline of 64
// commands, opened dozens of database connections every few seconds).
func TestGroupsCacheOneReader(t *testing.T) {
	st := &groupsCounter{Store: tt.OpenSQLite(t)}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	body := tt.Bodies(t)[0]
	receive := func(mid string) error {
		return r.Receive(ctx, mid, tt.Article(mid, "peer!x", clock(), body))
	}
	if err := receive(id("cache", 0)); err != nil {
		t.Fatal(err)
	}
	if n := st.calls.Load(); n != 1 {
		t.Fatalf("%d Groups calls for the first article, want 1", n)
	}
	// The list is now stale; hold the re-read and receive many at once.
	now.Add(int64(transit.DefaultGroupsCacheTTL + time.Second))
	st.hold = make(chan struct{})
	const n = 20
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		go func() { errs <- receive(id("cache", i)) }()
	}
	// All but the one re-reading the list are stored meanwhile.
	for range n - 1 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("receipts waited for the re-read of the groups")
		}
	}
	close(st.hold)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := st.calls.Load(); got != 2 {
		t.Fatalf("%d Groups calls, want 2 (one re-read for %d receipts)", got, n)
	}
}

// heldInserts holds every Insert until gate closes and tracks how many
// run at once.
type heldInserts struct {
	store.Store
	gate          chan struct{}
	running, peak atomic.Int64
	entered       chan int // batch size of each Insert, as it starts
}

func (s *heldInserts) Insert(ctx context.Context, arts []*store.NewArticle, release []int64) ([]store.InsertResult, error) {
	n := s.running.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	s.entered <- len(arts)
	<-s.gate
	defer s.running.Add(-1)
	return s.Store.Insert(ctx, arts, release)
}

// TestHelperCommitter: a second transaction starts only when a full batch
// waits behind the first, so one feed's articles are not cut into many
// small transactions.
func TestHelperCommitter(t *testing.T) {
	st := &heldInserts{Store: tt.OpenSQLite(t), gate: make(chan struct{}), entered: make(chan int, 10)}
	r, err := transit.New(transit.Config{Logger: tt.Quiet(), Store: st, PathName: ourName, Committers: 2, MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(st.gate) }) }
	defer release() // before Close, which waits for the held transactions
	body := tt.Bodies(t)[0]
	errs := make(chan error, 10)
	receive := func(i int) {
		mid := id("helper", i)
		go func() { errs <- r.Receive(context.Background(), mid, tt.Article(mid, "peer!x", time.Now(), body)) }()
	}
	receive(0)
	if n := <-st.entered; n != 1 {
		t.Fatalf("first transaction of %d articles, want 1", n)
	}
	for i := 1; i <= 3; i++ {
		receive(i)
	}
	select {
	case n := <-st.entered:
		t.Fatalf("a second transaction of %d articles started while fewer than a full batch waited", n)
	case <-time.After(200 * time.Millisecond):
	}
	receive(4) // now 4 wait: a full batch
	select {
	case n := <-st.entered:
		if n != 4 {
			t.Fatalf("helper's transaction of %d articles, want 4", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no second transaction although a full batch waited")
	}
	release()
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := st.peak.Load(); p != 2 {
		t.Fatalf("peak of %d transactions at once, want 2", p)
	}
}
