// Package node is the composition root of the news server: from one
// Config and a store it builds the pieces nntpd runs (the injecting
// backend, the transit receiver and outgoing feeds when there are peers,
// and the NNTP server in front of them), serves listeners, runs the
// background loops, and shuts them down in the order that loses nothing.
// cmd/nntpd and the tests that want "the server" build it here, so the
// wiring exists once.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
)

// Node is a running news server: New builds it, Serve and ServeTLS serve
// listeners, Start runs the loops, Shutdown stops everything.
type Node struct {
	cfg      Config
	srv      *nntp.Server
	injector *inject.Injector
	receiver *transit.Receiver // nil without peers
	feeds    *feeds            // nil without peers

	mu        sync.Mutex
	started   bool
	stopLoops context.CancelFunc
	loopsDone chan struct{}
	shutdown  bool
}

// New builds a node on st; ctx bounds the store work of building it
// (making sure the carried groups exist). The caller keeps st and closes
// it after Shutdown.
func New(ctx context.Context, cfg Config, st store.Store) (*Node, error) {
	cfg = cfg.withDefaults()
	policy := cfg.policy()
	n := &Node{cfg: cfg}
	var tr nntp.Transit
	if cfg.Peers != nil {
		r, err := transit.New(transit.Config{
			Store: st, PathName: cfg.Name, Peers: cfg.Peers, Armor: &policy,
			Privacy: cfg.TransitPrivacy, HistoryWindow: cfg.HistoryRetention,
			Retention: cfg.Retention, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, err
		}
		f, err := newFeeds(outfeed.Config{Store: st, Peers: cfg.Peers.Peers, PathName: cfg.Name, Logger: cfg.Logger})
		if err != nil {
			r.Close()
			return nil, err
		}
		n.receiver, n.feeds, tr = r, f, r
	}
	be, err := inject.New(ctx, st, inject.Config{
		Name:              cfg.Name,
		Domain:            cfg.Domain,
		From:              cfg.From,
		Groups:            cfg.Groups,
		ReleaseInterval:   cfg.ReleaseInterval,
		MinBatch:          cfg.MinBatch,
		MaxWait:           cfg.MaxWait,
		MaxInjectESKs:     cfg.MaxInjectESKs,
		Retention:         cfg.Retention,
		HistoryRetention:  cfg.HistoryRetention,
		Policy:            policy,
		Accounts:          cfg.Accounts,
		RequireAuthToPost: cfg.RequireAuthToPost,
		MailComplaintsTo:  cfg.MailComplaintsTo,
		Peers:             cfg.Peers,
		Transit:           tr,
		Hashcash:          cfg.Hashcash,
		Logger:            cfg.Logger,
	})
	if err != nil {
		if n.receiver != nil {
			n.receiver.Close()
		}
		return nil, err
	}
	n.injector = be
	n.srv = &nntp.Server{
		Backend:             be,
		Name:                cfg.Name,
		Logger:              cfg.Logger,
		TLSConfig:           cfg.TLS,
		AllowInsecureAuth:   cfg.AllowInsecureAuth,
		MaxArticleSize:      cfg.MaxArticleSize + headerRoom,
		IdleTimeout:         cfg.IdleTimeout,
		MaxConnections:      max(cfg.MaxConnections, 0), // nntp: 0 is no limit
		MaxConnectionsPerIP: cfg.MaxConnectionsPerIP,
		LogAddresses:        cfg.LogAddresses,
		Observer:            cfg.Observer,
	}
	return n, nil
}

// Config returns the node's settings with their defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Injector is the injecting backend (tests release posts through it).
func (n *Node) Injector() *inject.Injector { return n.injector }

// Receiver is the transit receiver, nil without peers.
func (n *Node) Receiver() *transit.Receiver { return n.receiver }

// Serve serves plain NNTP (with STARTTLS when Config.TLS is set) on l
// until Shutdown, then returns nntp.ErrServerClosed. The node closes l.
func (n *Node) Serve(l net.Listener) error { return n.srv.Serve(l) }

// ServeTLS serves NNTPS (implicit TLS; Config.TLS is required) on l.
func (n *Node) ServeTLS(l net.Listener) error {
	if n.cfg.TLS == nil {
		l.Close()
		return errors.New("node: ServeTLS needs Config.TLS")
	}
	return n.srv.ServeTLS(l)
}

// Start runs the background loops until Shutdown: timed release of
// pending posts, expiry, and the outgoing feeds. A node that is never
// started still takes and answers posts; a test then calls
// Injector().Release itself.
func (n *Node) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started || n.shutdown {
		return
	}
	n.started = true
	// The loops get a context of their own, not the caller's: they are
	// stopped by Shutdown after the connections, never before.
	ctx, cancel := context.WithCancel(context.Background())
	n.stopLoops, n.loopsDone = cancel, make(chan struct{})
	if n.feeds != nil {
		n.feeds.start(ctx)
	}
	go func() {
		defer close(n.loopsDone)
		n.injector.Run(ctx)
		if n.feeds != nil {
			n.feeds.stop()
		}
	}()
}

// Shutdown stops the node in the order that loses nothing: it stops
// accepting, lets connections finish their command for up to
// Config.ShutdownGrace (or until ctx ends) and closes them; then it stops
// the loops, letting a release in progress finish, and last the transit
// receiver, which commits what it holds. Posts answered 240 were durable
// already. The error is the connections' (a deadline passed).
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.shutdown {
		n.mu.Unlock()
		return nil
	}
	n.shutdown = true
	n.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, n.cfg.ShutdownGrace)
	defer cancel()
	err := n.srv.Shutdown(sctx)
	if n.stopLoops != nil {
		n.stopLoops()
		<-n.loopsDone
	}
	if n.receiver != nil {
		n.receiver.Close()
	}
	if err != nil {
		return fmt.Errorf("node: shutdown: %w", err)
	}
	return nil
}

// RestartFeeds replaces the running outgoing feeds by feeds to pf's peers
// (after a reload of the peers file). The queue is in the store, so a
// restart loses nothing. Without peering it does nothing.
func (n *Node) RestartFeeds(pf *peers.File) error {
	if n.feeds == nil {
		return nil
	}
	return n.feeds.restart(pf)
}

// FeedStats returns the counts of the running feed to peer (they start
// again from zero after RestartFeeds, as counters may).
func (n *Node) FeedStats(peer string) outfeed.PeerStats {
	if n.feeds == nil {
		return outfeed.PeerStats{}
	}
	return n.feeds.stats(peer)
}
