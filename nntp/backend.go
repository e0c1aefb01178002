package nntp

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Backend opens a Session for each connection. It is the only thing the
// protocol layer knows about storage and policy, in the manner of go-smtp.
type Backend interface {
	NewSession(ctx context.Context, info ConnInfo) (Session, error)
}

// ConnInfo describes the connection a session serves. RemoteAddr is given so
// that a backend can recognise feeding peers; it must not be logged unless
// the operator asked for it.
type ConnInfo struct {
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// TLS is non-nil once the connection is encrypted (NNTPS or STARTTLS).
	TLS *tls.ConnectionState
}

// Permissions say what a session may do. The server asks again after a
// successful AUTHINFO, since logging in may change them.
type Permissions struct {
	Post bool // POST is allowed (greeting 200 rather than 201)
	Feed bool // IHAVE, CHECK and TAKETHIS are allowed
}

// Reader is the read side of the news store, as the protocol needs it.
// Numbers are article numbers within a group. Errors should be the sentinel
// errors of this package (ErrNoSuchGroup, ErrNoSuchArticle, ...) or *Error;
// anything else is answered 403.
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

// Session serves one connection: the read side plus its permissions.
// Optional abilities are separate interfaces (Poster, Authenticator, Feeder)
// that a Session may also implement; the server advertises in CAPABILITIES
// only what the session implements and permits.
type Session interface {
	Reader
	Permissions() Permissions
	// Close releases the session's resources when the connection ends.
	Close() error
}

// Poster is implemented by sessions that accept POST. Post receives the
// article exactly as sent (dot-unstuffed, CRLF line endings) and returns nil
// only once the article is durably stored. A refusal is an *Error with code
// 441 (or ErrPostingFailed wrapping a reason).
type Poster interface {
	Post(ctx context.Context, article []byte) error
}

// Authenticator is implemented by sessions that support AUTHINFO USER/PASS.
// It returns nil on success or ErrAuthRejected.
type Authenticator interface {
	Authenticate(ctx context.Context, user, pass string) error
}

// AuthAvailability may be implemented by an Authenticator whose ability to
// log anyone in depends on configuration. When AuthAvailable reports false
// (no accounts configured), the server neither advertises AUTHINFO nor
// answers 480 "Authentication required", since logging in cannot help.
type AuthAvailability interface {
	AuthAvailable() bool
}

// Feeder is implemented by sessions that accept transit feeds (IHAVE, and
// CHECK/TAKETHIS in streaming mode). Return ErrDuplicate when the article is
// already known, ErrRejected (or an *Error wrapping it) when it will never be
// accepted, and ErrTryLater when the peer should retry.
type Feeder interface {
	// Wanted answers IHAVE's first step and CHECK: nil means "send it".
	Wanted(ctx context.Context, messageID string) error
	// Receive stores a transit article byte for byte, returning nil only
	// once it is durably committed.
	Receive(ctx context.Context, messageID string, article []byte) error
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
