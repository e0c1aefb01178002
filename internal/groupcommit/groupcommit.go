// Package groupcommit gathers concurrent callers into batches, one
// transaction each (group commit). A durable store pays for each commit
// (an fsync, a WAL flush), not for each item, so callers that arrive
// while a transaction runs wait for it to end and then go together in
// the next one; a lone caller goes at once and waits no longer than
// without batching.
//
// Committing runs in goroutines of the group, never in a caller's: a
// transaction does not die with the connection that started it. A caller
// whose context ends gets its context's error, and its item may still be
// committed, as if it had gone right after the commit.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("groupcommit: closed")

// ErrFull is returned by Do when MaxQueue items are already waiting.
var ErrFull = errors.New("groupcommit: too many items waiting")

// Config says how a Group commits. Only Commit is required.
type Config[T, R any] struct {
	// Commit commits one batch in one transaction and returns one result
	// per item, in order, or an error that fails the whole batch.
	Commit func(ctx context.Context, batch []T) ([]R, error)
	// Split reports whether a batch that failed with err is committed
	// again one item at a time, so that one bad item fails only itself
	// (an outage is not worth splitting for). Nil: never split.
	Split func(err error) bool
	// MaxBatch bounds the items of one batch (0: no bound).
	MaxBatch int
	// MaxQueue bounds the items waiting; beyond it Do returns ErrFull
	// (0: no bound).
	MaxQueue int
	// Committers is how many batches may be committed at once (1 when
	// 0). The first committer takes whatever waits; the others help only
	// while a full batch (MaxBatch items) waits, so that one caller's
	// stream is not cut into many small transactions.
	Committers int
	// Linger, if positive, lets the first committer wait up to that long
	// for more items when fewer than MaxBatch wait (0: batches grow with
	// the load by themselves).
	Linger time.Duration
	// Timeout bounds one Commit call and its split retries (0: none).
	Timeout time.Duration
}

// Group batches the items of concurrent Do calls. Its zero value is not
// usable; make one with New.
type Group[T, R any] struct {
	cfg Config[T, R]

	mu      sync.Mutex
	queue   []*request[T, R]
	leading bool // the first committer runs
	helpers int  // other committers running
	closed  bool
	idle    sync.Cond     // broadcast when a committer stops
	filled  chan struct{} // ends a linger when a full batch waits
}

type request[T, R any] struct {
	item T
	done chan outcome[R] // buffered: a committer never blocks on a caller
}

type outcome[R any] struct {
	res R
	err error
}

// New returns a Group committing with cfg. It starts no goroutine until
// an item arrives, and none stays once nothing waits.
func New[T, R any](cfg Config[T, R]) *Group[T, R] {
	if cfg.Commit == nil {
		panic("groupcommit: Config.Commit is nil")
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 1
	}
	g := &Group[T, R]{cfg: cfg, filled: make(chan struct{}, 1)}
	g.idle.L = &g.mu
	return g
}

// Do queues item, waits for the transaction that commits it and returns
// its result. It returns ErrClosed after Close, ErrFull when the queue is
// full, and ctx's error when ctx ends first.
func (g *Group[T, R]) Do(ctx context.Context, item T) (R, error) {
	var zero R
	r := &request[T, R]{item: item, done: make(chan outcome[R], 1)}
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return zero, ErrClosed
	case g.cfg.MaxQueue > 0 && len(g.queue) >= g.cfg.MaxQueue:
		g.mu.Unlock()
		return zero, ErrFull
	}
	g.queue = append(g.queue, r)
	if !g.leading {
		g.leading = true
		g.start(true)
	} else if g.full() {
		select {
		case g.filled <- struct{}{}:
		default:
		}
		if g.helpers < g.cfg.Committers-1 {
			g.helpers++
			g.start(false)
		}
	}
	g.mu.Unlock()
	select {
	case o := <-r.done:
		return o.res, o.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Queued returns how many items wait for a committer.
func (g *Group[T, R]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// Wait waits until everything queued is committed and no committer
// runs. Do may be called again afterwards.
func (g *Group[T, R]) Wait() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.leading || g.helpers > 0 {
		g.idle.Wait()
	}
}

// Close stops taking items (Do returns ErrClosed), commits what is
// queued and waits for the committers to stop.
func (g *Group[T, R]) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.Wait()
}

// full reports whether a whole batch waits. The caller holds mu.
func (g *Group[T, R]) full() bool {
	return g.cfg.MaxBatch > 0 && len(g.queue) >= g.cfg.MaxBatch
}

// start runs a committer. The caller holds mu.
func (g *Group[T, R]) start(lead bool) {
	go func() {
		if lead && g.cfg.Linger > 0 {
			g.linger()
		}
		for {
			batch := g.take(lead)
			if batch == nil {
				return
			}
			g.commit(batch)
		}
	}()
}

// linger waits up to Linger for a full batch.
func (g *Group[T, R]) linger() {
	g.mu.Lock()
	select {
	case <-g.filled: // left by an earlier batch
	default:
	}
	full := g.full()
	g.mu.Unlock()
	if full {
		return
	}
	t := time.NewTimer(g.cfg.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case <-g.filled:
	}
}

// take removes the next batch from the queue, or returns nil and marks
// the committer stopped: the first when nothing waits, a helper when
// less than a full batch waits.
func (g *Group[T, R]) take(lead bool) []*request[T, R] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 || (!lead && !g.full()) {
		if lead {
			g.leading = false
		} else {
			g.helpers--
		}
		g.idle.Broadcast()
		return nil
	}
	n := len(g.queue)
	if g.cfg.MaxBatch > 0 {
		n = min(n, g.cfg.MaxBatch)
	}
	batch := make([]*request[T, R], n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	if len(g.queue) == 0 {
		g.queue = nil // let a burst's backing array go
	}
	return batch
}

// commit commits one batch and answers each of its callers.
func (g *Group[T, R]) commit(batch []*request[T, R]) {
	ctx := context.Background()
	if g.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.Timeout)
		defer cancel()
	}
	g.commitIn(ctx, batch)
}

func (g *Group[T, R]) commitIn(ctx context.Context, batch []*request[T, R]) {
	items := make([]T, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	res, err := g.cfg.Commit(ctx, items)
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("groupcommit: %d results for %d items", len(res), len(batch))
	}
	if err != nil {
		if len(batch) > 1 && g.cfg.Split != nil && g.cfg.Split(err) && ctx.Err() == nil {
			for i := range batch {
				g.commitIn(ctx, batch[i:i+1])
			}
			return
		}
		for _, r := range batch {
			r.done <- outcome[R]{err: err}
		}
		return
	}
	for i, r := range batch {
		r.done <- outcome[R]{res: res[i]}
	}
}
