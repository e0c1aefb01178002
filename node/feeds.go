package node

import (
	"context"
	"sync"

	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
)

// feeds runs the outgoing feeds and can restart them with another peer
// list. The queue is in the store, so a restart loses nothing.
type feeds struct {
	base outfeed.Config

	mu     sync.Mutex
	ctx    context.Context // the loops' context; nil until start
	m      *outfeed.Manager
	cancel context.CancelFunc // nil while m does not run
	done   chan struct{}
}

func newFeeds(cfg outfeed.Config) (*feeds, error) {
	m, err := outfeed.New(cfg)
	if err != nil {
		return nil, err
	}
	return &feeds{base: cfg, m: m}, nil
}

// start runs the feeds until ctx ends or stop.
func (f *feeds) start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctx = ctx
	f.runLocked()
}

func (f *feeds) runLocked() {
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	m := f.m
	go func() { m.Run(ctx); close(done) }()
	f.cancel, f.done = cancel, done
}

// stats returns the running feeds' counts for peer.
func (f *feeds) stats(peer string) outfeed.PeerStats {
	f.mu.Lock()
	m := f.m
	f.mu.Unlock()
	return m.Stats(peer)
}

// restart replaces the feeds by feeds to pf's peers, running them if the
// old ones ran.
func (f *feeds) restart(pf *peers.File) error {
	cfg := f.base
	cfg.Peers = pf.Peers
	m, err := outfeed.New(cfg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	running := f.cancel != nil
	f.stopLocked()
	f.m = m
	if running {
		f.runLocked()
	}
	return nil
}

func (f *feeds) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopLocked()
}

func (f *feeds) stopLocked() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}
