package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// RemoveGroup hides a group; EnsureGroup brings it back with its numbers.
func (s *Store) RemoveGroup(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE groups SET removed_at = ? WHERE name = ? AND removed_at IS NULL`,
		micro(time.Now()), name)
	if err != nil {
		return wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err)
	} else if n == 0 {
		return news.ErrNoSuchGroup
	}
	return nil
}

// QueueStats counts each peer's queue and finds its oldest article.
func (s *Store) QueueStats(ctx context.Context) ([]store.QueueStat, error) {
	var rows []struct {
		Peer   string `db:"peer"`
		Depth  int64  `db:"depth"`
		Oldest int64  `db:"oldest"`
	}
	if err := s.r.SelectContext(ctx, &rows, `SELECT q.peer, count(*) AS depth, min(a.arrived_at) AS oldest
		FROM feed_queue q JOIN articles a ON a.id = q.article_id
		GROUP BY q.peer ORDER BY q.peer`); err != nil {
		return nil, wrap(err)
	}
	out := make([]store.QueueStat, len(rows))
	for i, r := range rows {
		out[i] = store.QueueStat{Peer: r.Peer, Depth: r.Depth, Oldest: fromMicro(r.Oldest)}
	}
	return out, nil
}

// RecordPeer notes a success (errMsg "") or an error of feeding peer.
func (s *Store) RecordPeer(ctx context.Context, peer string, at time.Time, errMsg string) error {
	var err error
	if errMsg == "" {
		_, err = s.w.ExecContext(ctx, `INSERT INTO peer_state (peer, last_success) VALUES (?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_success = excluded.last_success`, peer, micro(at))
	} else {
		_, err = s.w.ExecContext(ctx, `INSERT INTO peer_state (peer, last_error_at, last_error) VALUES (?, ?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error`,
			peer, micro(at), errMsg)
	}
	return wrap(err)
}

// PeerStates returns what RecordPeer noted.
func (s *Store) PeerStates(ctx context.Context) ([]store.PeerState, error) {
	var rows []struct {
		Peer        string        `db:"peer"`
		LastSuccess sql.NullInt64 `db:"last_success"`
		LastErrorAt sql.NullInt64 `db:"last_error_at"`
		LastError   string        `db:"last_error"`
	}
	if err := s.r.SelectContext(ctx, &rows, `SELECT peer, last_success, last_error_at, last_error
		FROM peer_state ORDER BY peer`); err != nil {
		return nil, wrap(err)
	}
	out := make([]store.PeerState, len(rows))
	for i, r := range rows {
		out[i] = store.PeerState{Peer: r.Peer, LastError: r.LastError}
		if r.LastSuccess.Valid {
			out[i].LastSuccess = fromMicro(r.LastSuccess.Int64)
		}
		if r.LastErrorAt.Valid {
			out[i].LastErrorAt = fromMicro(r.LastErrorAt.Int64)
		}
	}
	return out, nil
}
