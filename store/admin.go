package store

import (
	"context"
	"time"
)

// Admin is what only an operator asks for (nntpd group remove, peers,
// metrics). Every Store implements it; it acts on the database, so it
// works beside running front-ends.
type Admin interface {
	// RemoveGroup stops carrying a group: it disappears from LIST and
	// GROUP, posts and feeds naming only it are refused, and its article
	// numbers are dropped (articles crossposted elsewhere stay there).
	// It returns news.ErrNoSuchGroup when there is no such group.
	// Other front-ends on the same PostgreSQL database follow within
	// seconds; EnsureGroup carries it again, numbers continuing.
	RemoveGroup(ctx context.Context, name string) error

	// QueueStats reports the outgoing queue of every peer that has one.
	QueueStats(ctx context.Context) ([]QueueStat, error)

	// PeerStates returns what Queue.RecordPeer noted, for every peer.
	PeerStates(ctx context.Context) ([]PeerState, error)
}

// QueueStat is one peer's outgoing queue.
type QueueStat struct {
	Peer   string
	Depth  int64     // articles waiting
	Oldest time.Time // arrival of the oldest waiting article
}

// PeerState is the last outcome of feeding one peer.
type PeerState struct {
	Peer        string
	LastSuccess time.Time // zero: never
	LastErrorAt time.Time // zero: never
	LastError   string
}
