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
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/internal/sqlutil"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of store.Store.
type Store struct {
	w *sqlx.DB // exactly one connection: the writer
	r *sqlx.DB // readers

	changes chan struct{}

	jobsMu sync.Mutex
	jobs   map[string]*sync.Mutex

	groupIDs sync.Map // group name -> id; a removed group keeps its row and id
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// any pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: unusable database path %q", path)
	}
	common := url.Values{}
	common.Add("_pragma", "busy_timeout(10000)")
	common.Add("_pragma", "foreign_keys(1)")
	wq := url.Values{}
	for k, v := range common {
		wq[k] = slices.Clone(v)
	}
	wq.Add("_pragma", "journal_mode(WAL)")
	// FULL: a commit survives power loss too, as the interface promises.
	wq.Add("_pragma", "synchronous(FULL)")
	// Deleted rows (released posts above all) are overwritten with zeros,
	// not left in freed pages.
	wq.Add("_pragma", "secure_delete(1)")
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

	rq := common
	rq.Add("_pragma", "query_only(1)")
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
	return &Store{
		w:       w,
		r:       r,
		changes: make(chan struct{}, 1),
		jobs:    make(map[string]*sync.Mutex),
	}, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
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
		err := withTx(ctx, db, func(tx *sqlx.Tx) error {
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

// withTx runs fn in a transaction (immediate on the writer pool) and
// commits it, or rolls back if fn fails.
func withTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrap(err)
	}
	return wrap(tx.Commit())
}

func micro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicro stores the zero time as NULL.
func nullMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func (s *Store) notify() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// Changes returns the Store's one wake-up channel (buffered, coalesced):
// every call returns the same channel, so a process with several consumers
// fans it out itself.
func (s *Store) Changes() <-chan struct{} { return s.changes }

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

// groupID returns the id of a group, or news.ErrNoSuchGroup.
func (s *Store) groupID(ctx context.Context, name string) (int64, error) {
	if v, ok := s.groupIDs.Load(name); ok {
		return v.(int64), nil
	}
	var id int64
	err := s.r.GetContext(ctx, &id, `SELECT id FROM groups WHERE name = ?`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, news.ErrNoSuchGroup
	}
	if err != nil {
		return 0, wrap(err)
	}
	s.groupIDs.Store(name, id)
	return id, nil
}

// EnsureGroup creates the group or updates its description.
func (s *Store) EnsureGroup(ctx context.Context, name, description string) error {
	if err := sqlutil.ValidGroupName(name); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO groups (name, created_at, description) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET description = excluded.description, removed_at = NULL`,
		name, micro(time.Now()), description)
	return wrap(err)
}

type groupRow struct {
	Name        string `db:"name"`
	Low         int64  `db:"low"`
	High        int64  `db:"high"`
	Count       int64  `db:"count"`
	Status      string `db:"status"`
	CreatedAt   int64  `db:"created_at"`
	Description string `db:"description"`
}

func (g groupRow) group() news.Group {
	return news.Group{Name: g.Name, Low: g.Low, High: g.High, Count: g.Count, Status: g.Status,
		Created: fromMicro(g.CreatedAt), Description: g.Description}
}

const groupCols = `name, low, high, count, status, created_at, description`

func (s *Store) selectGroups(ctx context.Context, query string, args ...any) ([]news.Group, error) {
	var rows []groupRow
	if err := s.r.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, wrap(err)
	}
	out := make([]news.Group, len(rows))
	for i, r := range rows {
		out[i] = r.group()
	}
	return out, nil
}

// Groups lists every group, by name.
func (s *Store) Groups(ctx context.Context) ([]news.Group, error) {
	return s.selectGroups(ctx, `SELECT `+groupCols+` FROM groups WHERE removed_at IS NULL ORDER BY name`)
}

// NewGroups lists the groups created at or after since, by name.
func (s *Store) NewGroups(ctx context.Context, since time.Time) ([]news.Group, error) {
	return s.selectGroups(ctx, `SELECT `+groupCols+` FROM groups WHERE created_at >= ? AND removed_at IS NULL ORDER BY name`, micro(since))
}

// Group returns one group.
func (s *Store) Group(ctx context.Context, name string) (news.Group, error) {
	var g groupRow
	err := s.r.GetContext(ctx, &g, `SELECT `+groupCols+` FROM groups WHERE name = ? AND removed_at IS NULL`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return news.Group{}, news.ErrNoSuchGroup
	}
	if err != nil {
		return news.Group{}, wrap(err)
	}
	return g.group(), nil
}

// Numbers lists the article numbers of group within r.
func (s *Store) Numbers(ctx context.Context, group string, r news.Range) ([]int64, error) {
	gid, err := s.groupID(ctx, group)
	if err != nil {
		return nil, err
	}
	lo, hi, ok := sqlutil.Bounds(r)
	if !ok {
		return nil, nil
	}
	var out []int64
	err = s.r.SelectContext(ctx, &out, `SELECT number FROM group_articles
		WHERE group_id = ? AND number BETWEEN ? AND ? ORDER BY number`, gid, lo, hi)
	return out, wrap(err)
}

// Overview calls fn for each article of group within r, in number order.
func (s *Store) Overview(ctx context.Context, group string, r news.Range, fn func(*news.Overview) error) error {
	gid, err := s.groupID(ctx, group)
	if err != nil {
		return err
	}
	lo, hi, ok := sqlutil.Bounds(r)
	if !ok {
		return nil
	}
	return sqlutil.OverviewPages(ctx, s.r, `SELECT `+sqlutil.OverviewCols+` FROM group_articles
		WHERE group_id = ? AND number BETWEEN ? AND ? ORDER BY number LIMIT ?`, gid, lo, hi, fn, wrap)
}

// OverviewByID returns the overview of one article, with Number 0.
func (s *Store) OverviewByID(ctx context.Context, messageID string) (*news.Overview, error) {
	var o sqlutil.OverviewRow
	err := s.r.GetContext(ctx, &o, `SELECT ga.number, ga.subject, ga.from_header, ga.date, ga.message_id,
			ga.refs, ga.bytes, ga.lines, ga.xref
		FROM articles a JOIN group_articles ga ON ga.article_id = a.id
		WHERE a.message_id = ? ORDER BY ga.group_id LIMIT 1`, messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, news.ErrNoSuchArticle
	}
	if err != nil {
		return nil, wrap(err)
	}
	ov := o.Overview()
	ov.Number = 0
	return ov, nil
}

type articleRow struct {
	MessageID string `db:"message_id"`
	Header    []byte `db:"header"`
	Body      []byte `db:"body"`
}

// Article returns article n of group.
func (s *Store) Article(ctx context.Context, group string, n int64) (*news.Article, error) {
	gid, err := s.groupID(ctx, group)
	if err != nil {
		return nil, err
	}
	var a articleRow
	err = s.r.GetContext(ctx, &a, `SELECT a.message_id, a.header, a.body
		FROM group_articles ga JOIN articles a ON a.id = ga.article_id
		WHERE ga.group_id = ? AND ga.number = ?`, gid, n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, news.ErrNoSuchArticle
	}
	if err != nil {
		return nil, wrap(err)
	}
	return &news.Article{Number: n, MessageID: a.MessageID, Header: a.Header, Body: a.Body}, nil
}

// ArticleByID returns an article by message-id, with Number 0.
func (s *Store) ArticleByID(ctx context.Context, messageID string) (*news.Article, error) {
	var a articleRow
	err := s.r.GetContext(ctx, &a, `SELECT message_id, header, body FROM articles WHERE message_id = ?`, messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, news.ErrNoSuchArticle
	}
	if err != nil {
		return nil, wrap(err)
	}
	return &news.Article{MessageID: a.MessageID, Header: a.Header, Body: a.Body}, nil
}

// Next returns the lowest number in group above n.
func (s *Store) Next(ctx context.Context, group string, n int64) (int64, error) {
	return s.step(ctx, group, `SELECT number FROM group_articles WHERE group_id = ? AND number > ? ORDER BY number LIMIT 1`, n, news.ErrNoNextArticle)
}

// Prev returns the highest number in group below n.
func (s *Store) Prev(ctx context.Context, group string, n int64) (int64, error) {
	return s.step(ctx, group, `SELECT number FROM group_articles WHERE group_id = ? AND number < ? ORDER BY number DESC LIMIT 1`, n, news.ErrNoPrevArticle)
}

func (s *Store) step(ctx context.Context, group, query string, n int64, none error) (int64, error) {
	gid, err := s.groupID(ctx, group)
	if err != nil {
		return 0, err
	}
	var m int64
	err = s.r.GetContext(ctx, &m, query, gid, n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, none
	}
	if err != nil {
		return 0, wrap(err)
	}
	return m, nil
}

// NewNews lists (message-id, group) pairs of articles that arrived at or
// after since, oldest first.
func (s *Store) NewNews(ctx context.Context, since time.Time) ([]news.NewsEntry, error) {
	var rows []struct {
		MessageID string `db:"message_id"`
		Group     string `db:"name"`
	}
	// CROSS JOIN keeps groups outside, so each group is one range of
	// the (group_id, arrived_at) index.
	err := s.r.SelectContext(ctx, &rows, `SELECT ga.message_id, g.name
		FROM groups g CROSS JOIN group_articles ga ON ga.group_id = g.id AND ga.arrived_at >= ?
		WHERE g.removed_at IS NULL
		ORDER BY ga.arrived_at, ga.article_id, g.name`, micro(since))
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]news.NewsEntry, len(rows))
	for i, r := range rows {
		out[i] = news.NewsEntry{MessageID: r.MessageID, Group: r.Group}
	}
	return out, nil
}

// AddPending claims the body hash against replays and keeps the post.
func (s *Store) AddPending(ctx context.Context, p *store.Pending, replaySince time.Time) error {
	return s.AddPendingBatch(ctx, []*store.Pending{p}, replaySince)[0]
}

// AddPendingBatch keeps posts in one immediate transaction, so a batch
// costs one commit (one fsync); see store.Store.
func (s *Store) AddPendingBatch(ctx context.Context, ps []*store.Pending, replaySince time.Time) []error {
	errs := make([]error, len(ps))
	if len(ps) == 0 {
		return errs
	}
	if err := sqlutil.ValidPendingBatch(ps); err != nil {
		return fill(errs, err)
	}
	now := time.Now()
	ids := make([]int64, len(ps))
	err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
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
		return fill(errs, err)
	}
	for i, p := range ps {
		if errs[i] == nil {
			p.ID = ids[i]
		}
	}
	return errs
}

// fill sets every error to err (a batch that failed as a whole).
func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// PendingArticles returns up to limit pending posts, oldest first.
func (s *Store) PendingArticles(ctx context.Context, limit int) ([]*store.Pending, error) {
	var rows []struct {
		ID         int64  `db:"id"`
		MessageID  string `db:"message_id"`
		Groups     string `db:"groups"`
		Subject    string `db:"subject"`
		Body       []byte `db:"body"`
		BodyHash   []byte `db:"body_hash"`
		ReceivedAt int64  `db:"received_at"`
	}
	err := s.r.SelectContext(ctx, &rows, `SELECT id, message_id, groups, subject, body, body_hash, received_at
		FROM pending ORDER BY received_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]*store.Pending, len(rows))
	for i, r := range rows {
		out[i] = &store.Pending{ID: r.ID, MessageID: r.MessageID, Groups: sqlutil.SplitGroups(r.Groups),
			Subject: r.Subject, Body: r.Body, BodyHash: r.BodyHash, Received: fromMicro(r.ReceivedAt)}
	}
	return out, nil
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
	err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
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
		need := plan.Counts(keep, ids)
		gids := make([]int64, 0, len(need))
		for gid := range need {
			gids = append(gids, gid)
		}
		slices.Sort(gids)
		first := make(map[int64]int64, len(need))
		for _, gid := range gids {
			var high int64
			if err := tx.GetContext(ctx, &high, `UPDATE groups SET high = high + ?, count = count + ?
				WHERE id = ? RETURNING high`, need[gid], need[gid], gid); err != nil {
				return err
			}
			first[gid] = high - need[gid] + 1
		}
		numbering := sqlutil.NewNumbering(first)

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
		s.notify()
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

// Seen reports which message-ids are in the history.
func (s *Store) Seen(ctx context.Context, messageIDs []string) (map[string]bool, error) {
	seen := make(map[string]bool, len(messageIDs))
	for _, id := range messageIDs {
		seen[id] = false
	}
	for chunk := range slices.Chunk(messageIDs, 500) {
		q, args, err := sqlx.In(`SELECT message_id FROM history WHERE message_id IN (?)`, chunk)
		if err != nil {
			return nil, err
		}
		var found []string
		if err := s.r.SelectContext(ctx, &found, q, args...); err != nil {
			return nil, wrap(err)
		}
		for _, id := range found {
			seen[id] = true
		}
	}
	return seen, nil
}

// Remember adds refused message-ids to the history.
func (s *Store) Remember(ctx context.Context, messageIDs []string, at time.Time) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return withTx(ctx, s.w, func(tx *sqlx.Tx) error {
		for _, id := range messageIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO history (message_id, status, arrived_at)
				VALUES (?, 'refused', ?) ON CONFLICT (message_id) DO NOTHING`, id, micro(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// SpendStamp records a hashcash stamp once.
func (s *Store) SpendStamp(ctx context.Context, stamp string, at time.Time) error {
	var got string
	err := s.w.GetContext(ctx, &got, `INSERT INTO hashcash (stamp, at) VALUES (?, ?)
		ON CONFLICT (stamp) DO NOTHING RETURNING stamp`, stamp, micro(store.Day(at)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrStampSpent
	}
	return wrap(err)
}

// Secret returns the named secret, making it on first use.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var got []byte
	err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.GetContext(ctx, &got, `SELECT value FROM secrets WHERE name = ?`, name)
	})
	return got, err
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

// expireChunk bounds the articles one expiry transaction removes, so the
// writer is not held for long.
const expireChunk = 1000

// Expire removes old articles, then old history, replay hashes and stamps.
// An article also goes once its Expires time has passed.
func (s *Store) Expire(ctx context.Context, articlesBefore, historyBefore time.Time) (store.ExpireStats, error) {
	var st store.ExpireStats
	now := micro(time.Now())
	for {
		var n int
		err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
			var ids []int64
			if err := tx.SelectContext(ctx, &ids, `SELECT id FROM articles
				WHERE arrived_at < ? OR (expires_at IS NOT NULL AND expires_at < ?) LIMIT ?`,
				micro(articlesBefore), now, expireChunk); err != nil {
				return err
			}
			n = len(ids)
			if n == 0 {
				return nil
			}
			q, args, err := sqlx.In(`DELETE FROM group_articles WHERE article_id IN (?) RETURNING group_id`, ids)
			if err != nil {
				return err
			}
			var gids []int64
			if err := tx.SelectContext(ctx, &gids, q, args...); err != nil {
				return err
			}
			for _, del := range []string{`DELETE FROM feed_queue WHERE article_id IN (?)`, `DELETE FROM articles WHERE id IN (?)`} {
				q, args, err := sqlx.In(del, ids)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
			removed := make(map[int64]int64)
			for _, gid := range gids {
				removed[gid]++
			}
			keys := make([]int64, 0, len(removed))
			for gid := range removed {
				keys = append(keys, gid)
			}
			sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
			for _, gid := range keys {
				if _, err := tx.ExecContext(ctx, `UPDATE groups SET count = count - ?,
					low = COALESCE((SELECT min(number) FROM group_articles WHERE group_id = ?), high + 1)
					WHERE id = ?`, removed[gid], gid, gid); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Articles += int64(n)
		if n < expireChunk {
			break
		}
	}
	err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
		hb := micro(historyBefore)
		res, err := tx.ExecContext(ctx, `DELETE FROM history WHERE arrived_at < ?
			AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.message_id = history.message_id)`, hb)
		if err != nil {
			return err
		}
		st.History, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM replay WHERE at < ?`, hb); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM hashcash WHERE at < ?`, hb)
		return err
	})
	return st, err
}

// ClaimQueue leases up to limit of peer's due articles, oldest first.
func (s *Store) ClaimQueue(ctx context.Context, peer string, limit int, lease time.Duration) ([]*store.Queued, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*store.Queued
	err := withTx(ctx, s.w, func(tx *sqlx.Tx) error {
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

// AckQueue removes articles from peer's queue.
func (s *Store) AckQueue(ctx context.Context, peer string, articleIDs []int64) error {
	return s.queueExec(ctx, `DELETE FROM feed_queue WHERE peer = ? AND article_id IN (?)`, peer, articleIDs)
}

// RetryQueue makes leased articles due again at the given time.
func (s *Store) RetryQueue(ctx context.Context, peer string, articleIDs []int64, at time.Time) error {
	return s.queueExec(ctx, `UPDATE feed_queue SET next_try_at = ?, lease = NULL WHERE peer = ? AND article_id IN (?)`,
		micro(at), peer, articleIDs)
}

func (s *Store) queueExec(ctx context.Context, query string, args ...any) error {
	ids := args[len(args)-1].([]int64)
	if len(ids) == 0 {
		return nil
	}
	return withTx(ctx, s.w, func(tx *sqlx.Tx) error {
		for chunk := range slices.Chunk(ids, 500) {
			a := append(slices.Clone(args[:len(args)-1]), chunk)
			q, qa, err := sqlx.In(query, a...)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, qa...); err != nil {
				return err
			}
		}
		return nil
	})
}
