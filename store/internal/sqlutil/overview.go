package sqlutil

import (
	"context"
	"math"

	"github.com/jmoiron/sqlx"

	"github.com/altcrypt/altcrypt/news"
)

// Bounds turns a Range into inclusive SQL bounds; ok is false for an
// empty range.
func Bounds(r news.Range) (lo, hi int64, ok bool) {
	lo, hi = r.Low, r.High
	if hi < 0 {
		hi = math.MaxInt64
	}
	if lo < 1 {
		lo = 1
	}
	return lo, hi, lo <= hi
}

// OverviewPage bounds how many rows one query reads, so that a slow fn (a
// slow client) never holds a connection or a read transaction for long.
const OverviewPage = 1000

// OverviewCols are the group_articles columns an OverviewRow scans.
const OverviewCols = `number, subject, from_header, date, message_id, refs, bytes, lines, xref`

// OverviewRow is one row of overview columns, as both stores keep them.
type OverviewRow struct {
	Number     int64  `db:"number"`
	Subject    string `db:"subject"`
	From       string `db:"from_header"`
	Date       string `db:"date"`
	MessageID  string `db:"message_id"`
	References string `db:"refs"`
	Bytes      int64  `db:"bytes"`
	Lines      int64  `db:"lines"`
	Xref       string `db:"xref"`
}

// Overview converts the row.
func (o *OverviewRow) Overview() *news.Overview {
	return &news.Overview{Number: o.Number, Subject: o.Subject, From: o.From, Date: o.Date,
		MessageID: o.MessageID, References: o.References, Bytes: o.Bytes, Lines: o.Lines, Xref: o.Xref}
}

// OverviewPages calls fn for every overview row of group gid numbered lo
// to hi, reading OverviewPage rows per query. query selects OverviewCols
// for (group id, low, high, limit) in the store's placeholder style.
// Database errors pass through wrap; fn's errors are returned as they are.
func OverviewPages(ctx context.Context, q sqlx.QueryerContext, query string, gid, lo, hi int64,
	fn func(*news.Overview) error, wrap func(error) error) error {
	for {
		var page []OverviewRow
		if err := sqlx.SelectContext(ctx, q, &page, query, gid, lo, hi, OverviewPage); err != nil {
			return wrap(err)
		}
		for i := range page {
			if err := fn(page[i].Overview()); err != nil {
				return err
			}
		}
		if len(page) < OverviewPage {
			return nil
		}
		lo = page[len(page)-1].Number + 1
	}
}
