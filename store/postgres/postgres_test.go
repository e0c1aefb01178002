package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
	"github.com/altcrypt/altcrypt/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB) store.Store {
	t.Helper()
	return openDSN(t, pgtest.NewDatabase(t))
}

func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	return storetest.Open(t, func(ctx context.Context) (*postgres.Store, error) { return postgres.Open(ctx, dsn) })
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// Two front-ends on one database: each Store is a separate pool and
// listener, as two nntpd processes would have.
func TestTwoFrontEnds(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	// Both start at once: the migrations must not race.
	stores := make([]*postgres.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("front-end %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	s1, s2 := stores[0], stores[1]
	storetest.Ensure(t, s1, "g")

	t.Run("Changes", func(t *testing.T) {
		time.Sleep(100 * time.Millisecond)
		storetest.Drain(s2.Changes())
		if _, err := s1.Insert(ctx, []*store.NewArticle{storetest.Article("<wake@x>", 500, "g")}, nil); err != nil {
			t.Fatal(err)
		}
		storetest.Wait(t, s2.Changes(), 10*time.Second, "front-end 2 after an insert on front-end 1")
		g, err := s2.Group(ctx, "g")
		if err != nil || g.High != 1 {
			t.Fatalf("front-end 2 sees %+v %v", g, err)
		}
		if a, err := s2.Article(ctx, "g", 1); err != nil || a.MessageID != "<wake@x>" {
			t.Fatalf("front-end 2 Article: %v", err)
		}
	})

	t.Run("Exclusive", func(t *testing.T) {
		var otherRan bool
		ran, err := s1.Exclusive(ctx, "expire", func(ctx context.Context) error {
			var err error
			otherRan, err = s2.Exclusive(ctx, "expire", func(context.Context) error { return nil })
			return err
		})
		if !ran || err != nil || otherRan {
			t.Fatalf("front-end 1 ran=%v err=%v; front-end 2 ran=%v while 1 held the job", ran, err, otherRan)
		}
		ran, err = s2.Exclusive(ctx, "expire", func(context.Context) error { return nil })
		if !ran || err != nil {
			t.Fatalf("after front-end 1 finished, front-end 2: ran=%v err=%v", ran, err)
		}
	})

	t.Run("ClaimQueue", func(t *testing.T) {
		const n = 600
		var arts []*store.NewArticle
		for i := range n {
			a := storetest.Article(fmt.Sprintf("<q%d@x>", i), 200, "g")
			a.Peers = []string{"peer"}
			arts = append(arts, a)
		}
		if _, err := s1.Insert(ctx, arts, nil); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		got := make(map[int64]int)
		var wg sync.WaitGroup
		for w := range 6 {
			s := stores[w%2]
			wg.Go(func() {
				for {
					q, err := s.ClaimQueue(ctx, "peer", 7, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(q) == 0 {
						return
					}
					mu.Lock()
					for _, x := range q {
						got[x.ArticleID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(got) != n {
			t.Fatalf("%d distinct rows claimed, want %d", len(got), n)
		}
		for id, c := range got {
			if c != 1 {
				t.Fatalf("article %d handed out %d times", id, c)
			}
		}
	})
}

// A database that is down is store.ErrUnavailable, for every kind of call.
func TestUnavailable(t *testing.T) {
	ctx := t.Context()

	t.Run("ClosedPort", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = postgres.Open(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=5")
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Open on a closed port: %v, want ErrUnavailable", err)
		}
	})

	t.Run("ServerStopped", func(t *testing.T) {
		url, stop := pgtest.StartServer(t)
		s := openDSN(t, url)
		storetest.Ensure(t, s, "g")
		a := storetest.Article("<1@x>", 300, "g")
		a.Peers = []string{"p"}
		if _, err := s.Insert(ctx, []*store.NewArticle{a}, nil); err != nil {
			t.Fatal(err)
		}
		stop()
		calls := map[string]func() error{
			"Group":  func() error { _, err := s.Group(ctx, "g"); return err },
			"Groups": func() error { _, err := s.Groups(ctx); return err },
			"Overview": func() error {
				return s.Overview(ctx, "g", news.Range{Low: 1, High: -1}, func(*news.Overview) error { return nil })
			},
			"Article": func() error { _, err := s.ArticleByID(ctx, "<1@x>"); return err },
			"Insert": func() error {
				_, err := s.Insert(ctx, []*store.NewArticle{storetest.Article("<2@x>", 300, "g")}, nil)
				return err
			},
			"Seen":       func() error { _, err := s.Seen(ctx, []string{"<1@x>"}); return err },
			"ClaimQueue": func() error { _, err := s.ClaimQueue(ctx, "p", 10, time.Minute); return err },
			"Exclusive": func() error {
				_, err := s.Exclusive(ctx, "j", func(context.Context) error { return nil })
				return err
			},
			"Expire": func() error { _, err := s.Expire(ctx, time.Now(), time.Now()); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s with the server stopped: %v, want ErrUnavailable", name, err)
			}
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		s := openDSN(t, pgtest.NewDatabase(t))
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := s.Exclusive(dctx, "sleep", func(ctx context.Context) error {
			_, err := s.Seen(ctx, []string{"<x@y>"}) // fine
			if err != nil {
				return err
			}
			<-ctx.Done()
			_, err = s.Groups(ctx)
			return err
		})
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("a call past its deadline: %v, want ErrUnavailable", err)
		}
	})
}

// TestTerminatedConnections: backends killed by the server (as a restart or
// an operator would) give ErrUnavailable or a fresh connection, never
// another error; the listener reconnects and wake-ups keep coming.
func TestTerminatedConnections(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	s1, s2 := openDSN(t, dsn), openDSN(t, dsn)
	storetest.Ensure(t, s1, "g")
	if _, err := s1.Group(ctx, "g"); err != nil { // leaves an idle connection in the pool
		t.Fatal(err)
	}
	admin, err := sql.Open("postgres", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName(t, dsn)).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 3 {
		t.Fatalf("terminated %d backends, want at least 3 (two listeners, one pooled connection)", killed)
	}
	unavailable := 0
	for range 3 {
		if _, err := s1.Group(ctx, "g"); err != nil {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("after pg_terminate_backend: %v, want ErrUnavailable", err)
			}
			unavailable++
		}
	}
	t.Logf("%d of 3 calls failed with ErrUnavailable after the backends were terminated", unavailable)
	if _, err := s1.Group(ctx, "g"); err != nil {
		t.Fatalf("the pool did not recover: %v", err)
	}
	// The listener of s2 reconnects; an insert on s1 wakes it again.
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for i := 0; ; i++ {
		storetest.Drain(s2.Changes())
		if _, err := s1.Insert(ctx, []*store.NewArticle{storetest.Article(fmt.Sprintf("<after%d@x>", i), 300, "g")}, nil); err != nil {
			if errors.Is(err, store.ErrUnavailable) && time.Now().Before(deadline) {
				continue
			}
			t.Fatal(err)
		}
		select {
		case <-s2.Changes():
			t.Logf("woken %v after the termination (%d inserts)", time.Since(start).Round(time.Millisecond), i+1)
			return
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatal("no wake-up on front-end 2 after its listener lost its connection")
		}
	}
}

// TestExpireLeavesNoOrphans: without foreign keys (migration 0003),
// Expire itself removes an article's overview and queue rows.
func TestExpireLeavesNoOrphans(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	s := openDSN(t, dsn)
	storetest.Ensure(t, s, "a", "b")
	var arts []*store.NewArticle
	for i := range 10 {
		a := storetest.Article(fmt.Sprintf("<orphan%d@x>", i), 300, "a", "b")
		if i%2 == 0 {
			a = storetest.Article(fmt.Sprintf("<orphan%d@x>", i), 300, "a")
		}
		a.Peers = []string{"p1", "p2"}
		a.Arrived = time.Now().Add(-48 * time.Hour)
		arts = append(arts, a)
	}
	if _, err := s.Insert(ctx, arts, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Expire(ctx, time.Now().Add(-time.Hour), time.Now().Add(-72*time.Hour)); err != nil || st.Articles != 10 {
		t.Fatalf("Expire: %+v %v", st, err)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT count(*) FROM group_articles`,
		`SELECT count(*) FROM feed_queue`,
		`SELECT count(*) FROM articles`,
	} {
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s = %d (%v) after everything expired", q, n, err)
		}
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func BenchmarkInsert(b *testing.B)       { storetest.BenchInsert(b, open) }
func BenchmarkOverview(b *testing.B)     { storetest.BenchOverview(b, open) }
func BenchmarkArticle(b *testing.B)      { storetest.BenchArticle(b, open) }
func BenchmarkPending(b *testing.B)      { storetest.BenchPending(b, open) }
func BenchmarkPendingBatch(b *testing.B) { storetest.BenchPendingBatch(b, open) }
