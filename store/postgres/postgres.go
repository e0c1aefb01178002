// Package postgres is the production store: PostgreSQL through jmoiron/sqlx
// and lib/pq. Several front-ends may share one database: inserts wake the
// others through LISTEN/NOTIFY, feed senders claim queue rows with FOR
// UPDATE SKIP LOCKED, and jobs that must run once take an advisory lock.
//
// Article numbers are allocated under the group's row lock (UPDATE groups
// ... RETURNING high), never from a sequence, so they commit in order and a
// reader that remembers its high-water mark misses nothing.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/internal/sqlutil"
)

//go:embed migrations/*.sql
var migrations embed.FS

// changesChannel is the NOTIFY channel inserts signal on.
const changesChannel = "altcrypt_changes"

// Store is the PostgreSQL implementation of store.Store: the SQL both
// stores share (sqlutil.DB: reads, groups, stamps, expiry,
// administration) and the writes below, tuned to PostgreSQL.
type Store struct {
	*sqlutil.DB
	db       *sqlx.DB
	listener *pq.Listener
	done     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Once

	// Prepared statements of the write paths (sqlutil.DB prepares the
	// read side's).
	stmts struct {
		addPending, insertOne, seen *sqlx.Stmt
	}
}

// dialect is how PostgreSQL differs in the SQL the stores share.
var dialect = sqlutil.Dialect{
	Time:          func(t time.Time) any { return t },
	GroupJoin:     "JOIN",
	PendingGroups: "array_to_string(groups, ',')",
	In:            anyArray,
	Wrap:          wrap,
	ExpireChunk:   5000,
	SkipLocked:    " FOR UPDATE SKIP LOCKED",
}

// anyArray rewrites the one "IN (?)" of query as "= ANY(?)" and passes
// its list as one array parameter.
func anyArray(query string, args ...any) (string, []any, error) {
	out := slices.Clone(args)
	for i, a := range out {
		switch v := a.(type) {
		case []int64:
			out[i] = pq.Int64Array(v)
		case []string:
			out[i] = pq.StringArray(v)
		}
	}
	return strings.Replace(query, "IN (?)", "= ANY(?)", 1), out, nil
}

var _ store.Store = (*Store)(nil)

// Open connects to dsn (lib/pq syntax: a postgres:// URL or key=value
// pairs; it may set search_path or other options), applies pending
// migrations and starts listening for other front-ends' inserts.
func Open(ctx context.Context, dsn string) (*Store, error) {
	dsn, err := withBinaryParameters(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", wrap(err))
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, done: make(chan struct{})}
	if s.DB, err = sqlutil.New(ctx, db, db, dialect, s.keepPending); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		s.DB.Close()
		return nil, err
	}
	s.listener = pq.NewListener(dsn, 100*time.Millisecond, 10*time.Second, nil)
	if err := s.listener.Listen(changesChannel); err != nil {
		s.listener.Close()
		s.closeStmts()
		s.DB.Close()
		return nil, fmt.Errorf("postgres: LISTEN: %w", wrap(err))
	}
	s.wg.Add(1)
	go s.listen()
	return s, nil
}

// withBinaryParameters turns on lib/pq's binary_parameters unless the DSN
// sets it: []byte arguments (article bytes) then go to the server as raw
// bytes, not hex text that it must decode, and a query with arguments
// that is not prepared costs one round trip instead of two.
func withBinaryParameters(dsn string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		if q.Get("binary_parameters") == "" {
			q.Set("binary_parameters", "yes")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if strings.Contains(dsn, "binary_parameters") {
		return dsn, nil
	}
	return strings.TrimSpace(dsn + " binary_parameters=yes"), nil
}

// listen turns notifications into wake-ups. A nil notification means the
// listener reconnected and may have missed some: that is a wake-up too.
func (s *Store) listen() {
	defer s.wg.Done()
	ping := time.NewTicker(90 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.listener.Notify:
			s.Notify()
		case <-ping.C:
			s.listener.Ping() // errors make the listener reconnect itself
		}
	}
}

// Close stops listening and closes the pool.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.done)
		err = s.listener.Close()
		s.wg.Wait()
		s.closeStmts()
		err = errors.Join(err, s.DB.Close())
	})
	return err
}

// Queries of the prepared statements.
const (
	seenQuery = `SELECT message_id FROM history WHERE message_id = ANY($1)`

	// addPendingQuery keeps a batch of posts in one statement (so in one
	// round trip, and atomically). The posts come as parallel arrays, their
	// subjects, bodies and body hashes cut from one packed bytea;
	// their body hashes are distinct (AddPendingBatch refuses repeats
	// within the batch itself). The replay claims are taken in body-hash
	// order, so two batches never wait on each other in a cycle; a post
	// is kept only if its claim returned a row.
	addPendingQuery = `WITH input AS (
		SELECT t.ord, t.message_id, t.groups, substring($4::bytea FROM t.sf FOR t.sn) AS subject,
			substring($4::bytea FROM t.bf FOR t.bn) AS body, substring($4::bytea FROM t.hf FOR t.hn) AS body_hash,
			t.received_at
		FROM unnest($1::int8[], $2::text[], $3::text[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[],
			$10::int[], $11::timestamptz[])
			AS t(ord, message_id, groups, sf, sn, bf, bn, hf, hn, received_at)
	), claimed AS (
		INSERT INTO replay (body_hash, at)
		SELECT body_hash, date_trunc('day', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day'
		FROM input ORDER BY body_hash
		ON CONFLICT (body_hash) DO UPDATE SET at = excluded.at WHERE replay.at < $12
		RETURNING body_hash
	), kept AS (
		INSERT INTO pending (message_id, groups, subject, body, body_hash, received_at)
		SELECT i.message_id, string_to_array(i.groups, ','), i.subject, i.body, i.body_hash, i.received_at
		FROM input i JOIN claimed c ON c.body_hash = i.body_hash
		ORDER BY i.ord
		RETURNING id, body_hash
	)
	SELECT id, body_hash FROM kept`
)

// prepare prepares the hot-path statements.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sqlx.Stmt
		query string
	}{
		{&s.stmts.addPending, addPendingQuery},
		{&s.stmts.insertOne, insertOneQuery},
		{&s.stmts.seen, seenQuery},
	} {
		st, err := s.db.PreparexContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("postgres: prepare: %w", wrap(err))
		}
		*p.stmt = st
	}
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range []*sqlx.Stmt{s.stmts.addPending, s.stmts.insertOne, s.stmts.seen} {
		if st != nil {
			st.Close()
		}
	}
}

// migrate applies the embedded migrations not yet recorded, in one
// transaction under an advisory lock, so front-ends starting together do
// not race.
func migrate(ctx context.Context, db *sqlx.DB) error {
	list, err := sqlutil.Migrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	err = sqlutil.WithTx(ctx, db, wrap, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		for _, m := range list {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// lockKey maps a job name to an advisory lock key.
func lockKey(job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("altcrypt/"))
	h.Write([]byte(job))
	return int64(h.Sum64())
}

// Exclusive runs fn while holding a session advisory lock on a pinned
// connection; if another front-end holds it, fn does not run.
func (s *Store) Exclusive(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, wrap(err)
	}
	defer conn.Close()
	key := lockKey(job)
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, wrap(err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// A lost connection releases the lock by itself; a failed unlock
		// only needs the connection gone, which Raw + ErrBadConn ensures.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Raw(func(any) error { return errBadConn })
		}
	}()
	return true, fn(ctx)
}

// keepPending keeps a batch of posts (sqlutil.DB.AddPendingBatch) in one
// statement, so in one round trip and one commit whatever its size.
func (s *Store) keepPending(ctx context.Context, ps []*store.Pending, errs []error, replaySince, now time.Time) error {
	var (
		ords                   pq.Int64Array
		ids, groups, receiveds pq.StringArray
		blob                   packer
		subjects, bodies       spans
		hashes                 spans
	)
	first := make(map[string]int, len(ps)) // body hash -> index of its first post
	for i, p := range ps {
		h := string(p.BodyHash)
		if _, dup := first[h]; dup {
			// An earlier post of this batch claims the hash (or is
			// itself a replay): either way this one is a replay.
			errs[i] = store.ErrReplay
			continue
		}
		first[h] = i
		received := p.Received
		if received.IsZero() {
			received = now
		}
		ords = append(ords, int64(i))
		ids = append(ids, p.MessageID)
		groups = append(groups, strings.Join(p.Groups, ","))
		subjects.add(blob.addString(p.Subject))
		bodies.add(blob.add(p.Body))
		hashes.add(blob.add(p.BodyHash))
		receiveds = append(receiveds, received.UTC().Format(time.RFC3339Nano))
	}
	var rows []struct {
		ID       int64  `db:"id"`
		BodyHash []byte `db:"body_hash"`
	}
	err := s.stmts.addPending.SelectContext(ctx, &rows, ords, ids, groups, blob.bytes(),
		pq.Int64Array(subjects.from), pq.Int64Array(subjects.n), pq.Int64Array(bodies.from), pq.Int64Array(bodies.n),
		pq.Int64Array(hashes.from), pq.Int64Array(hashes.n), receiveds, replaySince)
	if err != nil {
		return wrap(err)
	}
	kept := make(map[int]int64, len(rows))
	for _, r := range rows {
		kept[first[string(r.BodyHash)]] = r.ID
	}
	for _, i := range first {
		if id, ok := kept[i]; ok {
			ps[i].ID = id
		} else {
			errs[i] = store.ErrReplay
		}
	}
	return nil
}

// Insert stores articles in one transaction; see store.Store. A batch
// whose articles all go to one group (the usual case) is one prepared
// statement, insertOneQuery, committed as it returns: one round trip.
// Any other batch costs four whatever its size (BEGIN, one statement that
// claims the history, stores the articles, queues them, releases the
// pending posts and notifies, one that numbers them, COMMIT). Either way
// the groups' row locks are taken last, in id order, and held only for
// the numbering and the commit.
func (s *Store) Insert(ctx context.Context, arts []*store.NewArticle, release []int64) ([]store.InsertResult, error) {
	for _, a := range arts {
		if err := sqlutil.ValidNewArticle(a); err != nil {
			return nil, err
		}
	}
	if len(arts) == 0 && len(release) == 0 {
		return []store.InsertResult{}, nil
	}
	now := time.Now()
	plan, err := sqlutil.PlanInsert(arts, now)
	if err != nil {
		return nil, err
	}
	// Group ids are looked up outside the transaction (cached a few
	// seconds, sqlutil.DB.GroupID): a group's row and id stay when it is
	// removed, so a stale id can only number an article in a group
	// removed by another front-end moments ago.
	ids := make(map[string]int64)
	for _, name := range plan.GroupNames(seq(len(arts))) {
		gid, err := s.GroupID(ctx, name)
		if errors.Is(err, news.ErrNoSuchGroup) {
			continue // not carried: skipped
		}
		if err != nil {
			return nil, err
		}
		ids[name] = gid
	}

	if gid, name, ok := oneGroup(plan, ids); ok {
		results, stored, err := s.insertOneGroup(ctx, arts, plan, release, now, gid, name)
		if err != nil {
			return nil, wrap(err)
		}
		if stored > 0 {
			s.Notify()
		}
		return results, nil
	}

	var results []store.InsertResult
	stored := 0
	err = sqlutil.WithTx(ctx, s.db, wrap, func(tx *sqlx.Tx) error {
		results = make([]store.InsertResult, len(arts))
		stored = 0
		aids, err := storeArticles(ctx, tx, arts, plan, release, now)
		if err != nil {
			return err
		}
		var keep []int
		for i := range arts {
			if aid, ok := aids[i]; ok {
				keep = append(keep, i)
				results[i] = store.InsertResult{Status: store.StatusStored, ArticleID: aid, Numbers: map[string]int64{}}
				stored++
			} else {
				results[i].Status = store.StatusDuplicate
			}
		}
		need := plan.Counts(keep, ids)
		switch len(need) {
		case 0:
			return nil
		case 1:
			return numberInOne(ctx, tx, arts, plan, keep, aids, ids, need, results)
		default:
			return numberInMany(ctx, tx, arts, plan, keep, aids, ids, need, results)
		}
	})
	if err != nil {
		return nil, err
	}
	if stored > 0 {
		s.Notify()
	}
	return results, nil
}

// oneGroup reports whether every article is carried in exactly one group,
// the same for all (transit's and injection's usual batch), and which.
func oneGroup(plan *sqlutil.Plan, ids map[string]int64) (int64, string, bool) {
	var gid int64
	var name string
	for _, groups := range plan.Groups {
		n := 0
		for _, g := range groups {
			id, ok := ids[g]
			if !ok {
				continue
			}
			if n++; n > 1 || (gid != 0 && id != gid) {
				return 0, "", false
			}
			gid, name = id, g
		}
		if n == 0 {
			return 0, "", false
		}
	}
	return gid, name, gid != 0
}

// The insert statements take the same first parameters, laid out by
// articleColumns.args: $1-$17 the articles' columns (message-id, spans
// of header and body, size, lines, arrival, expiry, spans of the overview
// fields), $18 the packed bytea, $19-$21 the peer queue (message-ids,
// peers, time), $22 the pending posts released, $23 the notify channel.
const (
	// storeCTEs claims the message-ids in the history (in sorted order,
	// so two batches never wait on each other in a cycle) and stores the
	// new articles (the first of repeats within the batch) as a.
	storeCTEs = `
	u AS (
		SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::bigint[], $7::bigint[],
			$8::timestamptz[], $9::timestamptz[], $10::int[], $11::int[], $12::int[], $13::int[],
			$14::int[], $15::int[], $16::int[], $17::int[])
			WITH ORDINALITY AS u(m, hf, hn, bf, bn, size, lines, t, ex, sf, sn, ff, fn, df, dn, rf, rn, ord)
	), first AS (
		SELECT DISTINCT ON (m) * FROM u ORDER BY m, ord
	), claimed AS (
		INSERT INTO history (message_id, status, arrived_at)
		SELECT m, 'stored', t FROM first ORDER BY m
		ON CONFLICT (message_id) DO NOTHING RETURNING message_id
	), a AS (
		INSERT INTO articles (message_id, header, body, bytes, lines, arrived_at, expires_at)
		SELECT f.m, substring($18::bytea FROM f.hf FOR f.hn), substring($18::bytea FROM f.bf FOR f.bn),
			f.size, f.lines, f.t, f.ex
		FROM first f JOIN claimed c ON c.message_id = f.m
		ORDER BY f.ord
		RETURNING id, message_id
	)`
	// queueCTEs queues the stored articles for their peers and deletes
	// the released pending posts. Their replay claims, inserted when the
	// posts came (so in posting order in the heap), are deleted and
	// inserted again in release order ($22 is shuffled): the live rows
	// then say nothing of arrival; the dead versions go with vacuum and
	// the hourly CLUSTER.
	queueCTEs = `
	q AS (
		INSERT INTO feed_queue (peer, article_id, next_try_at)
		SELECT p.peer, a.id, $21 FROM unnest($19::text[], $20::text[]) AS p(m, peer) JOIN a ON a.message_id = p.m
		ON CONFLICT (peer, article_id) DO NOTHING
	), released AS (
		DELETE FROM pending WHERE id = ANY($22) RETURNING id, body_hash
	), unclaimed AS (
		DELETE FROM replay WHERE body_hash IN (SELECT body_hash FROM released) RETURNING body_hash, at
	), reclaimed AS (
		INSERT INTO replay (body_hash, at)
		SELECT u.body_hash, u.at FROM unclaimed u JOIN released r ON r.body_hash = u.body_hash
			JOIN unnest($22::bigint[]) WITH ORDINALITY AS x(id, ord) ON x.id = r.id
		ORDER BY x.ord
	)`
	// notifyJoin wakes the other front-ends (at commit) if anything was
	// stored; selecting n.woke keeps the planner from dropping the join.
	notifyJoin = `
	LEFT JOIN (SELECT pg_notify($23, '') IS NULL AS woke FROM (SELECT 1 FROM a LIMIT 1) AS one) AS n ON true`
)

// insertOneQuery stores a batch of articles all carried in one group ($24,
// named $25) in a single statement run on its own, so its transaction is
// that statement: one round trip of a prepared statement, committed when
// it returns. Besides storing, queueing and releasing, it takes the
// group's row lock only if something was stored, numbers the new
// articles in batch order and inserts their overview rows.
const insertOneQuery = `WITH` + storeCTEs + `, numbered AS (
		SELECT a.id, f.*, row_number() OVER (ORDER BY f.ord) AS pos, count(*) OVER () AS total
		FROM a JOIN first f ON f.m = a.message_id
	), g AS (
		UPDATE groups SET high = high + (SELECT count(*) FROM a), count = count + (SELECT count(*) FROM a)
		WHERE id = $24 AND EXISTS (SELECT 1 FROM a)
		RETURNING high
	), o AS (
		INSERT INTO group_articles
			(group_id, number, article_id, arrived_at, subject, from_header, date, message_id, refs, bytes, lines, xref)
		SELECT $24, g.high - n.total + n.pos, n.id, n.t, substring($18::bytea FROM n.sf FOR n.sn),
			substring($18::bytea FROM n.ff FOR n.fn), substring($18::bytea FROM n.df FOR n.dn), n.m,
			substring($18::bytea FROM n.rf FOR n.rn), n.size, n.lines,
			convert_to($25 || ':' || (g.high - n.total + n.pos), 'UTF8')
		FROM numbered n, g
		RETURNING article_id, number, message_id
	),` + queueCTEs + `
	SELECT o.article_id, o.number, o.message_id, n.woke FROM o` + notifyJoin

// storeQuery stores, queues and releases without numbering (Insert's
// transaction numbers afterwards).
const storeQuery = `WITH` + storeCTEs + `,` + queueCTEs + `
	SELECT a.id, a.message_id, n.woke FROM a` + notifyJoin

// insertOneGroup runs insertOneQuery; see Insert.
func (s *Store) insertOneGroup(ctx context.Context, arts []*store.NewArticle, plan *sqlutil.Plan, release []int64,
	now time.Time, gid int64, name string) ([]store.InsertResult, int, error) {
	args := newArticleColumns(arts).args(plan, now, release)
	rows, err := s.stmts.insertOne.QueryxContext(ctx, append(args, gid, name)...)
	if err != nil {
		return nil, 0, err
	}
	type stored struct{ id, number int64 }
	byMID := make(map[string]stored, len(arts))
	for rows.Next() {
		var r struct {
			ArticleID int64        `db:"article_id"`
			Number    int64        `db:"number"`
			MessageID string       `db:"message_id"`
			Woke      sql.NullBool `db:"woke"`
		}
		if err := rows.StructScan(&r); err != nil {
			rows.Close()
			return nil, 0, err
		}
		byMID[r.MessageID] = stored{r.ArticleID, r.Number}
	}
	// The statement commits as it ends: an error here (at commit too)
	// means nothing was stored.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, 0, err
	}
	results := make([]store.InsertResult, len(arts))
	count := 0
	for i, a := range arts {
		st, ok := byMID[a.MessageID]
		if !ok {
			results[i].Status = store.StatusDuplicate
			continue
		}
		delete(byMID, a.MessageID) // a repeat later in the batch is a duplicate
		results[i] = store.InsertResult{Status: store.StatusStored, ArticleID: st.id, Numbers: map[string]int64{name: st.number}}
		count++
	}
	return results, count, nil
}

// articleColumns are a batch of articles as the parallel arrays that the
// insert statements unnest, their byte strings packed into one bytea.
type articleColumns struct {
	mids                      []string
	blob                      packer
	header, body              spans
	subject, from, date, refs spans
	expires                   []*time.Time
	peerMIDs, peers           []string // one pair per article and peer
}

func newArticleColumns(arts []*store.NewArticle) *articleColumns {
	c := &articleColumns{mids: make([]string, len(arts)), expires: make([]*time.Time, len(arts))}
	total := 0
	for _, a := range arts {
		total += len(a.Header) + len(a.Body) + len(a.Subject) + len(a.From) + len(a.Date) + len(a.References)
	}
	c.blob.buf = make([]byte, 0, total)
	for i, a := range arts {
		c.mids[i] = a.MessageID
		c.header.add(c.blob.add(a.Header))
		c.body.add(c.blob.add(a.Body))
		c.subject.add(c.blob.addString(a.Subject))
		c.from.add(c.blob.addString(a.From))
		c.date.add(c.blob.addString(a.Date))
		c.refs.add(c.blob.addString(a.References))
		if !a.Expires.IsZero() {
			c.expires[i] = &a.Expires
		}
		for _, p := range a.Peers {
			c.peerMIDs = append(c.peerMIDs, a.MessageID)
			c.peers = append(c.peers, p)
		}
	}
	return c
}

// args are the insert statements' parameters $1-$23 (see storeCTEs).
func (c *articleColumns) args(plan *sqlutil.Plan, now time.Time, release []int64) []any {
	if release == nil {
		release = []int64{}
	}
	return []any{
		pq.StringArray(c.mids), pq.Int64Array(c.header.from), pq.Int64Array(c.header.n), pq.Int64Array(c.body.from),
		pq.Int64Array(c.body.n), pq.Int64Array(plan.Bytes), pq.Int64Array(plan.Lines), timeArray(plan.Arrived),
		nullTimeArray(c.expires), pq.Int64Array(c.subject.from), pq.Int64Array(c.subject.n),
		pq.Int64Array(c.from.from), pq.Int64Array(c.from.n), pq.Int64Array(c.date.from), pq.Int64Array(c.date.n),
		pq.Int64Array(c.refs.from), pq.Int64Array(c.refs.n), c.blob.bytes(), pq.StringArray(c.peerMIDs),
		pq.StringArray(c.peers), now, pq.Int64Array(release), changesChannel,
	}
}

// storeArticles claims the message-ids in the history (in sorted order, so
// two batches never wait on each other in a cycle), stores the articles
// that were new (the first of repeats within the batch), queues them for
// their peers, deletes the released pending posts and notifies the other
// front-ends, all in one statement. It returns the article ids by index.
func storeArticles(ctx context.Context, tx *sqlx.Tx, arts []*store.NewArticle, plan *sqlutil.Plan, release []int64, now time.Time) (map[int]int64, error) {
	var rows []struct {
		ID        int64        `db:"id"`
		MessageID string       `db:"message_id"`
		Woke      sql.NullBool `db:"woke"`
	}
	if err := tx.SelectContext(ctx, &rows, storeQuery, newArticleColumns(arts).args(plan, now, release)...); err != nil {
		return nil, err
	}
	byMID := make(map[string]int64, len(rows))
	for _, r := range rows {
		byMID[r.MessageID] = r.ID
	}
	aids := make(map[int]int64, len(rows))
	for i, a := range arts {
		if id, ok := byMID[a.MessageID]; ok {
			aids[i] = id
			delete(byMID, a.MessageID) // a repeat later in the batch is a duplicate
		}
	}
	return aids, nil
}

// numberInOne numbers a batch whose articles are all in one carried
// group: one statement takes the group's row lock, moves its high-water
// mark and inserts the overview rows (docs/storage.md's fast form).
func numberInOne(ctx context.Context, tx *sqlx.Tx, arts []*store.NewArticle, plan *sqlutil.Plan, keep []int,
	aids map[int]int64, ids map[string]int64, need map[int64]int64, results []store.InsertResult) error {
	var gid, n int64
	for id, c := range need {
		gid, n = id, c
	}
	var name string
	for g, id := range ids {
		if id == gid {
			name = g
		}
	}
	var ov overviewArrays
	var idx []int // index in arts of each overview row, in number order
	for _, i := range keep {
		if slices.Contains(plan.Groups[i], name) {
			ov.add(sqlutil.GroupNumber{GroupID: gid}, aids[i], plan.Arrived[i], arts[i], plan.Bytes[i], plan.Lines[i], "")
			idx = append(idx, i)
		}
	}
	var numbers []struct {
		Number    int64 `db:"number"`
		ArticleID int64 `db:"article_id"`
	}
	err := tx.SelectContext(ctx, &numbers, `WITH g AS (
			UPDATE groups SET high = high + $1, count = count + $1 WHERE id = $2 RETURNING high
		)
		INSERT INTO group_articles
			(group_id, number, article_id, arrived_at, subject, from_header, date, message_id, refs, bytes, lines, xref)
		SELECT $2, g.high - $1 + u.ord, u.a, u.t, u.s, u.f, u.d, u.m, u.r, u.size, u.lines,
			convert_to($3 || ':' || (g.high - $1 + u.ord), 'UTF8')
		FROM g, (SELECT a, t, substring($13::bytea FROM sf FOR sn) AS s, substring($13::bytea FROM ff FOR fn) AS f,
				substring($13::bytea FROM df FOR dn) AS d, m, substring($13::bytea FROM rf FOR rn) AS r, size, lines, ord
			FROM unnest($4::bigint[], $5::timestamptz[], $6::int[], $7::int[], $8::int[], $9::text[], $10::int[],
				$11::bigint[], $12::bigint[], $14::int[], $15::int[], $16::int[], $17::int[])
				WITH ORDINALITY AS u(a, t, sf, ff, df, m, rf, size, lines, sn, fn, dn, rn, ord)) AS u
		RETURNING number, article_id`,
		n, gid, name, pq.Int64Array(ov.article), timeArray(ov.arrived), pq.Int64Array(ov.subject.from),
		pq.Int64Array(ov.from.from), pq.Int64Array(ov.date.from), pq.StringArray(ov.mid), pq.Int64Array(ov.refs.from),
		pq.Int64Array(ov.bytes), pq.Int64Array(ov.lines), ov.blob.bytes(),
		pq.Int64Array(ov.subject.n), pq.Int64Array(ov.from.n), pq.Int64Array(ov.date.n), pq.Int64Array(ov.refs.n))
	if err != nil {
		return err
	}
	if len(numbers) != len(idx) {
		return fmt.Errorf("numbered %d of %d articles in %s", len(numbers), len(idx), name)
	}
	byArticle := make(map[int64]int64, len(numbers))
	for _, r := range numbers {
		byArticle[r.ArticleID] = r.Number
	}
	for _, i := range idx {
		results[i].Numbers[name] = byArticle[aids[i]]
	}
	return nil
}

// numberInMany numbers a batch that touches several groups: their row
// locks are taken in id order, one UPDATE each, then the numbers and Xref
// values are computed here and the overview rows inserted in one statement.
func numberInMany(ctx context.Context, tx *sqlx.Tx, arts []*store.NewArticle, plan *sqlutil.Plan, keep []int,
	aids map[int]int64, ids map[string]int64, need map[int64]int64, results []store.InsertResult) error {
	numbering, err := sqlutil.Reserve(ctx, tx, need)
	if err != nil {
		return err
	}
	var ov overviewArrays
	for _, i := range keep {
		numbers, byID, xref := numbering.Take(plan.Groups[i], ids)
		for _, gn := range byID {
			ov.add(gn, aids[i], plan.Arrived[i], arts[i], plan.Bytes[i], plan.Lines[i], xref)
		}
		results[i].Numbers = numbers
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO group_articles
		(group_id, number, article_id, arrived_at, subject, from_header, date, message_id, refs, bytes, lines, xref)
		SELECT g, num, a, t, substring($13::bytea FROM sf FOR sn), substring($13::bytea FROM ff FOR fn),
			substring($13::bytea FROM df FOR dn), m, substring($13::bytea FROM rf FOR rn), size, lines,
			substring($13::bytea FROM xf FOR xn)
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::int[], $6::int[],
			$7::int[], $8::text[], $9::int[], $10::bigint[], $11::bigint[], $12::int[],
			$14::int[], $15::int[], $16::int[], $17::int[], $18::int[])
			AS u(g, num, a, t, sf, ff, df, m, rf, size, lines, xf, sn, fn, dn, rn, xn)`,
		pq.Int64Array(ov.group), pq.Int64Array(ov.number), pq.Int64Array(ov.article), timeArray(ov.arrived),
		pq.Int64Array(ov.subject.from), pq.Int64Array(ov.from.from), pq.Int64Array(ov.date.from), pq.StringArray(ov.mid),
		pq.Int64Array(ov.refs.from), pq.Int64Array(ov.bytes), pq.Int64Array(ov.lines), pq.Int64Array(ov.xref.from),
		ov.blob.bytes(), pq.Int64Array(ov.subject.n), pq.Int64Array(ov.from.n), pq.Int64Array(ov.date.n),
		pq.Int64Array(ov.refs.n), pq.Int64Array(ov.xref.n))
	return err
}

// overviewArrays collects the columns of group_articles rows for unnest;
// the header fields (bytes, often not UTF-8) go in one packed bytea.
type overviewArrays struct {
	group, number, article, bytes, lines []int64
	arrived                              []time.Time
	mid                                  []string
	blob                                 packer
	subject, from, date, refs, xref      spans
}

func (o *overviewArrays) add(gn sqlutil.GroupNumber, aid int64, arrived time.Time, a *store.NewArticle, size, lines int64, xref string) {
	o.group = append(o.group, gn.GroupID)
	o.number = append(o.number, gn.Number)
	o.article = append(o.article, aid)
	o.arrived = append(o.arrived, arrived)
	o.subject.add(o.blob.addString(a.Subject))
	o.from.add(o.blob.addString(a.From))
	o.date.add(o.blob.addString(a.Date))
	o.mid = append(o.mid, a.MessageID)
	o.refs.add(o.blob.addString(a.References))
	o.bytes = append(o.bytes, size)
	o.lines = append(o.lines, lines)
	o.xref.add(o.blob.addString(xref))
}

// packer concatenates byte strings into one bytea parameter that the
// statements cut apart with substring(blob FROM from FOR n). lib/pq sends
// a bytea[] as hex text inside an array literal, which PostgreSQL parses
// several times slower than a single hex bytea of the same bytes: for a
// batch of 100 articles of 3 KB, binding storeArticles' statement took
// 4.5-7 ms with two bytea[] (as long as executing it) and 1.6 ms packed.
type packer struct{ buf []byte }

// add appends b and returns its 1-based start and its length.
func (p *packer) add(b []byte) (from, n int64) {
	from = int64(len(p.buf)) + 1
	p.buf = append(p.buf, b...)
	return from, int64(len(b))
}

func (p *packer) addString(s string) (from, n int64) {
	from = int64(len(p.buf)) + 1
	p.buf = append(p.buf, s...)
	return from, int64(len(s))
}

// bytes is the packed parameter: never nil, so never NULL.
func (p *packer) bytes() []byte { return sqlutil.NonNil(p.buf) }

// spans are the starts and lengths of one column's values in a packer.
type spans struct{ from, n []int64 }

func (s *spans) add(from, n int64) {
	s.from = append(s.from, from)
	s.n = append(s.n, n)
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// timeFormat is what PostgreSQL reads back to the microsecond.
const timeFormat = "2006-01-02 15:04:05.999999Z07:00"

// timeArray passes times as a text[] to cast to timestamptz[].
func timeArray(ts []time.Time) pq.StringArray {
	out := make(pq.StringArray, len(ts))
	for i, t := range ts {
		out[i] = t.Format(timeFormat)
	}
	return out
}

// nullTimeArray is timeArray with NULLs for nil.
func nullTimeArray(ts []*time.Time) any {
	out := make([]sql.NullString, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = sql.NullString{String: t.Format(timeFormat), Valid: true}
		}
	}
	return pq.Array(out)
}

// Seen reports which message-ids are in the history, in one prepared
// statement.
func (s *Store) Seen(ctx context.Context, messageIDs []string) (map[string]bool, error) {
	return sqlutil.Seen(messageIDs, 0, func(ids []string) ([]string, error) {
		var found []string
		return found, wrap(s.stmts.seen.SelectContext(ctx, &found, pq.StringArray(ids)))
	})
}

// Remember adds refused message-ids to the history.
func (s *Store) Remember(ctx context.Context, messageIDs []string, at time.Time) error {
	if len(messageIDs) == 0 {
		return nil
	}
	ids := slices.Clone(messageIDs)
	slices.Sort(ids) // the same lock order as Insert's claims
	_, err := s.db.ExecContext(ctx, `INSERT INTO history (message_id, status, arrived_at)
		SELECT DISTINCT m, 'refused', $2::timestamptz FROM unnest($1::text[]) AS u(m) ORDER BY 1
		ON CONFLICT (message_id) DO NOTHING`, pq.StringArray(ids), at)
	return wrap(err)
}

// Scrub rewrites the pending table (VACUUM FULL: a new file; the old
// one, with the released posts' rows, is unlinked), which a plain
// DELETE or VACUUM would leave in place until overwritten. What it
// cannot reach is listed in docs/anonymity.md: the write-ahead log and
// its archives, and the file system's freed blocks.
func (s *Store) Scrub(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `VACUUM (FULL) pending`)
	return wrap(err)
}

// Expire expires as both stores do (sqlutil.DB.Expire; the articles it
// removes are picked with SKIP LOCKED and the groups it recounts locked,
// so run it under Exclusive when several front-ends share the database),
// then rewrites the replay hashes and stamps in key order: rows sit in the
// heap in insertion order, which for them is posting order. Rows added
// since the last expiry stay in order until the next.
func (s *Store) Expire(ctx context.Context, articlesBefore, historyBefore time.Time) (store.ExpireStats, error) {
	st, err := s.DB.Expire(ctx, articlesBefore, historyBefore)
	if err != nil {
		return st, err
	}
	for _, q := range []string{`CLUSTER replay USING replay_pkey`, `CLUSTER hashcash USING hashcash_pkey`} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return st, wrap(err)
		}
	}
	return st, nil
}

// ClaimQueue leases up to limit of peer's due articles, oldest first, in
// one statement: rows another sender has locked are skipped.
func (s *Store) ClaimQueue(ctx context.Context, peer string, limit int, lease time.Duration) ([]*store.Queued, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := time.Now()
	var rows []struct {
		ArticleID int64  `db:"article_id"`
		Attempts  int    `db:"attempts"`
		MessageID string `db:"message_id"`
		Header    []byte `db:"header"`
		Body      []byte `db:"body"`
	}
	err := s.db.SelectContext(ctx, &rows, `WITH c AS (
			SELECT peer, article_id FROM feed_queue
			WHERE peer = $1 AND next_try_at <= $2
			ORDER BY next_try_at, article_id LIMIT $3
			FOR UPDATE SKIP LOCKED
		), u AS (
			UPDATE feed_queue q SET lease = $4, next_try_at = $4, attempts = q.attempts + 1
			FROM c WHERE q.peer = c.peer AND q.article_id = c.article_id
			RETURNING q.article_id, q.attempts
		)
		SELECT u.article_id, u.attempts, a.message_id, a.header, a.body
		FROM u JOIN articles a ON a.id = u.article_id ORDER BY u.article_id`,
		peer, now, limit, now.Add(lease))
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]*store.Queued, len(rows))
	for i, r := range rows {
		out[i] = &store.Queued{ArticleID: r.ArticleID, MessageID: r.MessageID, Header: sqlutil.NonNil(r.Header),
			Body: sqlutil.NonNil(r.Body), Attempts: r.Attempts}
	}
	return out, nil
}
