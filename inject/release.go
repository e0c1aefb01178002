package inject

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/internal/groupcommit"
	"github.com/altcrypt/altcrypt/store"
)

// Release publishes every pending post now, in shuffled batches with one
// release time each, once across the front-ends of the store. It returns
// how many posts it released (0 when another front-end holds the job).
// Concurrent calls in this process share rounds: a caller returns after a
// round that began after it called.
func (b *Injector) Release(ctx context.Context) (int, error) {
	return b.release.Do(ctx, struct{}{})
}

func (b *Injector) releaseRound(ctx context.Context) (int, error) {
	released := 0
	_, err := b.st.Exclusive(ctx, "release", func(ctx context.Context) error {
		// The whole pending set, shuffled as one: its chunks (one
		// transaction each) are slices of one random order, so numbers say
		// nothing of arrival at any volume.
		ps, err := b.st.PendingArticles(ctx, maxPendingRead)
		if err != nil {
			return err
		}
		if len(ps) == 0 || b.hold(ps) {
			return nil
		}
		if err := shuffle(ps, b.cfg.Rand); err != nil {
			return err
		}
		now := b.cfg.Now()
		for len(ps) > 0 {
			chunk := ps[:min(len(ps), b.cfg.ReleaseBatch)]
			ps = ps[len(chunk):]
			arts := make([]*store.NewArticle, len(chunk))
			ids := make([]int64, len(chunk))
			for i, p := range chunk {
				arts[i] = b.finalArticle(p, now)
				ids[i] = p.ID
			}
			res, err := b.st.Insert(ctx, arts, ids)
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Status == store.StatusDuplicate {
					// A random 160-bit id collided, or the post was
					// released before: either way it is in the history.
					b.log.Warn("released post was a duplicate")
				}
			}
			released += len(chunk)
		}
		b.log.Info("released", "posts", released)
		b.scrub(ctx)
		return nil
	})
	return released, err
}

// maxPendingRead bounds the pending posts one round reads (and holds in
// memory); more wait for the next round.
const maxPendingRead = 1 << 20

// hold reports whether the pending posts wait for company: fewer than
// MinBatch of them, none older than MaxWait. A post alone in its
// interval would otherwise be published alone, its release time close to
// its posting time. With ReleaseInterval 0 nothing is held.
func (b *Injector) hold(ps []*store.Pending) bool {
	if b.cfg.ReleaseInterval == 0 || len(ps) >= b.cfg.MinBatch {
		return false
	}
	oldest := ps[0].Received
	for _, p := range ps {
		if p.Received.Before(oldest) {
			oldest = p.Received
		}
	}
	return b.cfg.Now().Sub(oldest) < b.cfg.MaxWait
}

// scrub asks the store to erase what the released posts left behind
// (freed pages, the write-ahead log), when it can.
func (b *Injector) scrub(ctx context.Context) {
	sc, ok := b.st.(store.Scrubber)
	if !ok {
		return
	}
	if err := sc.Scrub(ctx); err != nil && ctx.Err() == nil {
		b.log.Warn("scrubbing after release failed; the next release tries again", "err", err)
	}
}

// finalArticle builds the article as readers will see it.
func (b *Injector) finalArticle(p *store.Pending, now time.Time) *store.NewArticle {
	header := b.buildHeader(p, now)
	date := formatDate(now)
	var feeds []string
	if b.cfg.Peers != nil {
		path := b.cfg.Name + "!not-for-mail"
		for _, peer := range b.cfg.Peers.Senders() {
			if peer.Wants(p.Groups, path) {
				feeds = append(feeds, peer.Name)
			}
		}
	}
	return &store.NewArticle{
		MessageID: p.MessageID,
		Groups:    p.Groups,
		Header:    header,
		Body:      p.Body,
		Arrived:   now,
		Expires:   now.Add(b.cfg.Retention),
		Peers:     feeds,
		Subject:   p.Subject,
		From:      b.cfg.From,
		Date:      date,
		Bytes:     int64(len(header) + 2 + len(p.Body)),
		Lines:     article.CountLines(p.Body),
	}
}

// buildHeader makes the fresh header set of an injected article, in a
// fixed order, with nothing from the poster but the groups and the tag.
func (b *Injector) buildHeader(p *store.Pending, now time.Time) []byte {
	date := formatDate(now)
	var h strings.Builder
	h.Grow(512)
	line := func(name, value string) {
		h.WriteString(name)
		h.WriteString(": ")
		h.WriteString(value)
		h.WriteString("\r\n")
	}
	line("Path", b.cfg.Name+"!not-for-mail")
	line("From", b.cfg.From)
	line("Newsgroups", strings.Join(p.Groups, ","))
	line("Subject", p.Subject)
	line("Message-ID", p.MessageID)
	line("Date", date)
	line("Injection-Date", date)
	info := b.cfg.Name
	if b.cfg.MailComplaintsTo != "" {
		info += fmt.Sprintf("; mail-complaints-to=%q", b.cfg.MailComplaintsTo)
	}
	line("Injection-Info", info)
	return []byte(h.String())
}

// formatDate writes an RFC 5322 date in UTC, so the server's time zone
// says nothing either.
func formatDate(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000")
}

// shuffle permutes ps uniformly (Fisher-Yates) with randomness from rnd,
// so the release order says nothing about the arrival order.
func shuffle(ps []*store.Pending, rnd io.Reader) error {
	for i := len(ps) - 1; i > 0; i-- {
		j, err := uniform(rnd, uint64(i+1))
		if err != nil {
			return err
		}
		ps[i], ps[j] = ps[j], ps[i]
	}
	return nil
}

// uniform returns a uniform integer in [0, n) from rnd, without modulo bias.
func uniform(rnd io.Reader, n uint64) (int, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var buf [8]byte
	for {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint64(buf[:])
		hi, lo := bits.Mul64(v, n)
		if lo >= n || lo >= (-n)%n {
			return int(hi), nil
		}
	}
}

// newReleaseGroup lets concurrent Release calls share rounds: a caller
// waits for the end of a round that started after it called, and every
// caller of a round gets its count.
func newReleaseGroup(round func(context.Context) (int, error)) *groupcommit.Group[struct{}, int] {
	return groupcommit.New(groupcommit.Config[struct{}, int]{
		Commit: func(ctx context.Context, callers []struct{}) ([]int, error) {
			n, err := round(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]int, len(callers))
			for i := range out {
				out[i] = n
			}
			return out, nil
		},
	})
}
