package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	errBad  = errors.New("bad item")
	errDown = errors.New("store down")
)

// held is a commit function that holds its first call until open is
// closed, records every batch, fails a batch holding the item bad (with
// errBad) and every batch while down is set (with errDown).
type held struct {
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
	bad     int
	down    bool

	mu      sync.Mutex
	batches [][]int
}

func newHeld(bad int, down bool) *held {
	return &held{entered: make(chan struct{}), open: make(chan struct{}), bad: bad, down: down}
}

func (h *held) commit(ctx context.Context, batch []int) ([]int, error) {
	h.once.Do(func() { close(h.entered) })
	<-h.open
	h.mu.Lock()
	h.batches = append(h.batches, slices.Clone(batch))
	h.mu.Unlock()
	if h.down {
		return nil, errDown
	}
	if h.bad != 0 && slices.Contains(batch, h.bad) {
		return nil, errBad
	}
	out := make([]int, len(batch))
	for i, v := range batch {
		out[i] = v * 10
	}
	return out, nil
}

func (h *held) sizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, b := range h.batches {
		out = append(out, len(b))
	}
	return out
}

// holdFirst calls Do with item 1 and returns once its commit has begun
// (and is held); the channel gets Do's error.
func holdFirst(g *Group[int, int], h *held) <-chan error {
	first := make(chan error, 1)
	go func() { _, err := g.Do(context.Background(), 1); first <- err }()
	<-h.entered
	return first
}

// waitQueued waits until n items wait for a committer.
func waitQueued(g *Group[int, int], n int) {
	for g.Queued() != n {
		time.Sleep(time.Millisecond)
	}
}

// gather calls Do with item 1 and, once its commit has begun, with items
// 2..n at once; when all of them wait, it lets the commits go. It returns
// every item's result and error (index i for item i+1).
func gather(t *testing.T, g *Group[int, int], h *held, n int) ([]int, []error) {
	t.Helper()
	res := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { res[0], errs[0] = g.Do(context.Background(), 1) })
	<-h.entered
	for i := 1; i < n; i++ {
		wg.Go(func() { res[i], errs[i] = g.Do(context.Background(), i+1) })
	}
	waitQueued(g, n-1)
	close(h.open)
	wg.Wait()
	return res, errs
}

func TestGroup(t *testing.T) {
	tests := []struct {
		name string
		// n items, the first held until the others wait; the item bad
		// fails its batch, down fails every batch.
		n, maxBatch, bad        int
		down, split             bool
		wantBatches, wantFailed []int // wantFailed: items whose Do fails
	}{
		{name: "lone item at once", n: 1, wantBatches: []int{1}},
		{name: "waiting items go together", n: 8, wantBatches: []int{1, 7}},
		{name: "batches are bounded", n: 8, maxBatch: 3, wantBatches: []int{1, 3, 3, 1}},
		{name: "a bad item fails only itself", n: 4, bad: 3, split: true,
			wantBatches: []int{1, 3, 1, 1, 1}, wantFailed: []int{3}},
		{name: "without Split a bad item fails its batch", n: 4, bad: 3,
			wantBatches: []int{1, 3}, wantFailed: []int{2, 3, 4}},
		{name: "an outage is not split", n: 3, down: true, split: true,
			wantBatches: []int{1, 2}, wantFailed: []int{1, 2, 3}},
		{name: "a lone bad item is not retried", n: 1, bad: 1, split: true,
			wantBatches: []int{1}, wantFailed: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHeld(tt.bad, tt.down)
			cfg := Config[int, int]{Commit: h.commit, MaxBatch: tt.maxBatch}
			if tt.split {
				cfg.Split = func(err error) bool { return !errors.Is(err, errDown) }
			}
			g := New(cfg)
			res, errs := gather(t, g, h, tt.n)
			if got := h.sizes(); !slices.Equal(got, tt.wantBatches) {
				t.Errorf("batches of %v items, want %v", got, tt.wantBatches)
			}
			var failed []int
			for i, err := range errs {
				item := i + 1
				if err != nil {
					failed = append(failed, item)
					if !errors.Is(err, errBad) && !errors.Is(err, errDown) {
						t.Errorf("item %d: %v", item, err)
					}
					continue
				}
				if res[i] != item*10 {
					t.Errorf("item %d got result %d, want %d", item, res[i], item*10)
				}
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed items %v, want %v", failed, tt.wantFailed)
			}
			g.Close()
		})
	}
}

func TestWrongResultCount(t *testing.T) {
	g := New(Config[int, int]{Commit: func(ctx context.Context, batch []int) ([]int, error) {
		return nil, nil
	}})
	if _, err := g.Do(context.Background(), 1); err == nil {
		t.Fatal("no error although the commit gave no result")
	}
}

func TestQueueBound(t *testing.T) {
	h := newHeld(0, false)
	g := New(Config[int, int]{Commit: h.commit, MaxQueue: 2})
	holdFirst(g, h)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { g.Do(context.Background(), i+2) })
	}
	waitQueued(g, 2)
	if _, err := g.Do(context.Background(), 9); !errors.Is(err, ErrFull) {
		t.Fatalf("%v, want ErrFull", err)
	}
	close(h.open)
	wg.Wait()
}

func TestCloseCommitsWhatWaits(t *testing.T) {
	h := newHeld(0, false)
	g := New(Config[int, int]{Commit: h.commit})
	first := holdFirst(g, h)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() { _, err := g.Do(context.Background(), i+2); errs <- err }()
	}
	waitQueued(g, 2)
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	close(h.open)
	<-closed
	// Close returned after the queued items were committed.
	if got := h.sizes(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("batches %v, want [1 2]", got)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := g.Do(context.Background(), 9); !errors.Is(err, ErrClosed) {
		t.Fatalf("%v after Close, want ErrClosed", err)
	}
}

// TestCallerGone checks that a caller who stops waiting gets its
// context's error at once while its item is still committed.
func TestCallerGone(t *testing.T) {
	h := newHeld(0, false)
	g := New(Config[int, int]{Commit: h.commit})
	first := holdFirst(g, h)
	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() { _, err := g.Do(ctx, 2); queued <- err }()
	waitQueued(g, 1)
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	close(h.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	g.Wait()
	if got := h.sizes(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("batches %v, want [1 1]: the gone caller's item is committed too", got)
	}
}

func TestTimeout(t *testing.T) {
	g := New(Config[int, int]{Timeout: time.Millisecond, Commit: func(ctx context.Context, batch []int) ([]int, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	if _, err := g.Do(context.Background(), 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want a deadline", err)
	}
}

// TestHelpers checks that a second committer runs only while a full batch
// waits: with the first commit held, a full batch starts a helper whose
// commit runs beside it.
func TestHelpers(t *testing.T) {
	open := make(chan struct{})
	var running, most atomic.Int32
	var sizes sync.Map
	g := New(Config[int, int]{MaxBatch: 4, Committers: 2, Commit: func(ctx context.Context, batch []int) ([]int, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		sizes.Store(batch[0], len(batch))
		if batch[0] == 1 {
			<-open
		}
		return make([]int, len(batch)), nil
	}})
	var wg sync.WaitGroup
	wg.Go(func() { g.Do(context.Background(), 1) })
	for running.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	for i := range 4 {
		wg.Go(func() { g.Do(context.Background(), i+2) })
	}
	for most.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	close(open)
	wg.Wait()
	g.Close()
	n := 0
	sizes.Range(func(k, v any) bool { n += v.(int); return true })
	if n != 5 {
		t.Fatalf("%d items committed, want 5", n)
	}
}

func TestLinger(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	g := New(Config[int, int]{MaxBatch: 3, Linger: time.Hour, Commit: func(ctx context.Context, batch []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(batch))
		mu.Unlock()
		return make([]int, len(batch)), nil
	}})
	// With an hour's linger, only a full batch can end the wait.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { g.Do(context.Background(), i) })
	}
	wg.Wait()
	if fmt.Sprint(sizes) != "[3]" {
		t.Fatalf("batches %v, want [3]", sizes)
	}
}

// TestRace runs many callers at once, with bad items among them, and
// checks that each gets its own result exactly once.
func TestRace(t *testing.T) {
	for _, committers := range []int{1, 3} {
		t.Run(fmt.Sprint("committers=", committers), func(t *testing.T) {
			var commits, items atomic.Int64
			g := New(Config[int, int]{
				MaxBatch: 16, Committers: committers, MaxQueue: 1 << 20,
				Split: func(err error) bool { return errors.Is(err, errBad) },
				Commit: func(ctx context.Context, batch []int) ([]int, error) {
					commits.Add(1)
					out := make([]int, len(batch))
					for i, v := range batch {
						if v%97 == 0 {
							return nil, fmt.Errorf("item %d: %w", v, errBad)
						}
						out[i] = -v
					}
					items.Add(int64(len(batch)))
					return out, nil
				},
			})
			const callers, each = 32, 50
			var wg sync.WaitGroup
			for c := range callers {
				wg.Go(func() {
					for k := range each {
						v := c*each + k + 1
						got, err := g.Do(context.Background(), v)
						switch {
						case v%97 == 0 && !errors.Is(err, errBad):
							t.Errorf("item %d: %v, want errBad", v, err)
						case v%97 != 0 && (err != nil || got != -v):
							t.Errorf("item %d: %d, %v", v, got, err)
						}
					}
				})
			}
			wg.Wait()
			g.Close()
			bad := int64(callers * each / 97)
			if got := items.Load(); got != callers*each-bad {
				t.Fatalf("%d items committed, want %d", got, callers*each-bad)
			}
			t.Logf("%d items in %d commits", callers*each, commits.Load())
		})
	}
}
