// Package outfeed sends stored articles to the peers we feed. Each peer with
// a send-to address gets its own set of connections; each connection
// claims queued articles from the store (store.ClaimQueue, a lease, so
// that several connections and several front-ends never send the same
// article at once), offers them with CHECK/TAKETHIS when the peer streams
// (RFC 4644) or IHAVE otherwise, and removes them from the queue only when
// the peer has answered for them. An article the peer did not acknowledge
// (a connection lost, 400, a crash) stays queued and is sent again: nothing
// is lost, and nothing acknowledged is sent twice.
//
// We relay byte for byte, except that our name is prepended to Path on the
// wire (RFC 5537 section 3.2); the stored article is never changed.
package outfeed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/altcrypt/altcrypt/internal/pause"
	"github.com/altcrypt/altcrypt/internal/unset"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
)

// Defaults of Config.
const (
	DefaultWindow       = 64
	DefaultLease        = 2 * time.Minute
	DefaultPollInterval = 2 * time.Second
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 5 * time.Minute
	DefaultIdleClose    = 30 * time.Second
	DefaultTimeout      = time.Minute
)

// Config configures a Manager. Store and PathName are required.
type Config struct {
	Store store.Queue
	// Peers lists the peers to feed (those without send-to are ignored).
	Peers []*peers.Peer
	// PathName is our Path entry, prepended when relaying.
	PathName string
	// Window is how many articles one connection has in flight (one
	// CHECK batch, then its TAKETHIS batch).
	Window int
	// Lease hides claimed articles from other senders while one is
	// sending them; after a crash they come back when it passes.
	Lease time.Duration
	// PollInterval bounds how long queued articles (retries that fell
	// due, rows from another front-end) wait without a wake-up.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// a failure (doubling, with jitter) and before retrying an article
	// the peer deferred.
	MinBackoff, MaxBackoff time.Duration
	// IdleClose closes a connection that had nothing to send that long.
	IdleClose time.Duration
	// Timeout bounds each command; DialTimeout connecting.
	Timeout, DialTimeout time.Duration
	// TLSConfig is used for peers with "tls: yes" (implicit TLS, NNTPS);
	// nil means the system roots and the send-to host name.
	TLSConfig *tls.Config
	Logger    *slog.Logger
}

// PeerStats counts what was done for one peer.
type PeerStats struct {
	Offered   int64 // CHECK or IHAVE (or TAKETHIS without CHECK)
	Sent      int64 // accepted: 235, 239
	Refused   int64 // had it or refused it: 435, 437, 438, 439
	Deferred  int64 // 431, 436: retried later
	Failures  int64 // connection or protocol failures
	Connects  int64
	Streaming bool // the last connection streams
}

// Manager runs the senders of all peers.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	stats map[string]*PeerStats
	wakes []chan struct{}
}

// New checks cfg and returns a Manager; Run starts it.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.PathName == "" {
		return nil, errors.New("feed: Config needs Store and PathName")
	}
	cfg.Window = unset.Or(cfg.Window, DefaultWindow)
	cfg.Lease = unset.Or(cfg.Lease, DefaultLease)
	cfg.PollInterval = unset.Or(cfg.PollInterval, DefaultPollInterval)
	cfg.MinBackoff = unset.Or(cfg.MinBackoff, DefaultMinBackoff)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	cfg.IdleClose = unset.Or(cfg.IdleClose, DefaultIdleClose)
	cfg.Timeout = unset.Or(cfg.Timeout, DefaultTimeout)
	cfg.DialTimeout = unset.Or(cfg.DialTimeout, 30*time.Second)
	m := &Manager{cfg: cfg, log: cfg.Logger, stats: map[string]*PeerStats{}}
	if m.log == nil {
		m.log = slog.Default()
	}
	for _, p := range cfg.Peers {
		if p.Sends() {
			m.stats[p.Name] = &PeerStats{}
		}
	}
	return m, nil
}

// Stats returns a copy of the counters of peer.
func (m *Manager) Stats(peer string) PeerStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.stats[peer]; s != nil {
		return *s
	}
	return PeerStats{}
}

func (m *Manager) count(peer string, fn func(*PeerStats)) {
	m.mu.Lock()
	if s := m.stats[peer]; s != nil {
		fn(s)
	}
	m.mu.Unlock()
}

// Run feeds every peer until ctx is cancelled, then finishes the batches
// in flight (bounded by Timeout), puts back what was not acknowledged and
// returns.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range m.cfg.Peers {
		if !p.Sends() {
			continue
		}
		for i := 0; i < p.Connections; i++ {
			w := make(chan struct{}, 1)
			m.mu.Lock()
			m.wakes = append(m.wakes, w)
			m.mu.Unlock()
			s := &sender{m: m, peer: p, wake: w, log: m.log.With("peer", p.Name, "conn", i)}
			wg.Add(1)
			go func() { defer wg.Done(); s.run(ctx) }()
		}
	}
	// One reader of Changes fans the wake-up out to every connection.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.cfg.Store.Changes():
				m.Wake()
			}
		}
	}()
	wg.Wait()
	return nil
}

// Wake tells every sender to look at its queue now.
func (m *Manager) Wake() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// sender is one connection to one peer.
type sender struct {
	m    *Manager
	peer *peers.Peer
	wake chan struct{}
	log  *slog.Logger

	c         *nntp.Client
	streaming bool
	noCheck   bool // TAKETHIS without CHECK: the peer wants nearly all
	recent    []bool
	failures  int
	idleSince time.Time
	recorded  time.Time   // last success noted in the store
	noting    atomic.Bool // a note to the store is in flight
}

func (s *sender) run(ctx context.Context) {
	defer s.disconnect()
	for ctx.Err() == nil {
		if s.failures > 0 {
			if !pause.For(ctx, backoff(s.m.cfg.MinBackoff, s.m.cfg.MaxBackoff, s.failures)) {
				return
			}
		}
		if s.c == nil {
			if err := s.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.failed("feed: peer unreachable; retrying with backoff", err)
				continue
			}
		}
		n, err := s.batch(ctx)
		if err != nil {
			s.failed("feed: sending failed; reconnecting", err)
			s.disconnect()
			continue
		}
		s.failures = 0
		if n > 0 {
			s.succeeded()
			s.idleSince = time.Time{}
			continue
		}
		// Nothing to send: wait for a wake-up or the poll interval.
		if s.idleSince.IsZero() {
			s.idleSince = time.Now()
		} else if s.c != nil && time.Since(s.idleSince) > s.m.cfg.IdleClose {
			s.log.Info("feed: idle; disconnected", "idle", s.m.cfg.IdleClose.String())
			s.quit()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(s.m.cfg.PollInterval):
		}
	}
}

func (s *sender) connect(ctx context.Context) error {
	cfg := s.m.cfg
	opts := &nntp.ClientOptions{DialTimeout: cfg.DialTimeout, Timeout: cfg.Timeout}
	var c *nntp.Client
	var err error
	if s.peer.TLS {
		tc := cfg.TLSConfig
		if tc == nil {
			host, _, _ := net.SplitHostPort(s.peer.SendTo)
			tc = &tls.Config{ServerName: host}
		}
		opts.TLSConfig = tc
		c, err = nntp.DialTLS(ctx, s.peer.SendTo, opts)
	} else {
		c, err = nntp.Dial(ctx, s.peer.SendTo, opts)
	}
	if err != nil {
		return err
	}
	if s.peer.User != "" {
		if err := c.AuthInfo(ctx, s.peer.User, s.peer.Password); err != nil {
			c.Close()
			return fmt.Errorf("AUTHINFO: %w", err)
		}
	}
	s.streaming = false
	if s.peer.Streaming {
		err := c.ModeStream(ctx)
		var ne *nntp.Error
		switch {
		case err == nil:
			s.streaming = true
		case errors.As(err, &ne):
			// 500/501/502: no streaming here; IHAVE it is.
		default:
			c.Close()
			return fmt.Errorf("MODE STREAM: %w", err)
		}
	}
	s.c = c
	s.recent, s.noCheck = s.recent[:0], false
	s.m.count(s.peer.Name, func(p *PeerStats) { p.Connects++; p.Streaming = s.streaming })
	mode := "ihave"
	if s.streaming {
		mode = "streaming"
	}
	s.log.Info("feed: connected", "mode", mode, "after_failures", s.failures)
	return nil
}

// recordEvery bounds how often a busy sender notes its successes in the
// store (for nntpd peers): a write per batch would cost more than it says.
const recordEvery = 10 * time.Second

// failed counts a connection or protocol failure, logs it when the peer
// goes from working to failing (later failures in a row are debug: the
// backoff keeps retrying) and notes it in the store.
func (s *sender) failed(msg string, err error) {
	s.failures++
	s.m.count(s.peer.Name, func(p *PeerStats) { p.Failures++ })
	if s.failures == 1 {
		s.log.Warn(msg, "err", err)
	} else {
		s.log.Debug(msg, "err", err, "failures", s.failures)
	}
	s.notePeer(err.Error())
}

// succeeded notes, at most every recordEvery, that articles went out.
func (s *sender) succeeded() {
	if time.Since(s.recorded) < recordEvery {
		return
	}
	s.recorded = time.Now()
	s.notePeer("")
}

// notePeer records an outcome in the store (store.RecordPeer) off the
// sending path: a slow or unreachable database must not hold up the feed,
// so at most one note per sender is in flight, for at most 5 s, and a
// note that would queue behind it is dropped (the next one says the same).
func (s *sender) notePeer(errMsg string) {
	if !s.noting.CompareAndSwap(false, true) {
		return
	}
	at := time.Now()
	go func() {
		defer s.noting.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.m.cfg.Store.RecordPeer(ctx, s.peer.Name, at, errMsg); err != nil {
			s.log.Debug("feed: cannot note the peer's state in the store", "err", err)
		}
	}()
}

func (s *sender) disconnect() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

func (s *sender) quit() {
	if s.c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.c.Quit(ctx)
		cancel()
		s.c = nil
	}
}

// outcome of one article.
type outcome int

const (
	pending  outcome = iota // no answer: put back at once
	accepted                // 235, 239: ack
	refused                 // 435, 437, 438, 439: ack
	deferred                // 431, 436: retry after a backoff
)

// batch claims up to Window articles and offers them. It returns how many
// it claimed; an error means the connection is unusable (the articles
// without an answer have been put back).
func (s *sender) batch(ctx context.Context) (int, error) {
	cfg := s.m.cfg
	// Claim with a context of its own: a shutdown must not leave a claim
	// half-made (the lease would hide the rows until it passed).
	cctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	q, err := cfg.Store.ClaimQueue(cctx, s.peer.Name, cfg.Window, cfg.Lease)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil
		}
		// The store is down: not the peer's fault; wait and try again.
		s.log.Warn("feed: cannot read the queue", "err", err)
		pause.For(ctx, cfg.MinBackoff)
		return 0, nil
	}
	if len(q) == 0 {
		return 0, nil
	}
	out := make([]outcome, len(q))
	// The batch in flight finishes even if ctx is cancelled meanwhile
	// (bounded by Timeout), so that answered articles are acknowledged.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if s.streaming {
		err = s.stream(sctx, q, out)
	} else {
		err = s.ihave(sctx, q, out)
	}
	s.settle(q, out)
	return len(q), err
}

// settle acknowledges, defers and puts back the articles of a batch.
func (s *sender) settle(q []*store.Queued, out []outcome) {
	cfg := s.m.cfg
	var ack, now []int64
	later := map[time.Duration][]int64{}
	var sent, ref, def int64
	for i, a := range q {
		switch out[i] {
		case accepted:
			ack = append(ack, a.ArticleID)
			sent++
		case refused:
			ack = append(ack, a.ArticleID)
			ref++
		case deferred:
			d := backoff(cfg.MinBackoff, cfg.MaxBackoff, a.Attempts)
			later[d] = append(later[d], a.ArticleID)
			def++
		default:
			now = append(now, a.ArticleID)
		}
	}
	s.m.count(s.peer.Name, func(p *PeerStats) { p.Sent += sent; p.Refused += ref; p.Deferred += def })
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	// If these fail (store down), the lease runs out and the articles
	// come back by themselves: the acknowledged ones are then offered
	// again and the peer answers "have it". Nothing is lost.
	if len(ack) > 0 {
		if err := cfg.Store.AckQueue(ctx, s.peer.Name, ack); err != nil {
			s.log.Warn("feed: cannot acknowledge", "articles", len(ack), "err", err)
		}
	}
	t := time.Now()
	if len(now) > 0 {
		if err := cfg.Store.RetryQueue(ctx, s.peer.Name, now, t); err != nil {
			s.log.Warn("feed: cannot put back", "articles", len(now), "err", err)
		}
	}
	for d, ids := range later {
		if err := cfg.Store.RetryQueue(ctx, s.peer.Name, ids, t.Add(d)); err != nil {
			s.log.Warn("feed: cannot defer", "articles", len(ids), "err", err)
		}
	}
}

// wire returns the article as we send it: our name prepended to Path.
func (s *sender) wire(a *store.Queued) []byte {
	return news.RelayBytes(a.Header, a.Body, s.m.cfg.PathName)
}

func (s *sender) ihave(ctx context.Context, q []*store.Queued, out []outcome) error {
	for i, a := range q {
		s.m.count(s.peer.Name, func(p *PeerStats) { p.Offered++ })
		err := s.c.IHave(ctx, a.MessageID, s.wire(a))
		if err == nil {
			out[i] = accepted
			continue
		}
		var ne *nntp.Error
		if !errors.As(err, &ne) {
			return err
		}
		switch ne.Code {
		case 435, 437:
			out[i] = refused
		case 436:
			out[i] = deferred
		default:
			return fmt.Errorf("IHAVE %s: %w", a.MessageID, err)
		}
	}
	return nil
}

func (s *sender) stream(ctx context.Context, q []*store.Queued, out []outcome) error {
	send := make([]int, 0, len(q)) // indexes to TAKETHIS
	noCheck := s.noCheck           // note may switch modes mid-batch
	if noCheck {
		for i := range q {
			send = append(send, i)
		}
	} else {
		cmds := make([]nntp.StreamCommand, len(q))
		for i, a := range q {
			cmds[i] = nntp.StreamCommand{MessageID: a.MessageID}
		}
		s.m.count(s.peer.Name, func(p *PeerStats) { p.Offered += int64(len(q)) })
		res, err := s.c.Stream(ctx, cmds)
		for i, r := range res {
			switch r.Code {
			case 238:
				send = append(send, i)
			case 438:
				out[i] = refused
			case 431:
				out[i] = deferred
			default:
				return fmt.Errorf("CHECK %s: %d %s", q[i].MessageID, r.Code, r.Msg)
			}
			s.note(r.Code == 238)
		}
		if err != nil {
			return err
		}
	}
	if len(send) == 0 {
		return nil
	}
	cmds := make([]nntp.StreamCommand, len(send))
	for j, i := range send {
		cmds[j] = nntp.StreamCommand{MessageID: q[i].MessageID, TakeThis: true, Article: s.wire(q[i])}
	}
	if noCheck {
		s.m.count(s.peer.Name, func(p *PeerStats) { p.Offered += int64(len(q)) })
	}
	res, err := s.c.Stream(ctx, cmds)
	for j, r := range res {
		i := send[j]
		switch r.Code {
		case 239:
			out[i] = accepted
		case 439:
			out[i] = refused
		default:
			return fmt.Errorf("TAKETHIS %s: %d %s", q[i].MessageID, r.Code, r.Msg)
		}
		if noCheck {
			s.note(r.Code == 239)
		}
	}
	return err
}

// note records whether an offer was wanted and switches between CHECK
// then TAKETHIS and TAKETHIS alone as innfeed does: alone when at least
// 95 of the last 100 offers were wanted, back to CHECK below 90.
func (s *sender) note(wanted bool) {
	s.recent = append(s.recent, wanted)
	if len(s.recent) < 100 {
		return
	}
	n := 0
	for _, w := range s.recent {
		if w {
			n++
		}
	}
	s.recent = s.recent[:0]
	switch {
	case !s.noCheck && n >= 95:
		s.noCheck = true
	case s.noCheck && n < 90:
		s.noCheck = false
	}
}

// backoff is min * 2^(n-1), capped at max, with up to 25% jitter.
func backoff(minD, maxD time.Duration, n int) time.Duration {
	d := minD
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}
