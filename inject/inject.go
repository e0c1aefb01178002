// Package inject is the injecting agent (RFC 5537) for posts, and the
// session a reader's connection gets: reading goes straight to the
// store's reading role (Xref written in full), AUTHINFO to the accounts,
// IHAVE/CHECK/TAKETHIS of recognised peers to transit, POST here. A post
// passes the ciphertext gate, loses every header its sender's software
// wrote, waits durably in the store, and is released with a fresh header
// set in a shuffled batch, so neither headers nor timing tell who sent it
// (docs/anonymity.md).
package inject

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/internal/groupcommit"
	"github.com/altcrypt/altcrypt/internal/unset"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
)

// Defaults of Config.
const (
	DefaultName           = "altcrypt.invalid"
	DefaultFrom           = "Anonymous <nobody@invalid>"
	DefaultGroup          = "alt.crypt.messages"
	DefaultExpireInterval = time.Hour
	// DefaultReleaseBatch bounds the posts taken per Insert transaction.
	DefaultReleaseBatch = 1000
	// DefaultMaxInjectESKs: one recipient (or passphrase) per post.
	DefaultMaxInjectESKs = 1
	// immediateSweep is how often Run looks for stranded pending posts
	// when ReleaseInterval is 0 (Post releases its own).
	immediateSweep = 10 * time.Second
)

// Config is the server's injection and reading policy.
type Config struct {
	// Name is the server's path identity (Path, Injection-Info, Xref).
	Name string
	// Domain is the right-hand side of the Message-IDs we make; Name when empty.
	Domain string
	// From is the one From every injected article carries.
	From string
	// Groups are the groups carried; DefaultGroup when empty.
	Groups []string
	// ReleaseInterval is how often pending posts are released in a
	// shuffled batch. 0 releases each post at once (after it is durable).
	ReleaseInterval time.Duration
	// Retention is how long articles stay (news.DefaultRetention when 0).
	Retention time.Duration
	// HistoryRetention is how long message-ids and body hashes are
	// remembered (news.DefaultHistoryRetention when 0); at least Retention.
	HistoryRetention time.Duration
	// ReplayWindow is how long an identical body is refused
	// (HistoryRetention when 0).
	ReplayWindow time.Duration
	// ExpireInterval is how often expiry runs (DefaultExpireInterval when 0).
	ExpireInterval time.Duration
	// Policy is the ciphertext gate's policy.
	Policy gate.Policy
	// MaxInjectESKs is the most session key packets a post may carry
	// (DefaultMaxInjectESKs when 0): several recipients of one message
	// are linked by it for everyone to see.
	MaxInjectESKs int
	// Accounts may log in with AUTHINFO; nil means nobody can.
	Accounts *Accounts
	// RequireAuthToPost refuses POST (440) until the session logged in.
	RequireAuthToPost bool
	// MailComplaintsTo, if set, is announced in Injection-Info. It names
	// the operator, never the poster.
	MailComplaintsTo string
	// Peers names the peers that may feed us and those we feed (nil:
	// none). Released posts are queued for every peer that wants them.
	Peers *peers.File
	// Transit serves IHAVE, CHECK and TAKETHIS (a *transit.Receiver) for
	// sessions that Peers recognises by address or account; nil: no
	// transit, feeding commands are not offered.
	Transit nntp.Transit
	// Hashcash, with Bits > 0, asks every POST for a stamp; nil: off.
	Hashcash *Hashcash
	// ReleaseBatch bounds the posts released per transaction (the whole
	// pending set is shuffled first, then cut into such chunks).
	ReleaseBatch int
	// MinBatch holds pending posts until at least this many wait, or
	// until the oldest has waited MaxWait (1 and 0 when unset: no hold).
	// It does not apply when ReleaseInterval is 0.
	MinBatch int
	MaxWait  time.Duration
	Logger   *slog.Logger

	// Now and Rand replace the clock and crypto/rand.Reader in tests.
	Now  func() time.Time
	Rand io.Reader
}

// Store is the part of a store the news server uses: it reads
// (news.Reader), injects and releases posts (store.Injection) and keeps
// its groups and tables in shape (store.Upkeep); feeds and administration
// are other roles.
type Store interface {
	news.Reader
	store.Injection
	store.Upkeep
}

// Injector implements nntp.Backend on a store.
type Injector struct {
	st      Store
	cfg     Config
	log     *slog.Logger
	release *groupcommit.Group[struct{}, int]      // rounds shared by concurrent Release calls
	pending *groupcommit.Group[pendingPost, error] // group commit of injected posts
	secret  []byte                                 // keys the replay and stamp hashes (kept in the store)
}

// New checks cfg, fills in its defaults and makes sure every carried group
// exists in the store.
func New(ctx context.Context, st Store, cfg Config) (*Injector, error) {
	cfg.Name = cmp.Or(cfg.Name, DefaultName)
	cfg.Domain = cmp.Or(cfg.Domain, cfg.Name)
	cfg.From = cmp.Or(cfg.From, DefaultFrom)
	if len(cfg.Groups) == 0 {
		cfg.Groups = []string{DefaultGroup}
	}
	if cfg.ReleaseInterval < 0 {
		return nil, errors.New("inject: negative release interval")
	}
	cfg.Retention = unset.Or(cfg.Retention, news.DefaultRetention)
	cfg.HistoryRetention = unset.Or(cfg.HistoryRetention, news.DefaultHistoryRetention)
	if cfg.HistoryRetention < cfg.Retention {
		cfg.HistoryRetention = cfg.Retention
	}
	cfg.ReplayWindow = unset.Or(cfg.ReplayWindow, cfg.HistoryRetention)
	cfg.ExpireInterval = unset.Or(cfg.ExpireInterval, DefaultExpireInterval)
	cfg.ReleaseBatch = unset.Or(cfg.ReleaseBatch, DefaultReleaseBatch)
	cfg.MaxInjectESKs = unset.Or(cfg.MaxInjectESKs, DefaultMaxInjectESKs)
	cfg.MinBatch = unset.Or(cfg.MinBatch, 1)
	if cfg.MaxWait < 0 {
		return nil, errors.New("inject: negative maximum wait")
	}
	if err := cfg.checkHashcash(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if err := news.CheckPathName(cfg.Name); err != nil {
		return nil, fmt.Errorf("inject: %w", err)
	}
	if !news.ValidMessageID("<x@" + cfg.Domain + ">") {
		return nil, fmt.Errorf("inject: domain %q cannot appear in a Message-ID", cfg.Domain)
	}
	if strings.ContainsAny(cfg.From, "\r\n") || strings.ContainsAny(cfg.MailComplaintsTo, "\r\n\"\\") {
		return nil, errors.New("inject: From and MailComplaintsTo must be one line")
	}
	secret, err := st.Secret(ctx, "hash-key")
	if err != nil {
		return nil, fmt.Errorf("inject: the server secret: %w", err)
	}
	b := &Injector{st: st, cfg: cfg, log: cfg.Logger, secret: secret, pending: newPendingGroup(st)}
	b.release = newReleaseGroup(b.releaseRound)
	for _, g := range cfg.Groups {
		if _, err := news.ParseNewsgroups(g); err != nil || strings.Contains(g, ",") {
			return nil, fmt.Errorf("inject: bad group name %q", g)
		}
		if err := st.EnsureGroup(ctx, g, ""); err != nil {
			return nil, fmt.Errorf("inject: creating group %s: %w", g, err)
		}
	}
	return b, nil
}

// Config returns the configuration in use, defaults filled in.
func (b *Injector) Config() Config { return b.cfg }

// NewSession opens a session for one connection. The remote address is
// kept only to recognise feeding peers, and never logged.
func (b *Injector) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	return &Session{Reader: b.st, b: b, tls: info.TLS != nil, remote: info.RemoteAddr}, nil
}

// Run runs the release and expiry loops until ctx ends. It releases what
// is pending and expires once at start.
func (b *Injector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.loop(ctx, b.releaseEvery(), func(ctx context.Context) {
			if _, err := b.Release(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("release failed", "err", err)
			}
		})
	}()
	go func() {
		defer wg.Done()
		b.loop(ctx, b.cfg.ExpireInterval, func(ctx context.Context) {
			if err := b.Expire(ctx); err != nil && ctx.Err() == nil {
				b.log.Error("expiry failed", "err", err)
			}
		})
	}()
	wg.Wait()
	b.release.Wait()
	b.pending.Wait()
	return ctx.Err()
}

func (b *Injector) releaseEvery() time.Duration {
	if b.cfg.ReleaseInterval == 0 {
		return immediateSweep
	}
	return b.cfg.ReleaseInterval
}

// loop runs fn now and then every interval until ctx ends.
func (b *Injector) loop(ctx context.Context, every time.Duration, fn func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Expire removes articles older than Retention and history older than
// HistoryRetention, once across every front-end of the store.
func (b *Injector) Expire(ctx context.Context) error {
	now := b.cfg.Now()
	start := time.Now()
	ran, err := b.st.Exclusive(ctx, "expire", func(ctx context.Context) error {
		stats, err := b.st.Expire(ctx, now.Add(-b.cfg.Retention), now.Add(-b.cfg.HistoryRetention))
		if err != nil {
			return err
		}
		// Every run says what it did, so an operator sees expiry work
		// (and how long it takes) even when nothing was due.
		b.log.Info("expiry done", "articles_removed", stats.Articles, "history_removed", stats.History,
			"took", time.Since(start).Round(time.Millisecond).String())
		return nil
	})
	if err == nil && !ran {
		b.log.Debug("expiry skipped: another front-end is running it")
	}
	return err
}
