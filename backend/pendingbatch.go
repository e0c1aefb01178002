package backend

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/altcrypt/altcrypt/store"
)

// maxPendingBatch bounds how many posts one store transaction keeps.
const maxPendingBatch = 128

// pendingBatcher gathers concurrent posts into one store transaction (group
// commit): the store's cost is one durable commit per transaction (an
// fsync on SQLite, a WAL flush on PostgreSQL), not per post. A post that
// arrives while nothing is being written is written at once, so a lone
// poster waits no longer than before; posts that arrive while a write is
// running wait for it to end and then go together in the next one.
type pendingBatcher struct {
	mu      sync.Mutex
	running bool
	queue   []*pendingRequest
	wg      sync.WaitGroup // the writer goroutine, for a clean stop
}

type pendingRequest struct {
	p     *store.Pending
	since time.Time
	done  chan error // buffered: the writer never blocks on a caller
}

// add keeps p durably (or refuses it as a replay) and returns the store's
// verdict on it. When ctx ends first, add returns ctx's error; the post
// may then still be kept, as if the client had gone right after the
// commit, and is released like any other.
func (pb *pendingBatcher) add(ctx context.Context, st store.Injection, p *store.Pending, replaySince time.Time) error {
	r := &pendingRequest{p: p, since: replaySince, done: make(chan error, 1)}
	pb.mu.Lock()
	pb.queue = append(pb.queue, r)
	lead := !pb.running
	pb.running = true
	pb.mu.Unlock()
	if lead {
		// The writer serves whoever is waiting until nobody is; a write
		// must not die with the connection that started it.
		wctx := context.WithoutCancel(ctx)
		pb.wg.Add(1)
		go func() {
			defer pb.wg.Done()
			for {
				pb.mu.Lock()
				batch := pb.queue
				if len(batch) > maxPendingBatch {
					batch = batch[:maxPendingBatch:maxPendingBatch]
				}
				pb.queue = pb.queue[len(batch):]
				if len(batch) == 0 {
					pb.queue = nil
					pb.running = false
					pb.mu.Unlock()
					return
				}
				pb.mu.Unlock()
				pb.write(wctx, st, batch)
			}
		}()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write keeps one batch and answers each of its posts.
func (pb *pendingBatcher) write(ctx context.Context, st store.Injection, batch []*pendingRequest) {
	if len(batch) == 1 {
		batch[0].done <- st.AddPending(ctx, batch[0].p, batch[0].since)
		return
	}
	ps := make([]*store.Pending, len(batch))
	// The earliest window start of the batch: a post may be refused as a
	// replay of one that arrived a few milliseconds before its own window
	// began, never accepted inside it.
	since := batch[0].since
	for i, r := range batch {
		ps[i] = r.p
		if r.since.Before(since) {
			since = r.since
		}
	}
	errs := st.AddPendingBatch(ctx, ps, since)
	if batchFailed(errs) && !errors.Is(errs[0], store.ErrUnavailable) {
		// Not an outage: maybe one post the store refuses. Keep the
		// others by writing each alone, so one bad post fails only itself.
		for i, r := range batch {
			errs[i] = st.AddPending(ctx, r.p, r.since)
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// batchFailed reports whether AddPendingBatch failed the whole batch (every
// post has the same error, and it is not a replay verdict).
func batchFailed(errs []error) bool {
	for _, err := range errs {
		if err == nil || errors.Is(err, store.ErrReplay) || err != errs[0] {
			return false
		}
	}
	return true
}
