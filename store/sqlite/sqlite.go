// Package sqlite is the embedded default store: one file, one process,
// modernc.org/sqlite (pure Go, no cgo). Several front-ends on one database
// need the postgres store instead.
//
// Writes go through a pool of one connection in immediate transactions, so
// they queue in Go rather than spin on SQLITE_BUSY; reads use a separate
// pool that WAL lets run beside the writer. Article numbers are allocated
// inside the writing transaction, so they commit in order.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/internal/sqlutil"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of store.Store: the SQL both stores
// share (sqlutil.DB: reads, groups, stamps, expiry, administration) and
// the writes below.
type Store struct {
	*sqlutil.DB
	w *sqlx.DB // exactly one connection: the writer
	r *sqlx.DB // readers

	jobsMu sync.Mutex
	jobs   map[string]*sync.Mutex
}

// dialect is how SQLite differs in the SQL the stores share.
var dialect = sqlutil.Dialect{
	Time:          micro,
	GroupJoin:     "CROSS JOIN",
	PendingGroups: "groups",
	In:            sqlx.In,
	InChunk:       500,
	Wrap:          wrap,
	ExpireChunk:   1000,
}

// micro is a time as SQLite keeps it: microseconds since the epoch.
func micro(t time.Time) any { return t.UnixMicro() }

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// any pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: unusable database path %q", path)
	}
	// pragmas are those of every connection, then more.
	pragmas := func(more ...string) url.Values {
		return url.Values{"_pragma": append([]string{"busy_timeout(10000)", "foreign_keys(1)"}, more...)}
	}
	wq := pragmas("journal_mode(WAL)",
		// FULL: a commit survives power loss too, as the interface promises.
		"synchronous(FULL)",
		// Deleted rows (released posts above all) are overwritten with
		// zeros, not left in freed pages.
		"secure_delete(1)")
	wq.Set("_txlock", "immediate")
	w, err := sqlx.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, wrap(err))
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}

	rq := pragmas("query_only(1)")
	r, err := sqlx.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, wrap(err))
	}
	s := &Store{w: w, r: r, jobs: make(map[string]*sync.Mutex)}
	if s.DB, err = sqlutil.New(ctx, r, w, dialect, s.keepPending); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction, in version order.
func migrate(ctx context.Context, db *sqlx.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", wrap(err))
	}
	list, err := sqlutil.Migrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range list {
		err := sqlutil.WithTx(ctx, db, wrap, func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// nullMicro stores the zero time as NULL.
func nullMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// Exclusive runs fn unless the job is already running in this process (one
// process owns an SQLite file, so that is everyone).
func (s *Store) Exclusive(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	s.jobsMu.Lock()
	mu := s.jobs[job]
	if mu == nil {
		mu = new(sync.Mutex)
		s.jobs[job] = mu
	}
	s.jobsMu.Unlock()
	if !mu.TryLock() {
		return false, nil
	}
	defer mu.Unlock()
	return true, fn(ctx)
}

// keepPending keeps a batch of posts (sqlutil.DB.AddPendingBatch) in one
// immediate transaction, so a batch costs one commit (one fsync).
func (s *Store) keepPending(ctx context.Context, ps []*store.Pending, errs []error, replaySince, now time.Time) error {
	ids := make([]int64, len(ps))
	err := sqlutil.WithTx(ctx, s.w, wrap, func(tx *sqlx.Tx) error {
		claim, err := tx.PreparexContext(ctx, `INSERT INTO replay (body_hash, at) VALUES (?, ?)
			ON CONFLICT (body_hash) DO UPDATE SET at = excluded.at WHERE replay.at < ?
			RETURNING body_hash`)
		if err != nil {
			return err
		}
		defer claim.Close()
		keep, err := tx.PreparexContext(ctx, `INSERT INTO pending (message_id, groups, subject, body, body_hash, received_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer keep.Close()
		for i, p := range ps {
			errs[i], ids[i] = nil, 0
			received := p.Received
			if received.IsZero() {
				received = now
			}
			var claimed []byte
			err := claim.GetContext(ctx, &claimed, p.BodyHash, micro(store.Day(received)), micro(replaySince))
			if errors.Is(err, sql.ErrNoRows) {
				errs[i] = store.ErrReplay
				continue
			}
			if err != nil {
				return err
			}
			if err := keep.GetContext(ctx, &ids[i], p.MessageID, strings.Join(p.Groups, ","), p.Subject, p.Body,
				p.BodyHash, micro(received)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, p := range ps {
		if errs[i] == nil {
			p.ID = ids[i]
		}
	}
	return nil
}

// Insert stores articles in one immediate transaction; see store.Store.
func (s *Store) Insert(ctx context.Context, arts []*store.NewArticle, release []int64) ([]store.InsertResult, error) {
	for _, a := range arts {
		if err := sqlutil.ValidNewArticle(a); err != nil {
			return nil, err
		}
	}
	var results []store.InsertResult
	stored := 0
	err := sqlutil.WithTx(ctx, s.w, wrap, func(tx *sqlx.Tx) error {
		results = make([]store.InsertResult, len(arts))
		stored = 0
		now := time.Now()
		plan, err := sqlutil.PlanInsert(arts, now)
		if err != nil {
			return err
		}

		// Claim each message-id in the history; a known one is a duplicate.
		claim, err := tx.PreparexContext(ctx, `INSERT INTO history (message_id, status, arrived_at)
			VALUES (?, 'stored', ?) ON CONFLICT (message_id) DO NOTHING RETURNING message_id`)
		if err != nil {
			return err
		}
		defer claim.Close()
		var keep []int
		for i, a := range arts {
			var got string
			err := claim.GetContext(ctx, &got, a.MessageID, micro(plan.Arrived[i]))
			if errors.Is(err, sql.ErrNoRows) {
				results[i].Status = store.StatusDuplicate
				continue
			}
			if err != nil {
				return err
			}
			keep = append(keep, i)
		}

		// Number the kept articles in each carried group, in slice order.
		ids, err := s.groupIDsTx(ctx, tx, plan.GroupNames(keep))
		if err != nil {
			return err
		}
		numbering, err := sqlutil.Reserve(ctx, tx, plan.Counts(keep, ids))
		if err != nil {
			return err
		}

		insArt, err := tx.PreparexContext(ctx, `INSERT INTO articles
			(message_id, header, body, bytes, lines, arrived_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer insArt.Close()
		insOver, err := tx.PreparexContext(ctx, `INSERT INTO group_articles
			(group_id, number, article_id, arrived_at, subject, from_header, date, message_id, refs, bytes, lines, xref)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insOver.Close()
		insQueue, err := tx.PreparexContext(ctx, `INSERT INTO feed_queue (peer, article_id, next_try_at)
			VALUES (?, ?, ?) ON CONFLICT (peer, article_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer insQueue.Close()

		for _, i := range keep {
			a := arts[i]
			arrived := micro(plan.Arrived[i])
			var aid int64
			if err := insArt.GetContext(ctx, &aid, a.MessageID, a.Header, a.Body, plan.Bytes[i], plan.Lines[i],
				arrived, nullMicro(a.Expires)); err != nil {
				return err
			}
			numbers, byID, xref := numbering.Take(plan.Groups[i], ids)
			for _, gn := range byID {
				if _, err := insOver.ExecContext(ctx, gn.GroupID, gn.Number, aid, arrived, a.Subject, a.From, a.Date,
					a.MessageID, a.References, plan.Bytes[i], plan.Lines[i], xref); err != nil {
					return err
				}
			}
			for _, peer := range a.Peers {
				if _, err := insQueue.ExecContext(ctx, peer, aid, micro(now)); err != nil {
					return err
				}
			}
			results[i] = store.InsertResult{Status: store.StatusStored, ArticleID: aid, Numbers: numbers}
			stored++
		}

		if len(release) > 0 {
			q, args, err := sqlx.In(`DELETE FROM pending WHERE id IN (?)`, release)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if stored > 0 {
		s.Notify()
	}
	return results, nil
}

// groupIDsTx maps the named groups that exist to their ids.
func (s *Store) groupIDsTx(ctx context.Context, tx *sqlx.Tx, names []string) (map[string]int64, error) {
	ids := make(map[string]int64, len(names))
	if len(names) == 0 {
		return ids, nil
	}
	q, args, err := sqlx.In(`SELECT id, name FROM groups WHERE name IN (?) AND removed_at IS NULL`, names)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		ids[r.Name] = r.ID
	}
	return ids, nil
}

// Seen reports which message-ids are in the history, 500 to a query.
func (s *Store) Seen(ctx context.Context, messageIDs []string) (map[string]bool, error) {
	return sqlutil.Seen(messageIDs, 500, func(chunk []string) ([]string, error) {
		q, args, err := sqlx.In(`SELECT message_id FROM history WHERE message_id IN (?)`, chunk)
		if err != nil {
			return nil, err
		}
		var found []string
		return found, wrap(s.r.SelectContext(ctx, &found, q, args...))
	})
}

// Remember adds refused message-ids to the history.
func (s *Store) Remember(ctx context.Context, messageIDs []string, at time.Time) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return sqlutil.WithTx(ctx, s.w, wrap, func(tx *sqlx.Tx) error {
		for _, id := range messageIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO history (message_id, status, arrived_at)
				VALUES (?, 'refused', ?) ON CONFLICT (message_id) DO NOTHING`, id, micro(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Scrub checkpoints the write-ahead log into the database and truncates
// it to zero bytes: the log holds every page a transaction wrote,
// released posts included, until it is reset. With secure_delete on, the
// database file itself keeps no deleted row.
func (s *Store) Scrub(ctx context.Context) error {
	var busy, logged, done int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
		return wrap(err)
	}
	if busy != 0 {
		return errors.New("sqlite: the write-ahead log could not be truncated (a reader held it); the next round tries again")
	}
	return nil
}

// ClaimQueue leases up to limit of peer's due articles, oldest first.
func (s *Store) ClaimQueue(ctx context.Context, peer string, limit int, lease time.Duration) ([]*store.Queued, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*store.Queued
	err := sqlutil.WithTx(ctx, s.w, wrap, func(tx *sqlx.Tx) error {
		now := time.Now()
		until := micro(now.Add(lease))
		var claimed []struct {
			ArticleID int64 `db:"article_id"`
			Attempts  int   `db:"attempts"`
		}
		// The immediate transaction makes this writer the only one, which
		// is what SKIP LOCKED gives the postgres store.
		if err := tx.SelectContext(ctx, &claimed, `UPDATE feed_queue
			SET lease = ?, next_try_at = ?, attempts = attempts + 1
			WHERE peer = ? AND article_id IN (
				SELECT article_id FROM feed_queue WHERE peer = ? AND next_try_at <= ?
				ORDER BY next_try_at, article_id LIMIT ?)
			RETURNING article_id, attempts`, until, until, peer, peer, micro(now), limit); err != nil {
			return err
		}
		if len(claimed) == 0 {
			return nil
		}
		ids := make([]int64, len(claimed))
		attempts := make(map[int64]int, len(claimed))
		for i, c := range claimed {
			ids[i] = c.ArticleID
			attempts[c.ArticleID] = c.Attempts
		}
		q, args, err := sqlx.In(`SELECT id, message_id, header, body FROM articles WHERE id IN (?) ORDER BY id`, ids)
		if err != nil {
			return err
		}
		var rows []struct {
			ID        int64  `db:"id"`
			MessageID string `db:"message_id"`
			Header    []byte `db:"header"`
			Body      []byte `db:"body"`
		}
		if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
			return err
		}
		out = make([]*store.Queued, len(rows))
		for i, r := range rows {
			out[i] = &store.Queued{ArticleID: r.ID, MessageID: r.MessageID, Header: r.Header, Body: r.Body, Attempts: attempts[r.ID]}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
