package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/store"
)

// withHash returns pending(i, received) with the body hash of post h, so
// that posts with the same h are replays of each other.
func withHash(i, h int, received time.Time) *store.Pending {
	p := pending(i, received)
	p.BodyHash = pending(h, received).BodyHash
	return p
}

// wantErrs compares AddPendingBatch's errors with want (nil or ErrReplay).
func wantErrs(t *testing.T, what string, got, want []error) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d errors for %d posts", what, len(got), len(want))
	}
	for i := range want {
		if !errors.Is(got[i], want[i]) || (want[i] == nil) != (got[i] == nil) {
			t.Fatalf("%s: post %d: %v, want %v", what, i, got[i], want[i])
		}
	}
}

func pendingIDs(t *testing.T, s store.Store) []int64 {
	t.Helper()
	got, err := s.PendingArticles(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ids(got, func(p *store.Pending) int64 { return p.ID })
}

func testPendingBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "h")
	if errs := s.AddPendingBatch(ctx, nil, time.Now()); len(errs) != 0 {
		t.Fatalf("empty batch: %v", errs)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	since := t0.Add(-time.Hour)

	// Within one batch, a repeated body is a replay of the first.
	batch := []*store.Pending{withHash(0, 0, t0), withHash(1, 1, t0), withHash(2, 0, t0), withHash(3, 3, t0.Add(time.Second))}
	errs := s.AddPendingBatch(ctx, batch, since)
	wantErrs(t, "first batch", errs, []error{nil, nil, store.ErrReplay, nil})
	if batch[2].ID != 0 {
		t.Errorf("a replay got ID %d", batch[2].ID)
	}
	want := []*store.Pending{batch[0], batch[1], batch[3]}
	got, err := s.PendingArticles(ctx, 10)
	if err != nil || len(got) != len(want) {
		t.Fatalf("PendingArticles: %v, %d posts, want %d", err, len(got), len(want))
	}
	for _, w := range want {
		if w.ID == 0 {
			t.Fatalf("post %s kept without an ID", w.MessageID)
		}
		i := slices.IndexFunc(got, func(p *store.Pending) bool { return p.ID == w.ID })
		if i < 0 {
			t.Fatalf("post %s (ID %d) not pending", w.MessageID, w.ID)
		}
		p := got[i]
		if p.MessageID != w.MessageID || !slices.Equal(p.Groups, w.Groups) || p.Subject != w.Subject ||
			!bytes.Equal(p.Body, w.Body) || !bytes.Equal(p.BodyHash, w.BodyHash) || !p.Received.Equal(w.Received) {
			t.Fatalf("pending %d: %+v, want %+v", w.ID, p, w)
		}
	}

	// Across batches: bodies of the first batch are replays within the
	// window, new ones are kept.
	errs = s.AddPendingBatch(ctx, []*store.Pending{withHash(10, 1, t0.Add(time.Minute)), withHash(11, 11, t0.Add(time.Minute))}, since)
	wantErrs(t, "second batch", errs, []error{store.ErrReplay, nil})

	// After the window (which ends with t0's day: claims keep the day
	// only) the body may come again, once per batch.
	later := t0.Add(24 * time.Hour)
	errs = s.AddPendingBatch(ctx, []*store.Pending{withHash(20, 0, later), withHash(21, 0, later)}, store.Day(t0).Add(time.Second))
	wantErrs(t, "after the window", errs, []error{nil, store.ErrReplay})
	if n := len(pendingIDs(t, s)); n != 5 {
		t.Fatalf("%d pending, want 5", n)
	}

	// AddPending and AddPendingBatch share the replay table.
	if err := s.AddPending(ctx, withHash(30, 11, later), since); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("AddPending of a body kept by a batch: %v, want ErrReplay", err)
	}
	if err := s.AddPending(ctx, withHash(31, 31, later), since); err != nil {
		t.Fatal(err)
	}
	errs = s.AddPendingBatch(ctx, []*store.Pending{withHash(32, 31, later)}, since)
	wantErrs(t, "batch after AddPending", errs, []error{store.ErrReplay})
}

// testPendingBatchFails: a batch that fails keeps nothing and claims no
// body hash, and every post of it gets the error.
func testPendingBatchFails(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "h")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	since := t0.Add(-time.Hour)
	if errs := s.AddPendingBatch(ctx, []*store.Pending{withHash(0, 0, t0)}, since); errs[0] != nil {
		t.Fatal(errs[0])
	}
	before := pendingIDs(t, s)

	bad := withHash(2, 2, t0)
	bad.BodyHash = nil
	badGroup := withHash(3, 3, t0)
	badGroup.Groups = []string{"g", "bad,group"}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		batch []*store.Pending
	}{
		{"a post without a body hash", ctx, []*store.Pending{withHash(1, 1, t0), withHash(4, 0, t0), bad}},
		{"a bad group name", ctx, []*store.Pending{withHash(1, 1, t0), badGroup}},
		{"a bad message-id", ctx, []*store.Pending{withHash(1, 1, t0), func() *store.Pending {
			p := withHash(5, 5, t0)
			p.MessageID = "no brackets"
			return p
		}()}},
		{"a canceled context", canceled, []*store.Pending{withHash(1, 1, t0), withHash(6, 6, t0)}},
	} {
		errs := s.AddPendingBatch(tc.ctx, tc.batch, since)
		if len(errs) != len(tc.batch) {
			t.Fatalf("%s: %d errors for %d posts", tc.name, len(errs), len(tc.batch))
		}
		for i, err := range errs {
			if err == nil {
				t.Fatalf("%s: post %d has no error", tc.name, i)
			}
			if errors.Is(err, store.ErrReplay) {
				t.Fatalf("%s: post %d: %v, want the batch's error", tc.name, i, err)
			}
			if tc.batch[i].ID != 0 {
				t.Fatalf("%s: post %d got ID %d in a failed batch", tc.name, i, tc.batch[i].ID)
			}
		}
		if got := pendingIDs(t, s); !slices.Equal(got, before) {
			t.Fatalf("%s: the failed batch kept posts: %v, before %v", tc.name, got, before)
		}
	}
	// No hash of the failed batches was claimed.
	errs := s.AddPendingBatch(ctx, []*store.Pending{withHash(1, 1, t0), withHash(5, 5, t0), withHash(6, 6, t0)}, since)
	wantErrs(t, "after the failed batches", errs, []error{nil, nil, nil})
}

// testConcurrentPendingBatches: batches running at once with the same
// bodies in different orders keep each body exactly once.
func testConcurrentPendingBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "h")
	const writers, bodies = 4, 30
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	var wg sync.WaitGroup
	kept := make([][]bool, writers)
	failed := make(chan error, writers*bodies)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []*store.Pending
			for k := range bodies {
				h := k
				if w%2 == 1 {
					h = bodies - 1 - k
				}
				batch = append(batch, withHash(1000*(w+1)+h, h, t0))
			}
			kept[w] = make([]bool, bodies)
			for i, err := range s.AddPendingBatch(ctx, batch, t0.Add(-time.Hour)) {
				switch {
				case err == nil:
					h := i
					if w%2 == 1 {
						h = bodies - 1 - i
					}
					kept[w][h] = true
				case !errors.Is(err, store.ErrReplay):
					failed <- fmt.Errorf("writer %d, post %d: %w", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Fatal(err)
	}
	for h := range bodies {
		n := 0
		for w := range writers {
			if kept[w][h] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("body %d kept %d times, want once", h, n)
		}
	}
	if n := len(pendingIDs(t, s)); n != bodies {
		t.Fatalf("%d pending, want %d", n, bodies)
	}
}
