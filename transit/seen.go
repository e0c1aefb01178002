package transit

import (
	"context"
	"sync"

	"github.com/altcrypt/altcrypt/store"
)

// seenBatcher gathers concurrent history lookups (pipelined CHECKs, many
// connections) into one store.Seen call: while one call runs, new lookups
// wait and go together in the next. A lone lookup goes at once.
type seenBatcher struct {
	st  store.Transit
	max int

	mu      sync.Mutex
	running bool
	waiting []*seenReq
}

type seenReq struct {
	id   string
	seen bool
	err  error
	done chan struct{}
}

func newSeenBatcher(st store.Transit, max int) *seenBatcher {
	return &seenBatcher{st: st, max: max}
}

func (b *seenBatcher) lookup(ctx context.Context, id string) (bool, error) {
	req := &seenReq{id: id, done: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, req)
	lead := !b.running
	if lead {
		b.running = true
	}
	b.mu.Unlock()
	if lead {
		go b.run()
	}
	select {
	case <-req.done:
		return req.seen, req.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// run answers batches until nothing waits.
func (b *seenBatcher) run() {
	for {
		b.mu.Lock()
		n := min(len(b.waiting), b.max)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := make([]*seenReq, n)
		copy(batch, b.waiting)
		b.waiting = append(b.waiting[:0], b.waiting[n:]...)
		b.mu.Unlock()

		ids := make([]string, len(batch))
		for i, r := range batch {
			ids[i] = r.id
		}
		ctx, cancel := context.WithTimeout(context.Background(), DefaultCommitTimeout)
		seen, err := b.st.Seen(ctx, ids)
		cancel()
		for _, r := range batch {
			r.seen, r.err = seen[r.id], err
			close(r.done)
		}
	}
}
