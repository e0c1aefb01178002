package node

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/transit"
)

// Defaults of Config. Those the lower packages define are named again
// here, not copied, so nntpd's flags and a test's Config start from the
// same numbers as inject and transit used alone.
const (
	DefaultName             = inject.DefaultName
	DefaultFrom             = inject.DefaultFrom
	DefaultGroup            = inject.DefaultGroup
	DefaultReleaseInterval  = inject.DefaultReleaseInterval
	DefaultMaxInjectESKs    = inject.DefaultMaxInjectESKs
	DefaultRetention        = news.DefaultRetention
	DefaultHistoryRetention = news.DefaultHistoryRetention
	DefaultMaxArticleSize   = armor.DefaultMaxBodySize
	DefaultIdleTimeout      = nntp.DefaultIdleTimeout
	// DefaultMinBatch and DefaultMaxWait hold posts until ten wait or
	// the oldest has waited an hour, so that no post is released alone
	// at a quiet time (docs/anonymity.md).
	DefaultMinBatch = 10
	DefaultMaxWait  = time.Hour
	// DefaultMaxConnections bounds the connections of the whole server.
	DefaultMaxConnections = 1000
	// DefaultMaxConnectionsPerIP is the protocol layer's.
	DefaultMaxConnectionsPerIP = nntp.DefaultMaxConnectionsPerIP
	// DefaultShutdownGrace is how long connections get to finish their
	// command when the node shuts down.
	DefaultShutdownGrace = 30 * time.Second
	// headerRoom is what an article may carry beyond MaxArticleSize: the
	// poster's headers, which the injecting agent then drops.
	headerRoom = 64 << 10
)

// Config is every setting of a news server, each under one name with one
// default. A zero field takes its default (Default...) unless its comment
// says what zero means.
type Config struct {
	// Name is the server's path identity in Path, Injection-Info and Xref,
	// and the name it greets with (DefaultName; nntpd gives the host
	// name).
	Name string
	// Domain is the right-hand side of the Message-IDs we make (Name).
	Domain string
	// From is the one From every injected article carries (DefaultFrom).
	From string
	// Groups are the groups carried ([DefaultGroup]).
	Groups []string

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
	// MaxInjectESKs is the most session key packets a post may carry
	// (DefaultMaxInjectESKs): several recipients of one message are linked
	// by it for everyone to see.
	MaxInjectESKs int

	// Retention is how long articles are kept (DefaultRetention), posted
	// or relayed.
	Retention time.Duration
	// HistoryRetention is how long message-ids and body hashes are
	// remembered (DefaultHistoryRetention; at least Retention). It is one
	// setting for two things that are one invariant: injection's memory
	// of what it has seen (duplicates, replays) and the relay door's
	// window, which refuses an article dated before now-HistoryRetention
	// because the history may have forgotten it and would take it again.
	// A window longer than the memory lets duplicates in; a shorter one
	// refuses good articles for nothing, so they are the same value.
	HistoryRetention time.Duration

	// MaxArticleSize is the largest ciphertext body accepted, by POST and
	// by relay (DefaultMaxArticleSize); the protocol layer allows 64 KiB
	// more for the headers.
	MaxArticleSize int
	// Policy is the ciphertext gate's policy (gate.DefaultPolicy() when
	// nil). Its MaxBodySize is replaced by MaxArticleSize.
	Policy *gate.Policy
	// Hashcash, with Bits > 0, asks every POST for a stamp; nil: off.
	Hashcash *inject.Hashcash

	// IdleTimeout is how long an idle connection is kept
	// (DefaultIdleTimeout; RFC 3977 asks for at least three minutes).
	IdleTimeout time.Duration
	// MaxConnections bounds the connections overall and
	// MaxConnectionsPerIP those of one client address, an IPv6 /64
	// counting as one (DefaultMaxConnections, DefaultMaxConnectionsPerIP);
	// negative: no limit. Loopback is not counted per address.
	MaxConnections      int
	MaxConnectionsPerIP int
	// TLS, if set, serves ServeTLS listeners and STARTTLS on the others.
	TLS *tls.Config
	// AllowInsecureAuth allows AUTHINFO without TLS.
	AllowInsecureAuth bool
	// LogAddresses allows client addresses in logs (off: never logged).
	LogAddresses bool

	// Accounts may log in with AUTHINFO; nil: nobody can.
	Accounts *inject.Accounts
	// RequireAuthToPost refuses POST until the session logged in.
	RequireAuthToPost bool
	// MailComplaintsTo, if set, is announced in Injection-Info. It names
	// the operator, never the poster.
	MailComplaintsTo string

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
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Domain == "" {
		c.Domain = c.Name
	}
	if c.From == "" {
		c.From = DefaultFrom
	}
	if len(c.Groups) == 0 {
		c.Groups = []string{DefaultGroup}
	}
	if c.MinBatch == 0 {
		c.MinBatch = DefaultMinBatch
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxInjectESKs == 0 {
		c.MaxInjectESKs = DefaultMaxInjectESKs
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.HistoryRetention == 0 {
		c.HistoryRetention = DefaultHistoryRetention
	}
	if c.MaxArticleSize == 0 {
		c.MaxArticleSize = DefaultMaxArticleSize
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
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
