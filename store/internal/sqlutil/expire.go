package sqlutil

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/altcrypt/altcrypt/store"
)

// Expire removes old articles chunk by chunk, then old history, replay
// hashes and stamps (store.Upkeep.Expire). An article also goes once its
// Expires time has passed.
func (db *DB) Expire(ctx context.Context, articlesBefore, historyBefore time.Time) (store.ExpireStats, error) {
	var st store.ExpireStats
	now := time.Now()
	for {
		var n int
		err := WithTx(ctx, db.w, db.d.Wrap, func(tx *sqlx.Tx) error {
			var err error
			n, err = db.expireChunk(ctx, tx, articlesBefore, now)
			return err
		})
		if err != nil {
			return st, err
		}
		st.Articles += int64(n)
		if n < db.d.ExpireChunk {
			break
		}
	}
	err := WithTx(ctx, db.w, db.d.Wrap, func(tx *sqlx.Tx) error {
		hb := db.d.Time(historyBefore)
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM history WHERE arrived_at < ?
			AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.message_id = history.message_id)`), hb)
		if err != nil {
			return err
		}
		st.History, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM replay WHERE at < ?`), hb); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM hashcash WHERE at < ?`), hb)
		return err
	})
	return st, err
}

// inExec runs a statement whose one "IN (?)" takes a list.
func (db *DB) inExec(ctx context.Context, q sqlx.ExtContext, query string, args ...any) error {
	query, args, err := db.d.In(query, args...)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, q.Rebind(query), args...)
	return err
}

// inSelect is inExec for a statement that returns rows.
func (db *DB) inSelect(ctx context.Context, q sqlx.ExtContext, dest any, query string, args ...any) error {
	query, args, err := db.d.In(query, args...)
	if err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, q, dest, q.Rebind(query), args...)
}

// expireChunk removes up to ExpireChunk expired articles in tx (their
// overview and queue rows too: no foreign key cascades) and fixes the
// counts and low-water marks of their groups.
func (db *DB) expireChunk(ctx context.Context, tx *sqlx.Tx, articlesBefore, now time.Time) (int, error) {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(`SELECT id FROM articles
		WHERE arrived_at < ? OR expires_at < ? LIMIT ?`+db.d.SkipLocked),
		db.d.Time(articlesBefore), db.d.Time(now), db.d.ExpireChunk); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var gids []int64
	if err := db.inSelect(ctx, tx, &gids, `DELETE FROM group_articles WHERE article_id IN (?) RETURNING group_id`, ids); err != nil {
		return 0, err
	}
	for _, del := range []string{`DELETE FROM feed_queue WHERE article_id IN (?)`, `DELETE FROM articles WHERE id IN (?)`} {
		if err := db.inExec(ctx, tx, del, ids); err != nil {
			return 0, err
		}
	}
	removed := make(map[int64]int64)
	for _, gid := range gids {
		removed[gid]++
	}
	keys := slices.Sorted(maps.Keys(removed))
	if db.d.SkipLocked != "" {
		// Lock the groups first (id order, like Insert), so the recount
		// below sees every insert committed before it and none can slip
		// in beside it.
		if err := db.inExec(ctx, tx, `SELECT id FROM groups WHERE id IN (?) ORDER BY id FOR UPDATE`, keys); err != nil {
			return 0, err
		}
	}
	for _, gid := range keys {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE groups SET count = count - ?,
			low = COALESCE((SELECT min(number) FROM group_articles WHERE group_id = ?), high + 1)
			WHERE id = ?`), removed[gid], gid, gid); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Reserve takes the row locks of the groups in need in id order (so two
// transactions never wait on each other in a cycle, and numbers commit in
// order) and reserves need[gid] numbers in each; the Numbering it returns
// hands them out.
func Reserve(ctx context.Context, tx *sqlx.Tx, need map[int64]int64) (*Numbering, error) {
	first := make(map[int64]int64, len(need))
	for _, gid := range slices.Sorted(maps.Keys(need)) {
		var high int64
		if err := tx.GetContext(ctx, &high, tx.Rebind(`UPDATE groups SET high = high + ?, count = count + ?
			WHERE id = ? RETURNING high`), need[gid], need[gid], gid); err != nil {
			return nil, err
		}
		first[gid] = high - need[gid] + 1
	}
	return NewNumbering(first), nil
}

// Fill sets every error to err (a batch that failed as a whole).
func Fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}
