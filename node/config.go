package node

import (
	"cmp"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/transit"
)

// Defaults of Config that are the node's own. The others belong to the
// package that applies them (inject, news, armor, nntp) and Config's
// comments name them: a default is defined once, and nntpd's flags take
// theirs from the same constants.
const (
	// DefaultReleaseInterval is how often nntpd releases pending posts.
	DefaultReleaseInterval = time.Minute
	// DefaultMinBatch and DefaultMaxWait hold posts until ten wait or
	// the oldest has waited an hour, so that no post is released alone
	// at a quiet time (docs/anonymity.md).
	DefaultMinBatch = 10
	DefaultMaxWait  = time.Hour
	// DefaultMaxConnections bounds the connections of the whole server.
	DefaultMaxConnections = 1000
	// DefaultShutdownGrace is how long connections get to finish their
	// command when the node shuts down.
	DefaultShutdownGrace = 30 * time.Second
	// headerRoom is what an article may carry beyond MaxArticleSize: the
	// poster's headers, which the injecting agent then drops.
	headerRoom = 64 << 10
)

// Config is every setting of a news server, each under one name with one
// default. A zero field takes its default unless its comment says what
// zero means. Fields are grouped by what they decide.
type Config struct {
	// Name is the server's path identity in Path, Injection-Info and Xref,
	// and the name it greets with (inject.DefaultName; nntpd gives the
	// host name). Domain is the right-hand side of the Message-IDs we
	// make (Name).
	Name, Domain string
	// MailComplaintsTo, if set, is announced in Injection-Info. It names
	// the operator, never the poster.
	MailComplaintsTo string
	// Groups are the groups carried ([inject.DefaultGroup]).
	Groups []string
	// From is the one From every injected article carries
	// (inject.DefaultFrom).
	From string

	// ReleaseInterval is how often pending posts are released in a
	// shuffled batch. Zero releases each post at once, in arrival order,
	// which tells anyone watching who posted what: for tests only.
	// nntpd's default is DefaultReleaseInterval.
	ReleaseInterval time.Duration
	// MinBatch holds posts until at least this many are pending, or the
	// oldest has waited MaxWait (DefaultMinBatch, DefaultMaxWait); 1 does
	// not hold. Neither applies when ReleaseInterval is zero.
	MinBatch int
	MaxWait  time.Duration

	// Retention is how long articles are kept, posted or relayed
	// (news.DefaultRetention).
	Retention time.Duration
	// HistoryRetention is how long message-ids and body hashes are
	// remembered (news.DefaultHistoryRetention; at least Retention). It
	// is one setting for two things that are one invariant: injection's
	// memory of what it has seen (duplicates, replays) and the relay
	// door's window, which refuses an article dated before
	// now-HistoryRetention because the history may have forgotten it and
	// would take it again. A window longer than the memory lets
	// duplicates in; a shorter one refuses good articles for nothing; so
	// they are the same value.
	HistoryRetention time.Duration

	// MaxArticleSize is the largest ciphertext body accepted, by POST and
	// by relay (gate.DefaultMaxBodySize); the protocol layer allows
	// 64 KiB more for the headers.
	MaxArticleSize int
	// Policy is the ciphertext gate's policy (gate.DefaultPolicy() when
	// nil). Its MaxBodySize is replaced by MaxArticleSize.
	Policy *gate.Policy
	// MaxInjectESKs is the most session key packets a post may carry
	// (inject.DefaultMaxInjectESKs): several recipients of one message
	// are linked by it for everyone to see.
	MaxInjectESKs int
	// Hashcash, with Bits > 0, asks every POST for a stamp; nil: off.
	Hashcash *inject.Hashcash
	// Accounts may log in with AUTHINFO; nil: nobody can.
	// RequireAuthToPost refuses POST until the session logged in.
	Accounts          *inject.Accounts
	RequireAuthToPost bool

	// IdleTimeout is how long an idle connection is kept
	// (nntp.DefaultIdleTimeout; RFC 3977 asks for at least three
	// minutes).
	IdleTimeout time.Duration
	// MaxConnections bounds the connections overall and
	// MaxConnectionsPerIP those of one client address, an IPv6 /64
	// counting as one (DefaultMaxConnections,
	// nntp.DefaultMaxConnectionsPerIP); negative: no limit. Loopback is
	// not counted per address.
	MaxConnections, MaxConnectionsPerIP int
	// TLS, if set, serves ServeTLS listeners and STARTTLS on the others.
	TLS *tls.Config
	// AllowInsecureAuth allows AUTHINFO without TLS.
	AllowInsecureAuth bool
	// LogAddresses allows client addresses in logs (off: never logged).
	LogAddresses bool

	// Peers names who may feed us and whom we feed; nil: no peering (no
	// transit receiver, no outgoing feeds). Replacing its contents (as
	// SIGHUP does) changes who may feed us at once; RestartFeeds changes
	// whom we feed.
	Peers *peers.File
	// TransitPrivacy refuses relayed articles that would identify posters
	// or link recipients (all off: a relay passes on what other servers
	// injected).
	TransitPrivacy transit.Privacy

	// Observer, if set, is told about connections and responses (metrics).
	Observer nntp.Observer
	// Logger receives the node's logs (nil: none).
	Logger *slog.Logger
	// ShutdownGrace bounds how long Shutdown lets connections finish
	// their command (DefaultShutdownGrace).
	ShutdownGrace time.Duration
}

// withDefaults returns c with every zero field that has a default set to
// it.
func (c Config) withDefaults() Config {
	c.Name = cmp.Or(c.Name, inject.DefaultName)
	c.Domain = cmp.Or(c.Domain, c.Name)
	c.From = cmp.Or(c.From, inject.DefaultFrom)
	if len(c.Groups) == 0 {
		c.Groups = []string{inject.DefaultGroup}
	}
	c.MinBatch = cmp.Or(c.MinBatch, DefaultMinBatch)
	c.MaxWait = cmp.Or(c.MaxWait, DefaultMaxWait)
	c.MaxInjectESKs = cmp.Or(c.MaxInjectESKs, inject.DefaultMaxInjectESKs)
	c.Retention = cmp.Or(c.Retention, news.DefaultRetention)
	c.HistoryRetention = cmp.Or(c.HistoryRetention, news.DefaultHistoryRetention)
	c.MaxArticleSize = cmp.Or(c.MaxArticleSize, gate.DefaultMaxBodySize)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, nntp.DefaultIdleTimeout)
	c.MaxConnections = cmp.Or(c.MaxConnections, DefaultMaxConnections)
	c.MaxConnectionsPerIP = cmp.Or(c.MaxConnectionsPerIP, nntp.DefaultMaxConnectionsPerIP)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, DefaultShutdownGrace)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// policy is the gate's policy: Policy or the default, with MaxArticleSize.
func (c *Config) policy() gate.Policy {
	p := gate.DefaultPolicy()
	if c.Policy != nil {
		p = *c.Policy
	}
	p.MaxBodySize = c.MaxArticleSize
	return p
}
