package metrics

import (
	"context"
	"time"

	"github.com/altcrypt/altcrypt/store"
)

// Store wraps st so that the transactions acknowledgements wait for are
// timed (altcrypt_commit_seconds). Everything else passes through.
func (m *Metrics) Store(st store.Store) store.Store {
	t := &timedStore{Store: st, m: m}
	if sc, ok := st.(store.Scrubber); ok {
		return &timedScrubber{timedStore: t, sc: sc}
	}
	return t
}

type timedStore struct {
	store.Store
	m *Metrics
}

func (s *timedStore) observe(kind string, start time.Time) {
	s.m.commit.WithLabelValues(kind).Observe(time.Since(start).Seconds())
}

func (s *timedStore) Insert(ctx context.Context, arts []*store.NewArticle, release []int64) ([]store.InsertResult, error) {
	defer s.observe("insert", time.Now())
	return s.Store.Insert(ctx, arts, release)
}

func (s *timedStore) AddPending(ctx context.Context, p *store.Pending, replaySince time.Time) error {
	defer s.observe("pending", time.Now())
	return s.Store.AddPending(ctx, p, replaySince)
}

func (s *timedStore) AddPendingBatch(ctx context.Context, ps []*store.Pending, replaySince time.Time) []error {
	defer s.observe("pending", time.Now())
	return s.Store.AddPendingBatch(ctx, ps, replaySince)
}

// timedScrubber keeps the optional store.Scrubber visible through the
// wrapper.
type timedScrubber struct {
	*timedStore
	sc store.Scrubber
}

func (s *timedScrubber) Scrub(ctx context.Context) error { return s.sc.Scrub(ctx) }
