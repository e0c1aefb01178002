// Package store defines the storage of the news server as roles: the
// protocol layer reads through news.Reader; injection, incoming transit,
// outgoing feeds, upkeep and administration each take their own small
// interface (Injection, Transit, Queue, Upkeep, Admin), and Store is all
// of them. Two implementations pass the same suite (store/storetest):
// store/sqlite, the embedded default, and store/postgres, the production
// store. docs/storage.md says what each acknowledgement promises on each.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

// Store is the whole storage of one server (or of several front-ends on one
// PostgreSQL database): every role below. Only a composition root (nntpd,
// a test harness) holds a whole Store; each consumer takes the role it
// uses. All methods are safe for concurrent use. A method that returns nil
// after a write has committed it durably.
type Store interface {
	news.Reader
	Injection
	Transit
	Queue
	Upkeep
	Admin

	Close() error
}

// Injection is what injection (POST and mail) uses: it keeps posts until
// release, refuses replays and spent stamps, and releases posts as
// articles.
type Injection interface {
	// AddPending durably keeps an injected post until release. It claims
	// p.BodyHash in the replay table first and returns ErrReplay if an
	// identical body was injected after replaySince. The replay table
	// keeps the hash with the end of the UTC day of p.Received (Day), never
	// the arrival time itself, so it says nothing of posting order.
	AddPending(ctx context.Context, p *Pending, replaySince time.Time) error
	// AddPendingBatch keeps several posts in one transaction (one durable
	// commit), as AddPending would one after the other: a body hash
	// claimed by an earlier post of the batch is a replay for a later one.
	// It returns one error per post, in the order of ps: nil (the post is
	// committed and its ID set), ErrReplay, or the error that failed the
	// whole batch. An invalid post fails the whole batch; a failed batch
	// stores and claims nothing.
	AddPendingBatch(ctx context.Context, ps []*Pending, replaySince time.Time) []error
	// PendingArticles returns up to limit posts awaiting release, oldest first.
	PendingArticles(ctx context.Context, limit int) ([]*Pending, error)

	Inserter

	// SpendStamp records a hashcash stamp (the caller passes a keyed hash
	// of it), or returns ErrStampSpent. It keeps only Day(at).
	SpendStamp(ctx context.Context, stamp string, at time.Time) error

	// Secret returns the server secret named name (32 random octets made
	// on first use and kept in the store), so that every front-end on the
	// database keys its hashes alike.
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Inserter stores articles: released posts (Injection) and fed ones
// (Transit).
type Inserter interface {
	// Insert stores articles in one transaction: each claims its
	// message-id in the history (a known id gives StatusDuplicate and is
	// not stored; so does a repeat within arts), is numbered in each of its
	// groups in slice order (under the groups' row locks, so numbers commit
	// in order), and is queued for each peer in its Peers. The pending
	// posts listed in release are deleted in the same transaction. Results
	// are in the order of arts. An invalid article (a message-id that is
	// not <...> of printable ASCII, a bad group name) fails the whole call
	// and stores nothing.
	Insert(ctx context.Context, arts []*NewArticle, release []int64) ([]InsertResult, error)
}

// Transit is what incoming feeds (IHAVE, CHECK, TAKETHIS) use: the
// carried groups, the history, and Insert.
type Transit interface {
	// Groups is news.Reader's: the carried groups.
	Groups(ctx context.Context) ([]news.Group, error)

	// Seen reports which of the message-ids are in the history (stored,
	// expired or refused), for IHAVE and CHECK.
	Seen(ctx context.Context, messageIDs []string) (map[string]bool, error)
	// Remember adds message-ids to the history without an article (a
	// refused transit article, so it is not offered again).
	Remember(ctx context.Context, messageIDs []string, at time.Time) error

	Inserter
}

// Queue is what outgoing feeds use: each peer's durable queue, the
// wake-up after inserts, and the notes nntpd peers shows.
type Queue interface {
	// ClaimQueue leases up to limit queued articles for peer, oldest first,
	// skipping rows another sender holds, and hides them from other
	// claimers until lease has passed.
	ClaimQueue(ctx context.Context, peer string, limit int, lease time.Duration) ([]*Queued, error)
	// AckQueue removes articles from peer's queue (the peer took or refused them).
	AckQueue(ctx context.Context, peer string, articleIDs []int64) error
	// RetryQueue makes leased articles available again at the given time.
	RetryQueue(ctx context.Context, peer string, articleIDs []int64, at time.Time) error

	// RecordPeer notes the outcome of talking to peer at a time: a
	// success (errMsg "") or an error with its message.
	RecordPeer(ctx context.Context, peer string, at time.Time, errMsg string) error

	// Changes delivers a wake-up (never blocking; coalesced) after articles
	// are inserted, by this or another front-end on the same database.
	// Every call returns the same channel and each wake-up is received
	// once, so a process with several consumers fans it out itself. A
	// wake-up says only "look again": re-read the high-water marks.
	Changes() <-chan struct{}
}

// Upkeep is what a server does to its store on its own, at start and on
// schedule: carry its groups, expire, run a job on one front-end only.
type Upkeep interface {
	// EnsureGroup creates a group if it does not exist (idempotent); an
	// existing group keeps its numbers and creation time but takes the
	// new description. A removed group is carried again, its numbers
	// continuing.
	EnsureGroup(ctx context.Context, name, description string) error

	// Expire removes articles that arrived before articlesBefore or whose
	// Expires time has passed (their history stays), history entries,
	// replay hashes and stamps older than historyBefore (the history of an
	// article still stored stays with it), and fixes the groups'
	// low-water marks and counts (an emptied group keeps its high-water
	// mark, with low = high + 1).
	Expire(ctx context.Context, articlesBefore, historyBefore time.Time) (ExpireStats, error)

	// Exclusive runs fn only if no other front-end on the same database is
	// running the job named job; ran is false when another holds it.
	Exclusive(ctx context.Context, job string, fn func(ctx context.Context) error) (ran bool, err error)
}

// Errors a Store returns besides the news sentinels (ErrNoSuchGroup,
// ErrNoSuchArticle, ErrNoNextArticle, ErrNoPrevArticle).
var (
	// ErrReplay: a pending post's body hash was already injected within the
	// replay window.
	ErrReplay = errors.New("replay: an identical body was already posted")
	// ErrStampSpent: a hashcash stamp was already used.
	ErrStampSpent = errors.New("hashcash stamp already spent")
	// ErrUnavailable wraps failures to reach the database, so callers can
	// answer a temporary code (436/431, EX_TEMPFAIL) instead of a refusal.
	ErrUnavailable = errors.New("store unavailable")
)

// Scrubber is implemented by stores that can erase what deleted rows left
// behind (freed pages, the write-ahead log). Release calls it after each
// round, so nothing finer than the release interval survives release.
type Scrubber interface {
	Scrub(ctx context.Context) error
}

// Day is the grain at which replay hashes and spent stamps keep time: the
// end of t's UTC day. Ending the day rather than starting it keeps an
// entry at least as long as the window asks.
func Day(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	return d.Add(24 * time.Hour)
}

// Pending is an injected post awaiting release. The final header set is
// built at release time (Date and Injection-Date are the release time).
type Pending struct {
	ID        int64 // assigned by AddPending
	MessageID string
	Groups    []string
	Subject   string
	Body      []byte // canonical armor, CRLF line endings
	BodyHash  []byte // keyed hash of the ciphertext, for replay refusal
	Received  time.Time
}

// Status is the outcome of inserting one article.
type Status int

const (
	StatusStored    Status = iota + 1
	StatusDuplicate        // message-id already in history; nothing stored
)

// NewArticle is an article to store byte for byte.
type NewArticle struct {
	MessageID string
	Groups    []string // groups we carry, in Newsgroups order; unknown ones are skipped
	Header    []byte   // header lines as received, each ending in CRLF
	Body      []byte   // CRLF line endings, not dot-stuffed
	Arrived   time.Time
	Expires   time.Time
	Peers     []string // feed queue entries to create

	// Overview fields, taken from Header by the caller (any bytes, not
	// necessarily UTF-8). When Bytes is 0 the store computes Bytes and
	// Lines from Header and Body.
	Subject, From, Date, References string
	Bytes, Lines                    int64
}

// InsertResult reports what Insert did with one article.
type InsertResult struct {
	Status    Status
	ArticleID int64
	Numbers   map[string]int64 // group -> number
}

// ExpireStats counts what Expire removed.
type ExpireStats struct {
	Articles, History int64
}

// Queued is one article leased to a feed sender.
type Queued struct {
	ArticleID int64
	MessageID string
	Header    []byte
	Body      []byte
	Attempts  int // claims of this row so far, this one included
}
