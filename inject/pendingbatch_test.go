package inject

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/groupcommit"
	"github.com/altcrypt/altcrypt/store"
)

// gatedStore holds its first write until open is closed and records the
// size of every write.
type gatedStore struct {
	store.Store
	entered chan struct{} // closed when the first write starts
	open    chan struct{}
	once    sync.Once

	mu       sync.Mutex
	writes   []int
	batchErr error // when set, AddPendingBatch fails with it
}

func (g *gatedStore) wait() {
	g.once.Do(func() { close(g.entered) })
	<-g.open
}

func (g *gatedStore) record(n int) {
	g.mu.Lock()
	g.writes = append(g.writes, n)
	g.mu.Unlock()
}

func (g *gatedStore) AddPending(ctx context.Context, p *store.Pending, since time.Time) error {
	g.wait()
	g.record(1)
	return g.Store.AddPending(ctx, p, since)
}

func (g *gatedStore) AddPendingBatch(ctx context.Context, ps []*store.Pending, since time.Time) []error {
	g.wait()
	g.record(len(ps))
	if g.batchErr != nil {
		errs := make([]error, len(ps))
		for i := range errs {
			errs[i] = g.batchErr
		}
		return errs
	}
	return g.Store.AddPendingBatch(ctx, ps, since)
}

func newGated(t *testing.T, batchErr error) *gatedStore {
	st := openStore(t)
	if err := st.EnsureGroup(context.Background(), "alt.crypt.messages", ""); err != nil {
		t.Fatal(err)
	}
	return &gatedStore{Store: st, entered: make(chan struct{}), open: make(chan struct{}), batchErr: batchErr}
}

func pendingArticle(i, hash int) *store.Pending {
	h := make([]byte, 32)
	copy(h, fmt.Sprint("hash ", hash))
	return &store.Pending{MessageID: fmt.Sprintf("<%d@batch.test>", i), Groups: []string{"alt.crypt.messages"},
		Subject: "s", Body: []byte(fmt.Sprint("body ", i)), BodyHash: h, Received: t0}
}

type pendingGroup = groupcommit.Group[pendingPost, error]

// add keeps p through pb and returns the store's verdict.
func add(ctx context.Context, pb *pendingGroup, p *store.Pending, since time.Time) error {
	verdict, err := pb.Do(ctx, pendingPost{p: p, since: since})
	if err != nil {
		return err
	}
	return verdict
}

// addAll posts ps at once while the first write is held, so the others
// gather behind it; it returns each post's result.
func addAll(t *testing.T, pb *pendingGroup, g *gatedStore, first *store.Pending, ps []*store.Pending) (error, []error) {
	t.Helper()
	ctx := context.Background()
	since := t0.Add(-time.Hour)
	firstErr := make(chan error, 1)
	go func() { firstErr <- add(ctx, pb, first, since) }()
	<-g.entered
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = add(ctx, pb, p, since)
		}()
	}
	// Wait until every post is queued, then let the writes go.
	for pb.Queued() != len(ps) {
		time.Sleep(time.Millisecond)
	}
	close(g.open)
	wg.Wait()
	return <-firstErr, errs
}

func TestPendingGroupGathers(t *testing.T) {
	g := newGated(t, nil)
	pb := newPendingGroup(g)
	var ps []*store.Pending
	for i := range 10 {
		ps = append(ps, pendingArticle(i+1, i+1))
	}
	ps = append(ps, pendingArticle(11, 3)) // a replay of post 3 in the same batch
	firstErr, errs := addAll(t, pb, g, pendingArticle(0, 0), ps)
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	// Posts 3 and 11 carry the same body hash and queue in whichever order
	// their goroutines run: the one queued second is the replay.
	replays := 0
	for i, err := range errs {
		switch {
		case err == nil:
		case (i == 2 || i == 10) && errors.Is(err, store.ErrReplay):
			replays++
		default:
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if replays != 1 {
		t.Fatalf("%d of the two posts with one body were refused as replays, want 1: %v", replays, errs)
	}
	if fmt.Sprint(g.writes) != "[1 11]" {
		t.Fatalf("writes of %v posts, want [1 11] (a lone post at once, then the gathered ones together)", g.writes)
	}
	got, err := g.PendingArticles(context.Background(), 100)
	if err != nil || len(got) != 11 {
		t.Fatalf("%d pending, %v; want 11", len(got), err)
	}
	pb.Wait()
	if pb.Queued() != 0 {
		t.Fatal("the writer stopped with posts waiting")
	}
}

func TestPendingGroupFailedBatchFallsBack(t *testing.T) {
	g := newGated(t, errors.New("some post the store cannot take"))
	pb := newPendingGroup(g)
	ps := []*store.Pending{pendingArticle(1, 1), pendingArticle(2, 2), pendingArticle(3, 3)}
	if firstErr, errs := addAll(t, pb, g, pendingArticle(0, 0), ps); firstErr != nil || errors.Join(errs...) != nil {
		t.Fatalf("posts refused although each alone is fine: %v %v", firstErr, errs)
	}
	if fmt.Sprint(g.writes) != "[1 3 1 1 1]" {
		t.Fatalf("writes %v, want [1 3 1 1 1]", g.writes)
	}
}

func TestPendingGroupUnavailable(t *testing.T) {
	down := fmt.Errorf("connection refused: %w", store.ErrUnavailable)
	g := newGated(t, down)
	pb := newPendingGroup(g)
	ps := []*store.Pending{pendingArticle(1, 1), pendingArticle(2, 2)}
	_, errs := addAll(t, pb, g, pendingArticle(0, 0), ps)
	for i, err := range errs {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("post %d: %v, want ErrUnavailable", i, err)
		}
	}
	if fmt.Sprint(g.writes) != "[1 2]" {
		t.Fatalf("writes %v, want [1 2] (no retry one by one during an outage)", g.writes)
	}
}

func TestPendingGroupCallerGone(t *testing.T) {
	g := newGated(t, nil)
	pb := newPendingGroup(g)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- add(ctx, pb, pendingArticle(0, 0), t0.Add(-time.Hour)) }()
	<-g.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	// The write itself goes on: the post is kept.
	close(g.open)
	pb.Wait()
	if got, _ := g.PendingArticles(context.Background(), 10); len(got) != 1 {
		t.Fatalf("%d pending, want 1", len(got))
	}
}
