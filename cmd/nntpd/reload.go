package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
)

// reloader re-reads the accounts, peers and certificate files on SIGHUP.
// A file that no longer loads is refused and the old one kept, so a typo
// in a live edit never takes the server down or locks everyone out.
type reloader struct {
	o        *options
	log      *slog.Logger
	accounts *inject.Accounts // nil without --accounts
	peers    *peers.File      // nil without --peers
	cert     *atomic.Pointer[tls.Certificate]
	// feeds restarts the outgoing feeds with a new peer list; nil
	// without --peers.
	feeds *feedRunner
}

func (r *reloader) reload() {
	r.log.Info("SIGHUP: reloading the accounts, peers and certificate files")
	if r.accounts != nil {
		if a, err := inject.LoadAccounts(r.o.accounts); err != nil {
			r.log.Error("reload: the accounts file is refused; the old accounts stay in force", "flag", "--accounts", "err", err)
		} else {
			added, removed, changed := r.accounts.Replace(a)
			r.log.Info("reload: accounts", "accounts", a.Len(), "added", len(added), "removed", len(removed), "changed", len(changed))
		}
	}
	if r.peers != nil {
		if f, err := peers.Load(r.o.peers); err != nil {
			r.log.Error("reload: the peers file is refused; the old peers stay in force", "flag", "--peers", "err", err)
		} else {
			added, removed, changed := r.peers.Replace(f)
			r.log.Info("reload: peers", "peers", len(f.Peers), "added", strings.Join(added, ","),
				"removed", strings.Join(removed, ","), "changed", strings.Join(changed, ","))
			if r.feeds != nil && len(added)+len(removed)+len(changed) > 0 {
				if err := r.feeds.restart(f); err != nil {
					r.log.Error("reload: cannot restart the outgoing feeds; the old ones keep running", "err", err)
				}
			}
		}
	}
	if r.cert != nil {
		c, err := loadCert(r.o.tlsCert, r.o.tlsKey)
		switch {
		case err != nil:
			r.log.Error("reload: the certificate is refused; the old one stays in force", "err", err)
		case bytes.Equal(c.Certificate[0], r.cert.Load().Certificate[0]):
			r.log.Info("reload: certificate unchanged")
		default:
			r.cert.Store(&c)
			attrs := []any{}
			if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
				attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format("2006-01-02"))
			}
			r.log.Info("reload: new certificate in use for new connections", attrs...)
		}
	}
}

// feedRunner runs the outgoing feeds and can restart them with another
// peer list. The queue is in the store, so a restart loses nothing.
type feedRunner struct {
	ctx  context.Context
	base outfeed.Config

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	m      *outfeed.Manager // the running feeds, for their counts
}

// stats returns the running feeds' counts for peer (they start again
// from zero after a reload, as counters may).
func (f *feedRunner) stats(peer string) outfeed.PeerStats {
	f.mu.Lock()
	m := f.m
	f.mu.Unlock()
	if m == nil {
		return outfeed.PeerStats{}
	}
	return m.Stats(peer)
}

func (f *feedRunner) start(m *outfeed.Manager) {
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	f.cancel, f.done, f.m = cancel, done, m
}

// restart replaces the running feeds by feeds to pf's peers.
func (f *feedRunner) restart(pf *peers.File) error {
	cfg := f.base
	cfg.Peers = pf.Peers
	m, err := outfeed.New(cfg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopLocked()
	f.start(m)
	return nil
}

func (f *feedRunner) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopLocked()
}

func (f *feedRunner) stopLocked() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}
