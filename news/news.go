// Package news is the vocabulary every part of the server shares: groups,
// overview lines, stored articles, ranges of numbers, wildmats, the rules
// for message-ids, group names and Path entries, and refusals with reason
// codes. It imports nothing of altcrypt, so the protocol layer, the stores,
// the gate, peers and the mail gateway can all speak it without speaking
// each other.
package news

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Sentinel errors of the read side. The protocol layer answers them with
// the code of the command that asked (ErrNoSuchArticle is 423 by number
// and 430 by message-id).
var (
	ErrNoSuchGroup   = errors.New("no such newsgroup")
	ErrNoSuchArticle = errors.New("no such article")
	ErrNoNextArticle = errors.New("no next article in this group")
	ErrNoPrevArticle = errors.New("no previous article in this group")
)

// Reader is the read side of the news store. Numbers are article numbers
// within a group. Errors are the sentinels above, or anything else for a
// fault.
type Reader interface {
	// Groups lists every group carried, for LIST ACTIVE, NEWSGROUPS, COUNTS
	// and ACTIVE.TIMES. The server applies wildmats itself.
	Groups(ctx context.Context) ([]Group, error)
	// Group returns one group or ErrNoSuchGroup.
	Group(ctx context.Context, name string) (Group, error)
	// Numbers lists the article numbers present in group within r, ascending.
	Numbers(ctx context.Context, group string, r Range) ([]int64, error)
	// Overview calls fn for each article of group within r, ascending.
	Overview(ctx context.Context, group string, r Range, fn func(*Overview) error) error
	// OverviewByID returns the overview of one article by message-id, with
	// Number 0, or ErrNoSuchArticle.
	OverviewByID(ctx context.Context, messageID string) (*Overview, error)
	// Article returns article number n of group, or ErrNoSuchArticle.
	Article(ctx context.Context, group string, n int64) (*Article, error)
	// ArticleByID returns an article by message-id (Number 0), or ErrNoSuchArticle.
	ArticleByID(ctx context.Context, messageID string) (*Article, error)
	// Next returns the lowest article number in group greater than n, or
	// ErrNoNextArticle.
	Next(ctx context.Context, group string, n int64) (int64, error)
	// Prev returns the highest article number in group lower than n, or
	// ErrNoPrevArticle.
	Prev(ctx context.Context, group string, n int64) (int64, error)
	// NewGroups lists groups created at or after since.
	NewGroups(ctx context.Context, since time.Time) ([]Group, error)
	// NewNews lists (message-id, group) pairs for articles that arrived at
	// or after since. A crossposted article appears once per group.
	NewNews(ctx context.Context, since time.Time) ([]NewsEntry, error)
}

// Group is one newsgroup as readers see it. An empty group has
// Low = High + 1 and Count 0.
type Group struct {
	Name        string
	Low, High   int64
	Count       int64
	Status      string // "y" posting allowed, "n" no posting, "m" moderated
	Created     time.Time
	Creator     string
	Description string
}

// Overview holds the fields of one OVER line (RFC 3977 section 8.3).
type Overview struct {
	Number     int64
	Subject    string
	From       string
	Date       string
	MessageID  string
	References string
	Bytes      int64
	Lines      int64
	// Xref is the full "Xref:" field value (server name and group:number
	// pairs), or empty.
	Xref string
}

// Article is one stored article. Header holds the header lines exactly as
// stored, each ending in CRLF, without the blank separator line; Body holds
// the body with CRLF line endings, not dot-stuffed.
type Article struct {
	Number    int64
	MessageID string
	Header    []byte
	Body      []byte
}

// NewsEntry is one answer line of NEWNEWS before wildmat filtering.
type NewsEntry struct {
	MessageID string
	Group     string
}

// Range is an inclusive range of article numbers. High < 0 means "to the
// end of the group".
type Range struct {
	Low, High int64
}

// String formats r the way the protocol writes it: "n", "n-" or "n-m".
func (r Range) String() string {
	switch {
	case r.High < 0:
		return strconv.FormatInt(r.Low, 10) + "-"
	case r.High == r.Low:
		return strconv.FormatInt(r.Low, 10)
	}
	return strconv.FormatInt(r.Low, 10) + "-" + strconv.FormatInt(r.High, 10)
}

// Empty reports whether r can hold no article.
func (r Range) Empty() bool { return r.High >= 0 && r.High < r.Low }
