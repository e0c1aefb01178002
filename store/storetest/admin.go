package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// testRemoveGroup: a removed group disappears from every reader's view
// and from Insert; adding it again continues its numbers.
func testRemoveGroup(t *testing.T, s store.Store) {
	ctx := context.Background()
	Ensure(t, s, "alt.a", "alt.b")
	insert(t, s, Article(mid(1), 500, "alt.a"), Article(mid(2), 500, "alt.a", "alt.b"))
	if err := s.RemoveGroup(ctx, "alt.a"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroup(ctx, "alt.a"); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("second remove: %v", err)
	}
	if err := s.RemoveGroup(ctx, "alt.none"); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("remove unknown: %v", err)
	}
	if _, err := s.Group(ctx, "alt.a"); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("Group after remove: %v", err)
	}
	gs, err := s.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Name != "alt.b" {
		t.Errorf("Groups after remove: %v %v", gs, err)
	}
	if ng, _ := s.NewGroups(ctx, time.Time{}); len(ng) != 1 {
		t.Errorf("NewGroups after remove: %v", ng)
	}
	if nn, _ := s.NewNews(ctx, time.Time{}); len(nn) != 1 || nn[0].Group != "alt.b" {
		t.Errorf("NewNews after remove: %v", nn)
	}
	// An article for the removed group alone is not numbered anywhere.
	res := insert(t, s, Article(mid(3), 500, "alt.a", "alt.b"))
	if _, ok := res[0].Numbers["alt.a"]; ok {
		t.Errorf("numbered in a removed group: %v", res[0].Numbers)
	}
	Ensure(t, s, "alt.a")
	wantMarks(t, s, "alt.a", 1, 2, 2)
	res = insert(t, s, Article(mid(4), 500, "alt.a"))
	if res[0].Numbers["alt.a"] != 3 {
		t.Errorf("after adding again: %v", res[0].Numbers)
	}
}

// testQueueStats: depth and oldest arrival per peer.
func testQueueStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	Ensure(t, s, "alt.a")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	a1 := Article(mid(1), 500, "alt.a")
	a1.Arrived, a1.Peers = old, []string{"inn", "leaf"}
	a2 := Article(mid(2), 500, "alt.a")
	a2.Arrived, a2.Peers = old.Add(time.Minute), []string{"inn"}
	insert(t, s, a1, a2)
	qs, err := s.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Peer != "inn" || qs[0].Depth != 2 || !qs[0].Oldest.Equal(old) ||
		qs[1].Peer != "leaf" || qs[1].Depth != 1 {
		t.Errorf("QueueStats: %+v (oldest want %v)", qs, old)
	}
	q, err := s.ClaimQueue(ctx, "leaf", 10, time.Minute)
	if err != nil || len(q) != 1 {
		t.Fatal(q, err)
	}
	if err := s.AckQueue(ctx, "leaf", []int64{q[0].ArticleID}); err != nil {
		t.Fatal(err)
	}
	if qs, _ := s.QueueStats(ctx); len(qs) != 1 {
		t.Errorf("after ack: %+v", qs)
	}
}

// testPeerStates: the last success and the last error are kept apart.
func testPeerStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		at  time.Time
		err string
	}{{t0, ""}, {t0.Add(time.Minute), "dial tcp: connection refused"}, {t0.Add(2 * time.Minute), ""}} {
		if err := s.RecordPeer(ctx, "inn", step.at, step.err); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordPeer(ctx, "down", t0, "401 go away"); err != nil {
		t.Fatal(err)
	}
	ps, err := s.PeerStates(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("%+v %v", ps, err)
	}
	if d := ps[0]; d.Peer != "down" || !d.LastSuccess.IsZero() || !d.LastErrorAt.Equal(t0) || d.LastError != "401 go away" {
		t.Errorf("down: %+v", d)
	}
	if i := ps[1]; i.Peer != "inn" || !i.LastSuccess.Equal(t0.Add(2*time.Minute)) ||
		!i.LastErrorAt.Equal(t0.Add(time.Minute)) || i.LastError != "dial tcp: connection refused" {
		t.Errorf("inn: %+v", i)
	}
}
