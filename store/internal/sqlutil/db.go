package sqlutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// Dialect is what differs between the SQL stores in the SQL they share.
// Queries are written once with "?" placeholders and rebound to the
// driver's style; what a placeholder cannot hide is here.
type Dialect struct {
	// Time is a time as the store's time columns take it: SQLite keeps
	// microseconds since the epoch, PostgreSQL a timestamptz.
	Time func(time.Time) any
	// GroupJoin joins groups to group_articles for NEWNEWS: "JOIN", or
	// SQLite's "CROSS JOIN", which keeps groups as the outer loop so each
	// group is one range of the (group_id, arrived_at) index.
	GroupJoin string
	// PendingGroups selects a pending row's groups joined by commas.
	PendingGroups string
	// In expands the one "IN (?)" of query for ids, returning the query
	// (still with "?" placeholders) and its arguments: a list of
	// placeholders for SQLite (sqlx.In), one array for PostgreSQL.
	In func(query string, args ...any) (string, []any, error)
	// Wrap marks the errors that mean the database cannot be reached as
	// store.ErrUnavailable.
	Wrap func(error) error

	// InChunk bounds the list of one "IN (?)" (0: no bound); a longer
	// list is split over several statements in one transaction.
	InChunk int

	// ExpireChunk bounds the articles one expiry transaction removes, so
	// the writer is not held for long.
	ExpireChunk int
	// SkipLocked ends the SELECT that picks articles to expire (" FOR
	// UPDATE SKIP LOCKED" where front-ends share the database); if it is
	// set, expiry also locks the groups it recounts, in id order.
	SkipLocked string
}

// DB is the part of a SQL store that both stores write alike: the read
// side (news.Reader), groups, stamps, the pending posts' read, the
// administration queries and the wake-up channel. A store embeds it and
// adds what differs (opening, migrations, writes tuned to its engine).
type DB struct {
	r *sqlx.DB // readers
	w *sqlx.DB // the writer (the same pool on PostgreSQL)
	d Dialect

	changes chan struct{}
	keep    KeepPending

	groupIDs sync.Map // group name -> cachedID, trusted for groupIDTTL

	// Prepared statements of the hot paths: parsed and planned once per
	// connection (database/sql prepares them as needed), not every call.
	stmts struct {
		groupID, group, article, articleByID, next, prev *sqlx.Stmt
	}
}

var _ news.Reader = (*DB)(nil)

const groupCols = `name, low, high, count, status, created_at, description`

// KeepPending is a store's own write of a batch of pending posts, checked
// and not empty: in one transaction it claims each body hash after
// replaySince (setting errs[i] to store.ErrReplay when it cannot) and
// keeps the posts that claimed theirs, setting their ID; a post received
// at the zero time was received now. Its error fails the whole batch.
type KeepPending func(ctx context.Context, ps []*store.Pending, errs []error, replaySince, now time.Time) error

// New prepares the shared statements on the reader pool r; w is the
// writer pool (r again on PostgreSQL); keep is the store's write of
// pending posts. Close closes both pools.
func New(ctx context.Context, r, w *sqlx.DB, d Dialect, keep KeepPending) (*DB, error) {
	db := &DB{r: r, w: w, d: d, changes: make(chan struct{}, 1), keep: keep}
	for _, p := range []struct {
		stmt  **sqlx.Stmt
		query string
	}{
		{&db.stmts.groupID, `SELECT id FROM groups WHERE name = ? AND removed_at IS NULL`},
		{&db.stmts.group, `SELECT ` + groupCols + ` FROM groups WHERE name = ? AND removed_at IS NULL`},
		{&db.stmts.article, `SELECT a.message_id, a.header, a.body
			FROM group_articles ga JOIN articles a ON a.id = ga.article_id
			WHERE ga.group_id = ? AND ga.number = ?`},
		{&db.stmts.articleByID, `SELECT message_id, header, body FROM articles WHERE message_id = ?`},
		{&db.stmts.next, `SELECT number FROM group_articles WHERE group_id = ? AND number > ? ORDER BY number LIMIT 1`},
		{&db.stmts.prev, `SELECT number FROM group_articles WHERE group_id = ? AND number < ? ORDER BY number DESC LIMIT 1`},
	} {
		st, err := r.PreparexContext(ctx, r.Rebind(p.query))
		if err != nil {
			db.closeStatements()
			return nil, fmt.Errorf("prepare: %w", d.Wrap(err))
		}
		*p.stmt = st
	}
	return db, nil
}

func (db *DB) closeStatements() {
	for _, st := range []*sqlx.Stmt{db.stmts.groupID, db.stmts.group, db.stmts.article, db.stmts.articleByID,
		db.stmts.next, db.stmts.prev} {
		if st != nil {
			st.Close()
		}
	}
}

// Close closes the statements and both pools.
func (db *DB) Close() error {
	db.closeStatements()
	if db.w == db.r {
		return db.r.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// Notify delivers a wake-up on Changes, or does nothing if one is
// already waiting.
func (db *DB) Notify() {
	select {
	case db.changes <- struct{}{}:
	default:
	}
}

// Changes returns the store's one wake-up channel (buffered, coalesced):
// every call returns the same channel, so a process with several
// consumers fans it out itself.
func (db *DB) Changes() <-chan struct{} { return db.changes }

// WithTx runs fn in a transaction on w and commits it, or rolls back if
// fn fails; errors pass through wrap.
func WithTx(ctx context.Context, w *sqlx.DB, wrap func(error) error, fn func(tx *sqlx.Tx) error) error {
	tx, err := w.BeginTxx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrap(err)
	}
	return wrap(tx.Commit())
}

// groupIDTTL bounds how long a group removed by another front-end (nntpd
// group remove) can still be found here, by Insert among others.
const groupIDTTL = 5 * time.Second

// cachedID is a group id and when it was read.
type cachedID struct {
	id int64
	at time.Time
}

// GroupID returns the id of a carried group, or news.ErrNoSuchGroup.
func (db *DB) GroupID(ctx context.Context, name string) (int64, error) {
	if v, ok := db.groupIDs.Load(name); ok && time.Since(v.(cachedID).at) < groupIDTTL {
		return v.(cachedID).id, nil
	}
	var id int64
	err := db.stmts.groupID.GetContext(ctx, &id, name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, news.ErrNoSuchGroup
	}
	if err != nil {
		return 0, db.d.Wrap(err)
	}
	db.groupIDs.Store(name, cachedID{id, time.Now()})
	return id, nil
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.w.ExecContext(ctx, db.w.Rebind(query), args...)
	return res, db.d.Wrap(err)
}

// EnsureGroup creates the group or updates its description; a removed
// group is carried again.
func (db *DB) EnsureGroup(ctx context.Context, name, description string) error {
	if err := ValidGroupName(name); err != nil {
		return err
	}
	_, err := db.exec(ctx, `INSERT INTO groups (name, created_at, description) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET description = excluded.description, removed_at = NULL`,
		name, db.d.Time(time.Now()), description)
	return err
}

// RemoveGroup hides a group; EnsureGroup brings it back with its numbers.
func (db *DB) RemoveGroup(ctx context.Context, name string) error {
	res, err := db.exec(ctx, `UPDATE groups SET removed_at = ? WHERE name = ? AND removed_at IS NULL`,
		db.d.Time(time.Now()), name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.d.Wrap(err)
	} else if n == 0 {
		return news.ErrNoSuchGroup
	}
	db.groupIDs.Delete(name)
	return nil
}

// Time scans a time column of either store (microseconds since the epoch
// or a timestamptz); NULL is the zero time.
type Time struct{ T time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		t.T = time.UnixMicro(x).UTC()
	case time.Time:
		t.T = x.UTC()
	case nil:
		t.T = time.Time{}
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

type groupRow struct {
	Name        string `db:"name"`
	Low         int64  `db:"low"`
	High        int64  `db:"high"`
	Count       int64  `db:"count"`
	Status      string `db:"status"`
	CreatedAt   Time   `db:"created_at"`
	Description string `db:"description"`
}

func (g groupRow) group() news.Group {
	return news.Group{Name: g.Name, Low: g.Low, High: g.High, Count: g.Count, Status: g.Status,
		Created: g.CreatedAt.T, Description: g.Description}
}

// selectAll runs a query on the readers into dest.
func (db *DB) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	return db.d.Wrap(db.r.SelectContext(ctx, dest, db.r.Rebind(query), args...))
}

func (db *DB) selectGroups(ctx context.Context, query string, args ...any) ([]news.Group, error) {
	var rows []groupRow
	if err := db.selectAll(ctx, &rows, query, args...); err != nil {
		return nil, err
	}
	out := make([]news.Group, len(rows))
	for i, g := range rows {
		out[i] = g.group()
	}
	return out, nil
}

// Groups lists every carried group, by name.
func (db *DB) Groups(ctx context.Context) ([]news.Group, error) {
	return db.selectGroups(ctx, `SELECT `+groupCols+` FROM groups WHERE removed_at IS NULL ORDER BY name`)
}

// NewGroups lists the carried groups created at or after since, by name.
func (db *DB) NewGroups(ctx context.Context, since time.Time) ([]news.Group, error) {
	return db.selectGroups(ctx, `SELECT `+groupCols+` FROM groups WHERE created_at >= ? AND removed_at IS NULL
		ORDER BY name`, db.d.Time(since))
}

// get runs a prepared single-row statement: no row is none, other
// errors pass through Wrap.
func (db *DB) get(ctx context.Context, st *sqlx.Stmt, dest any, none error, args ...any) error {
	err := st.GetContext(ctx, dest, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return none
	}
	return db.d.Wrap(err)
}

// Group returns one carried group.
func (db *DB) Group(ctx context.Context, name string) (news.Group, error) {
	var g groupRow
	if err := db.get(ctx, db.stmts.group, &g, news.ErrNoSuchGroup, name); err != nil {
		return news.Group{}, err
	}
	return g.group(), nil
}

// Numbers lists the article numbers of group within rng.
func (db *DB) Numbers(ctx context.Context, group string, rng news.Range) ([]int64, error) {
	gid, err := db.GroupID(ctx, group)
	if err != nil {
		return nil, err
	}
	lo, hi, ok := Bounds(rng)
	if !ok {
		return nil, nil
	}
	var out []int64
	err = db.selectAll(ctx, &out, `SELECT number FROM group_articles
		WHERE group_id = ? AND number BETWEEN ? AND ? ORDER BY number`, gid, lo, hi)
	return out, err
}

// Overview calls fn for each article of group within rng, in number order.
func (db *DB) Overview(ctx context.Context, group string, rng news.Range, fn func(*news.Overview) error) error {
	gid, err := db.GroupID(ctx, group)
	if err != nil {
		return err
	}
	lo, hi, ok := Bounds(rng)
	if !ok {
		return nil
	}
	return OverviewPages(ctx, db.r, db.r.Rebind(`SELECT `+OverviewCols+` FROM group_articles
		WHERE group_id = ? AND number BETWEEN ? AND ? ORDER BY number LIMIT ?`), gid, lo, hi, fn, db.d.Wrap)
}

// OverviewByID returns the overview of one article, with Number 0.
func (db *DB) OverviewByID(ctx context.Context, messageID string) (*news.Overview, error) {
	var o OverviewRow
	err := db.r.GetContext(ctx, &o, db.r.Rebind(`SELECT ga.number, ga.subject, ga.from_header, ga.date,
			ga.message_id, ga.refs, ga.bytes, ga.lines, ga.xref
		FROM articles a JOIN group_articles ga ON ga.article_id = a.id
		WHERE a.message_id = ? ORDER BY ga.group_id LIMIT 1`), messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, news.ErrNoSuchArticle
	}
	if err != nil {
		return nil, db.d.Wrap(err)
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

func (a *articleRow) article(n int64) *news.Article {
	return &news.Article{Number: n, MessageID: a.MessageID, Header: NonNil(a.Header), Body: NonNil(a.Body)}
}

// Article returns article n of group.
func (db *DB) Article(ctx context.Context, group string, n int64) (*news.Article, error) {
	gid, err := db.GroupID(ctx, group)
	if err != nil {
		return nil, err
	}
	var a articleRow
	if err := db.get(ctx, db.stmts.article, &a, news.ErrNoSuchArticle, gid, n); err != nil {
		return nil, err
	}
	return a.article(n), nil
}

// ArticleByID returns an article by message-id, with Number 0.
func (db *DB) ArticleByID(ctx context.Context, messageID string) (*news.Article, error) {
	var a articleRow
	if err := db.get(ctx, db.stmts.articleByID, &a, news.ErrNoSuchArticle, messageID); err != nil {
		return nil, err
	}
	return a.article(0), nil
}

// NonNil returns b, or an empty slice for nil (an empty bytea or blob
// scans as nil).
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Next returns the lowest number in group above n.
func (db *DB) Next(ctx context.Context, group string, n int64) (int64, error) {
	return db.step(ctx, group, db.stmts.next, n, news.ErrNoNextArticle)
}

// Prev returns the highest number in group below n.
func (db *DB) Prev(ctx context.Context, group string, n int64) (int64, error) {
	return db.step(ctx, group, db.stmts.prev, n, news.ErrNoPrevArticle)
}

func (db *DB) step(ctx context.Context, group string, st *sqlx.Stmt, n int64, none error) (int64, error) {
	gid, err := db.GroupID(ctx, group)
	if err != nil {
		return 0, err
	}
	var m int64
	if err := db.get(ctx, st, &m, none, gid, n); err != nil {
		return 0, err
	}
	return m, nil
}

// NewNews lists (message-id, group) pairs of articles that arrived at or
// after since in carried groups, oldest first.
func (db *DB) NewNews(ctx context.Context, since time.Time) ([]news.NewsEntry, error) {
	var rows []struct {
		MessageID string `db:"message_id"`
		Group     string `db:"name"`
	}
	err := db.selectAll(ctx, &rows, `SELECT ga.message_id, g.name
		FROM groups g `+db.d.GroupJoin+` group_articles ga ON ga.group_id = g.id AND ga.arrived_at >= ?
		WHERE g.removed_at IS NULL
		ORDER BY ga.arrived_at, ga.article_id, g.name`, db.d.Time(since))
	if err != nil {
		return nil, err
	}
	out := make([]news.NewsEntry, len(rows))
	for i, e := range rows {
		out[i] = news.NewsEntry{MessageID: e.MessageID, Group: e.Group}
	}
	return out, nil
}

// AddPending keeps one post: a batch of one.
func (db *DB) AddPending(ctx context.Context, p *store.Pending, replaySince time.Time) error {
	return db.AddPendingBatch(ctx, []*store.Pending{p}, replaySince)[0]
}

// AddPendingBatch checks the posts and keeps them in one transaction (the
// store's KeepPending); see store.Injection.
func (db *DB) AddPendingBatch(ctx context.Context, ps []*store.Pending, replaySince time.Time) []error {
	errs := make([]error, len(ps))
	if len(ps) == 0 {
		return errs
	}
	if err := ValidPendingBatch(ps); err != nil {
		return Fill(errs, err)
	}
	if err := db.keep(ctx, ps, errs, replaySince, time.Now()); err != nil {
		return Fill(errs, err)
	}
	return errs
}

// PendingArticles returns up to limit pending posts, oldest first.
func (db *DB) PendingArticles(ctx context.Context, limit int) ([]*store.Pending, error) {
	var rows []struct {
		ID         int64  `db:"id"`
		MessageID  string `db:"message_id"`
		Groups     string `db:"groups"`
		Subject    string `db:"subject"`
		Body       []byte `db:"body"`
		BodyHash   []byte `db:"body_hash"`
		ReceivedAt Time   `db:"received_at"`
	}
	err := db.selectAll(ctx, &rows, `SELECT id, message_id, `+db.d.PendingGroups+` AS groups, subject, body,
		body_hash, received_at FROM pending ORDER BY received_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Pending, len(rows))
	for i, r := range rows {
		out[i] = &store.Pending{ID: r.ID, MessageID: r.MessageID, Groups: SplitGroups(r.Groups),
			Subject: r.Subject, Body: NonNil(r.Body), BodyHash: r.BodyHash, Received: r.ReceivedAt.T}
	}
	return out, nil
}

// SpendStamp records a hashcash stamp once, or returns
// store.ErrStampSpent.
func (db *DB) SpendStamp(ctx context.Context, stamp string, at time.Time) error {
	var got string
	err := db.w.GetContext(ctx, &got, db.w.Rebind(`INSERT INTO hashcash (stamp, at) VALUES (?, ?)
		ON CONFLICT (stamp) DO NOTHING RETURNING stamp`), stamp, db.d.Time(store.Day(at)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrStampSpent
	}
	return db.d.Wrap(err)
}

// Secret returns the named secret, making it on first use: the first
// front-end to ask wins, every other one reads its value (the INSERT
// waits for a concurrent one to commit, and the SELECT, a new statement,
// sees it).
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var got []byte
	err := WithTx(ctx, db.w, db.d.Wrap, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO secrets (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`), name, fresh); err != nil {
			return err
		}
		return tx.GetContext(ctx, &got, tx.Rebind(`SELECT value FROM secrets WHERE name = ?`), name)
	})
	return got, err
}

// Seen builds the answer of Seen: every id, true when the history holds
// it. lookup returns which ids of one chunk the history holds; chunk
// bounds the ids of one lookup (0: all at once).
func Seen(ids []string, chunk int, lookup func(chunk []string) ([]string, error)) (map[string]bool, error) {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		seen[id] = false
	}
	if len(ids) == 0 {
		return seen, nil
	}
	if chunk <= 0 {
		chunk = len(ids)
	}
	for part := range slices.Chunk(ids, chunk) {
		found, err := lookup(part)
		if err != nil {
			return nil, err
		}
		for _, id := range found {
			seen[id] = true
		}
	}
	return seen, nil
}

// QueueStats counts each peer's queue and finds its oldest article.
func (db *DB) QueueStats(ctx context.Context) ([]store.QueueStat, error) {
	var rows []struct {
		Peer   string `db:"peer"`
		Depth  int64  `db:"depth"`
		Oldest Time   `db:"oldest"`
	}
	if err := db.selectAll(ctx, &rows, `SELECT q.peer, count(*) AS depth, min(a.arrived_at) AS oldest
		FROM feed_queue q JOIN articles a ON a.id = q.article_id
		GROUP BY q.peer ORDER BY q.peer`); err != nil {
		return nil, err
	}
	out := make([]store.QueueStat, len(rows))
	for i, r := range rows {
		out[i] = store.QueueStat{Peer: r.Peer, Depth: r.Depth, Oldest: r.Oldest.T}
	}
	return out, nil
}

// RecordPeer notes a success (errMsg "") or an error of feeding peer.
func (db *DB) RecordPeer(ctx context.Context, peer string, at time.Time, errMsg string) error {
	var err error
	if errMsg == "" {
		_, err = db.exec(ctx, `INSERT INTO peer_state (peer, last_success) VALUES (?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_success = excluded.last_success`, peer, db.d.Time(at))
	} else {
		_, err = db.exec(ctx, `INSERT INTO peer_state (peer, last_error_at, last_error) VALUES (?, ?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error`,
			peer, db.d.Time(at), errMsg)
	}
	return err
}

// PeerStates returns what RecordPeer noted.
func (db *DB) PeerStates(ctx context.Context) ([]store.PeerState, error) {
	var rows []struct {
		Peer        string `db:"peer"`
		LastSuccess Time   `db:"last_success"`
		LastErrorAt Time   `db:"last_error_at"`
		LastError   string `db:"last_error"`
	}
	if err := db.selectAll(ctx, &rows, `SELECT peer, last_success, last_error_at, last_error
		FROM peer_state ORDER BY peer`); err != nil {
		return nil, err
	}
	out := make([]store.PeerState, len(rows))
	for i, r := range rows {
		out[i] = store.PeerState{Peer: r.Peer, LastSuccess: r.LastSuccess.T, LastErrorAt: r.LastErrorAt.T,
			LastError: r.LastError}
	}
	return out, nil
}

// AckQueue removes articles from peer's queue.
func (db *DB) AckQueue(ctx context.Context, peer string, articleIDs []int64) error {
	return db.inChunks(ctx, `DELETE FROM feed_queue WHERE peer = ? AND article_id IN (?)`, articleIDs, peer)
}

// RetryQueue makes leased articles due again at the given time.
func (db *DB) RetryQueue(ctx context.Context, peer string, articleIDs []int64, at time.Time) error {
	return db.inChunks(ctx, `UPDATE feed_queue SET next_try_at = ?, lease = NULL WHERE peer = ? AND article_id IN (?)`,
		articleIDs, db.d.Time(at), peer)
}

// inChunks runs a write whose last parameter, "IN (?)", takes ids: as
// one statement, or InChunk ids at a time in one transaction.
func (db *DB) inChunks(ctx context.Context, query string, ids []int64, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	chunk := db.d.InChunk
	if chunk <= 0 || chunk >= len(ids) {
		return db.d.Wrap(db.inExec(ctx, db.w, query, append(args, ids)...))
	}
	return WithTx(ctx, db.w, db.d.Wrap, func(tx *sqlx.Tx) error {
		for part := range slices.Chunk(ids, chunk) {
			if err := db.inExec(ctx, tx, query, append(slices.Clone(args), part)...); err != nil {
				return err
			}
		}
		return nil
	})
}
