package inject

import (
	"context"
	"errors"
	"time"

	"github.com/altcrypt/altcrypt/internal/groupcommit"
	"github.com/altcrypt/altcrypt/store"
)

// maxPendingBatch bounds how many posts one store transaction keeps.
const maxPendingBatch = 128

// pendingPost is a post to keep durably, with the start of its replay
// window.
type pendingPost struct {
	p     *store.Pending
	since time.Time
}

// newPendingGroup gathers concurrent posts into one store transaction
// (group commit): the store's cost is one durable commit per transaction
// (an fsync on SQLite, a WAL flush on PostgreSQL), not per post. Each
// post's result is the store's verdict on it (nil, a replay, a failure).
// A batch that fails as a whole, but not for an outage, is written again
// post by post, so one post the store refuses fails only itself.
func newPendingGroup(st store.Injection) *groupcommit.Group[pendingPost, error] {
	return groupcommit.New(groupcommit.Config[pendingPost, error]{
		MaxBatch: maxPendingBatch,
		Split:    func(err error) bool { return !errors.Is(err, store.ErrUnavailable) },
		Commit: func(ctx context.Context, batch []pendingPost) ([]error, error) {
			if len(batch) == 1 {
				return []error{st.AddPending(ctx, batch[0].p, batch[0].since)}, nil
			}
			ps := make([]*store.Pending, len(batch))
			// The earliest window start of the batch: a post may be
			// refused as a replay of one that arrived a few milliseconds
			// before its own window began, never accepted inside it.
			since := batch[0].since
			for i, r := range batch {
				ps[i] = r.p
				if r.since.Before(since) {
					since = r.since
				}
			}
			errs := st.AddPendingBatch(ctx, ps, since)
			if batchFailed(errs) {
				return nil, errs[0]
			}
			return errs, nil
		},
	})
}

// addPending keeps p durably (or refuses it as a replay) and returns the
// store's verdict on it. When ctx ends first, it returns ctx's error; the
// post may then still be kept, as if the client had gone right after the
// commit, and is released like any other.
func (b *Injector) addPending(ctx context.Context, p *store.Pending, replaySince time.Time) error {
	verdict, err := b.pending.Do(ctx, pendingPost{p: p, since: replaySince})
	if err != nil {
		return err
	}
	return verdict
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
