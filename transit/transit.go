// Package transit accepts articles that peers relay to us (IHAVE, CHECK and
// TAKETHIS). We are a relaying agent (RFC 5537): an article is verified and
// stored exactly as received, or refused with a reason; it is never
// rewritten. Concurrent arrivals, from the protocol's pipeline workers and
// from other connections, are committed together in one store transaction
// (group commit), and each caller is answered only once its transaction
// has committed.
package transit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/altcrypt/altcrypt/article"
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
	DefaultFutureSkew     = 24 * time.Hour
	DefaultMaxBatch       = 64
	DefaultCommitters     = 2
	DefaultMaxQueue       = 4096
	DefaultOfferTimeout   = 60 * time.Second
	DefaultCommitTimeout  = 30 * time.Second
	DefaultGroupsCacheTTL = 5 * time.Second
)

// Privacy is the relay door's privacy policy (gate.Privacy).
type Privacy = gate.Privacy

// Reason codes of the privacy policy.
const (
	CodeHostTrace         = gate.CodeHostTrace
	CodeSeveralRecipients = gate.CodeSeveralRecipients
)

// Config configures a Receiver. Store and PathName are required.
type Config struct {
	Store store.Transit
	// PathName is our Path entry; an article whose Path already holds it
	// has been here (a loop) and is refused. Also names that are ours.
	PathName string
	Aliases  []string
	// Peers gives the outgoing feeds to queue stored articles for (nil:
	// none).
	Peers *peers.File
	// Armor is the ciphertext gate's policy; nil means
	// gate.DefaultPolicy().
	Armor *gate.Policy
	// Privacy refuses articles that would identify posters or link
	// recipients (all off by default: a relay passes on what other
	// servers injected). Transit never rewrites: it refuses.
	Privacy Privacy
	// HistoryWindow: articles dated before now-HistoryWindow are refused,
	// since the history may no longer remember them. The store's history
	// must be kept at least this long. news.DefaultHistoryRetention when
	// 0: the window is the history's memory, not a setting of its own.
	HistoryWindow time.Duration
	// FutureSkew: articles dated after now+FutureSkew are refused.
	FutureSkew time.Duration
	// Retention sets NewArticle.Expires = arrival + Retention
	// (news.DefaultRetention when 0).
	Retention time.Duration
	// MaxBatch bounds the articles of one transaction; MaxQueue the
	// articles waiting for one (beyond it Receive answers try-later).
	MaxBatch, MaxQueue int
	// Committers is how many transactions may be under way at once: the
	// first commits whatever waits, the others only a full batch (MaxBatch
	// articles), when many feeds arrive faster than one transaction at a
	// time can take them. Their numbering still happens one after the
	// other, under the group's row lock.
	Committers int
	// Linger, if positive, lets the committer wait that long for more
	// articles when fewer than MaxBatch are waiting. Zero: commit what is
	// waiting as soon as the previous transaction ends (batches then grow
	// with the load by themselves).
	Linger time.Duration
	// OfferTimeout is how long a "send it" (335/238) reserves a
	// message-id against other offers.
	OfferTimeout time.Duration
	// CommitTimeout bounds one store transaction.
	CommitTimeout time.Duration
	Limits        article.Limits
	Logger        *slog.Logger
	Now           func() time.Time
}

// Stats counts what a Receiver did.
type Stats struct {
	Transactions int64 // store.Insert calls
	Stored       int64
	Duplicates   int64
	Rejected     int64
	Failed       int64 // answered try-later after a store failure
}

// Receiver verifies and stores transit articles. It implements the
// nntp.Transit methods; a session that serves a recognised peer delegates
// to it. Close it to stop its committer.
type Receiver struct {
	cfg  Config
	gate gate.Relay
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	inflight map[string]*flight
	offers   int
	stats    Stats
	groups   map[string]bool
	groupsAt time.Time
	// groupsLoad is held while the list of groups is read.
	groupsLoad sync.Mutex

	seen   *groupcommit.Group[string, bool] // history lookups, batched
	commit *groupcommit.Group[*item, error] // group commit of articles
}

// flight is a message-id offered to a peer ("send it") or being received.
type flight struct {
	deadline  time.Time // for offers: when the reservation lapses
	receiving bool
	done      chan struct{} // closed when receiving ends
	stored    bool
}

// item is one article (or one refused id to remember) waiting for the
// committer.
type item struct {
	art      *store.NewArticle // nil: remember only
	remember string
}

// New starts a Receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.Store == nil || cfg.PathName == "" {
		return nil, errors.New("transit: Config needs Store and PathName")
	}
	cfg.HistoryWindow = unset.Or(cfg.HistoryWindow, news.DefaultHistoryRetention)
	cfg.FutureSkew = unset.Or(cfg.FutureSkew, DefaultFutureSkew)
	cfg.Retention = unset.Or(cfg.Retention, news.DefaultRetention)
	cfg.MaxBatch = unset.Or(cfg.MaxBatch, DefaultMaxBatch)
	cfg.Committers = unset.Or(cfg.Committers, DefaultCommitters)
	cfg.MaxQueue = unset.Or(cfg.MaxQueue, DefaultMaxQueue)
	cfg.OfferTimeout = unset.Or(cfg.OfferTimeout, DefaultOfferTimeout)
	cfg.CommitTimeout = unset.Or(cfg.CommitTimeout, DefaultCommitTimeout)
	r := &Receiver{
		cfg: cfg,
		gate: gate.Relay{
			Limits:        cfg.Limits,
			Policy:        gate.DefaultPolicy(),
			PathNames:     append([]string{cfg.PathName}, cfg.Aliases...),
			HistoryWindow: cfg.HistoryWindow,
			FutureSkew:    cfg.FutureSkew,
			Privacy:       cfg.Privacy,
		},
		log:      cfg.Logger,
		now:      cfg.Now,
		inflight: map[string]*flight{},
	}
	if cfg.Armor != nil {
		r.gate.Policy = *cfg.Armor
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.seen = newSeenGroup(cfg.Store, cfg.MaxBatch*4)
	r.commit = groupcommit.New(groupcommit.Config[*item, error]{
		Commit:     r.commitBatch,
		Split:      func(err error) bool { return !errors.Is(err, store.ErrUnavailable) },
		MaxBatch:   cfg.MaxBatch,
		MaxQueue:   cfg.MaxQueue,
		Committers: cfg.Committers,
		Linger:     cfg.Linger,
		Timeout:    cfg.CommitTimeout,
	})
	return r, nil
}

// Close stops accepting articles, commits what is waiting and stops.
func (r *Receiver) Close() error {
	r.commit.Close()
	r.seen.Wait()
	return nil
}

// Stats returns the counters so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Wanted answers IHAVE's first stage and CHECK: nil means "send it".
// Known ids (stored, expired or refused) give nntp.ErrDuplicate; an id
// that another connection was just told to send, or is sending, gives
// nntp.ErrTryLater so that exactly one peer sends it.
func (r *Receiver) Wanted(ctx context.Context, messageID string) error {
	if err := news.CheckMessageID(messageID); err != nil {
		return fmt.Errorf("%w: %v", nntp.ErrDuplicate, err)
	}
	now := r.now()
	r.mu.Lock()
	if f, ok := r.inflight[messageID]; ok && (f.receiving || now.Before(f.deadline)) {
		r.mu.Unlock()
		return nntp.ErrTryLater
	}
	f := &flight{deadline: now.Add(r.cfg.OfferTimeout)}
	r.inflight[messageID] = f
	if r.offers++; r.offers%1024 == 0 {
		r.sweepOffers(now)
	}
	r.mu.Unlock()

	seen, err := r.seen.Do(ctx, messageID)
	if err != nil || seen {
		r.mu.Lock()
		if r.inflight[messageID] == f {
			delete(r.inflight, messageID)
		}
		r.mu.Unlock()
	}
	if err != nil {
		r.log.Warn("transit: history lookup failed", "err", err)
		return fmt.Errorf("%w: %v", nntp.ErrTryLater, err)
	}
	if seen {
		return nntp.ErrDuplicate
	}
	return nil
}

// sweepOffers forgets offers whose peer never sent the article.
func (r *Receiver) sweepOffers(now time.Time) {
	for id, f := range r.inflight {
		if !f.receiving && !now.Before(f.deadline) {
			delete(r.inflight, id)
		}
	}
}

// Receive verifies and stores one transit article (the whole article,
// header and body, CRLF line endings, not dot-stuffed). It returns nil
// only once the article is committed; nntp.ErrDuplicate if the id is
// known; an error wrapping nntp.ErrRejected, with the reason, if the
// article will never be accepted (the id is then remembered); and
// nntp.ErrTryLater on temporary trouble.
func (r *Receiver) Receive(ctx context.Context, messageID string, raw []byte) error {
	// One receipt per id at a time: a second one waits for the first.
	r.mu.Lock()
	if f, ok := r.inflight[messageID]; ok && f.receiving {
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.stored {
			return nntp.ErrDuplicate
		}
		return nntp.ErrTryLater
	}
	f := &flight{receiving: true, done: make(chan struct{})}
	r.inflight[messageID] = f
	r.mu.Unlock()

	err := r.receive(ctx, messageID, raw)

	r.mu.Lock()
	f.stored = err == nil || errors.Is(err, nntp.ErrDuplicate)
	if r.inflight[messageID] == f {
		delete(r.inflight, messageID)
	}
	r.mu.Unlock()
	close(f.done)
	return err
}

func (r *Receiver) receive(ctx context.Context, messageID string, raw []byte) error {
	na, err := r.verify(ctx, messageID, raw)
	var rej *rejection
	if err != nil && !errors.As(err, &rej) {
		r.log.Warn("transit: cannot check an article now", "err", err)
		return fmt.Errorf("%w: %v", nntp.ErrTryLater, err)
	}
	if rej != nil {
		r.log.Info("transit: article refused", "message_id", messageID, "reason", rej.Error())
		r.count(func(s *Stats) { s.Rejected++ })
		// Remember the id so the article is not offered again. A failure
		// here does not change the answer: the article is refused anyway.
		if news.ValidMessageID(messageID) {
			if err := r.enqueue(ctx, &item{remember: messageID}); err != nil {
				r.log.Warn("transit: could not remember a refused id", "err", err)
			}
		}
		return rej
	}
	return r.enqueue(ctx, &item{art: na})
}

// rejection is an article we will never take: a gate refusal that also
// wraps nntp.ErrRejected, which the protocol layer answers 437/439.
type rejection struct{ *news.Refusal }

func (e *rejection) Unwrap() []error { return []error{nntp.ErrRejected, e.Refusal} }

// Reason returns the short reason code of a refusal made by Receive
// ("path-loop", "too-old", an armor or article code...), or "".
func Reason(err error) string {
	var rj *rejection
	if errors.As(err, &rj) {
		return rj.Code
	}
	return ""
}

// verify checks an article with the gate's relay policy and builds what
// to store, or says why not. A *rejection is final; any other error is
// temporary.
func (r *Receiver) verify(ctx context.Context, messageID string, raw []byte) (*store.NewArticle, error) {
	now := r.now()
	rl, err := r.gate.Check(raw, messageID, now, func(all []string) ([]string, error) { return r.carried(ctx, all) })
	if err != nil {
		var ref *news.Refusal
		if errors.As(err, &ref) {
			return nil, &rejection{ref}
		}
		return nil, err // cannot tell which groups we carry: retry later
	}
	a := rl.Article
	ov := a.Overview()
	na := &store.NewArticle{
		MessageID:  messageID,
		Groups:     rl.Carried,
		Header:     a.Header,
		Body:       a.Body,
		Arrived:    now,
		Expires:    now.Add(r.cfg.Retention),
		Subject:    ov.Subject,
		From:       ov.From,
		Date:       ov.Date,
		References: ov.References,
		Bytes:      ov.Bytes,
		Lines:      ov.Lines,
	}
	if r.cfg.Peers != nil {
		path := a.Get("Path")
		for _, p := range r.cfg.Peers.Senders() {
			if p.Wants(rl.Groups, path) {
				na.Peers = append(na.Peers, p.Name)
			}
		}
	}
	return na, nil
}

// carried returns the groups of all that we carry, in order. The list of
// groups is cached: a stale list still serves while one caller re-reads
// it (the others do not wait, and do not each query the store), and it is
// re-read at once when nothing matches, so a group created a moment ago
// is seen.
func (r *Receiver) carried(ctx context.Context, all []string) ([]string, error) {
	pick := func(groups map[string]bool) []string {
		var out []string
		for _, g := range all {
			if groups[g] {
				out = append(out, g)
			}
		}
		return out
	}
	r.mu.Lock()
	groups, at := r.groups, r.groupsAt
	r.mu.Unlock()
	age := r.now().Sub(at)
	if groups != nil {
		out := pick(groups)
		if len(out) > 0 {
			if age > DefaultGroupsCacheTTL && r.groupsLoad.TryLock() {
				if _, err := r.loadGroups(ctx); err != nil {
					r.log.Warn("transit: cannot re-read the groups; using the list read before", "err", err)
				}
				r.groupsLoad.Unlock()
			}
			return out, nil
		}
		if age < 100*time.Millisecond {
			return nil, nil
		}
	}
	// Nothing cached, or nothing carried: read the list now, one caller at
	// a time; a caller that waited uses what the one before it read.
	r.groupsLoad.Lock()
	defer r.groupsLoad.Unlock()
	r.mu.Lock()
	groups, fresh := r.groups, r.groupsAt.After(at)
	r.mu.Unlock()
	if !fresh {
		var err error
		if groups, err = r.loadGroups(ctx); err != nil {
			return nil, err
		}
	}
	return pick(groups), nil
}

// loadGroups reads the list of groups into the cache. The caller holds
// groupsLoad.
func (r *Receiver) loadGroups(ctx context.Context) (map[string]bool, error) {
	gs, err := r.cfg.Store.Groups(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(gs))
	for _, g := range gs {
		m[g.Name] = true
	}
	r.mu.Lock()
	r.groups, r.groupsAt = m, r.now()
	r.mu.Unlock()
	return m, nil
}

func (r *Receiver) count(fn func(*Stats)) {
	r.mu.Lock()
	fn(&r.stats)
	r.mu.Unlock()
}

// enqueue hands an item to the committer and waits for its transaction.
func (r *Receiver) enqueue(ctx context.Context, it *item) error {
	verdict, err := r.commit.Do(ctx, it)
	switch {
	case errors.Is(err, groupcommit.ErrClosed):
		return fmt.Errorf("%w: shutting down", nntp.ErrTryLater)
	case errors.Is(err, groupcommit.ErrFull):
		return fmt.Errorf("%w: too many articles waiting", nntp.ErrTryLater)
	case err != nil && ctx.Err() != nil:
		// The article may still commit; the peer is gone and will offer
		// it again (then it is a duplicate).
		return err
	case err != nil:
		return fmt.Errorf("%w: %v", nntp.ErrTryLater, err)
	}
	return verdict
}

// commitBatch commits one batch in one transaction: the articles are
// inserted, the refused ids remembered. Each item's result is its
// answer: nil (stored), nntp.ErrDuplicate, or the failure to remember.
func (r *Receiver) commitBatch(ctx context.Context, batch []*item) ([]error, error) {
	var arts []*store.NewArticle
	var stored, remember []int
	var ids []string
	for i, it := range batch {
		if it.art != nil {
			arts = append(arts, it.art)
			stored = append(stored, i)
		} else {
			ids = append(ids, it.remember)
			remember = append(remember, i)
		}
	}
	out := make([]error, len(batch))
	if len(arts) > 0 {
		res, err := r.cfg.Store.Insert(ctx, arts, nil)
		r.count(func(s *Stats) { s.Transactions++ })
		if err == nil && len(res) != len(arts) {
			err = fmt.Errorf("store returned %d results for %d articles", len(res), len(arts))
		}
		if err != nil {
			if len(batch) == 1 || errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
				// Final: the group splits no further.
				r.log.Warn("transit: storing failed, peers will retry", "articles", len(arts), "err", err)
				r.count(func(s *Stats) { s.Failed += int64(len(arts)) })
			}
			return nil, err
		}
		var st, dup int64
		for k, i := range stored {
			if res[k].Status == store.StatusDuplicate {
				dup++
				out[i] = nntp.ErrDuplicate
				continue
			}
			st++
		}
		r.count(func(s *Stats) { s.Stored += st; s.Duplicates += dup })
	}
	if len(ids) > 0 {
		err := r.cfg.Store.Remember(ctx, ids, r.now())
		for _, i := range remember {
			out[i] = err
		}
	}
	return out, nil
}
