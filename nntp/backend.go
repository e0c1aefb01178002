package nntp

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/altcrypt/altcrypt/news"
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

// Reader is the read side of the news store, as the protocol needs it
// (news.Reader). Errors should be the news sentinels (ErrNoSuchGroup,
// ErrNoSuchArticle, ...) or *Error; anything else is answered 403.
type Reader = news.Reader

// Session serves one connection: the read side plus its permissions.
// Optional abilities are separate interfaces (Poster, Authenticator, Transit)
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

// Transit is implemented by sessions that accept transit feeds (IHAVE, and
// CHECK/TAKETHIS in streaming mode). Return ErrDuplicate when the article is
// already known, ErrRejected (or an *Error wrapping it) when it will never be
// accepted, and ErrTryLater when the peer should retry.
type Transit interface {
	// Wanted answers IHAVE's first step and CHECK: nil means "send it".
	Wanted(ctx context.Context, messageID string) error
	// Receive stores a transit article byte for byte, returning nil only
	// once it is durably committed.
	Receive(ctx context.Context, messageID string, article []byte) error
}

// The protocol's nouns are the shared vocabulary of package news.
type (
	Group     = news.Group
	Overview  = news.Overview
	Article   = news.Article
	NewsEntry = news.NewsEntry
	Range     = news.Range
)
