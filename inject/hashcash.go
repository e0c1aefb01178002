package inject

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// Hashcash asks every POST for an X-Hashcash stamp (version 1), so that a
// flood costs the flooder CPU time. Each stamp is accepted once: spent
// stamps are remembered in the store.
type Hashcash struct {
	// Bits is the least work asked for; 0 turns hashcash off.
	Bits int
	// Resource is what stamps must be minted for (compared without regard
	// to case); Config.Name when empty.
	Resource string
	// MaxAge and MaxFuture bound the stamp's date (hashcash's defaults,
	// 2 days and 1 hour, when 0).
	MaxAge, MaxFuture time.Duration
}

// maxStamps bounds the X-Hashcash fields looked at in one post (a mail
// sent to several recipients may carry one stamp for each).
const maxStamps = 8

// hashcashOn reports whether posts need a stamp.
func (c *Config) hashcashOn() bool { return c.Hashcash != nil && c.Hashcash.Bits > 0 }

// checkHashcash fills in the defaults of cfg.Hashcash and refuses settings
// under which a spent stamp could be forgotten while still valid. It runs
// after the retention defaults are set.
func (c *Config) checkHashcash() error {
	if !c.hashcashOn() {
		return nil
	}
	h := *c.Hashcash
	if h.Bits > hashcash.MaxBits {
		return fmt.Errorf("inject: hashcash bits %d: at most %d", h.Bits, hashcash.MaxBits)
	}
	if h.Resource == "" {
		h.Resource = c.Name
	}
	if h.MaxAge < 0 || h.MaxFuture < 0 {
		return errors.New("inject: negative hashcash validity")
	}
	// Stamps are forgotten with the history, and a retry of the same post
	// is told apart from a second use of its stamp by the replay table.
	if w := h.requirement().Window(); w > c.HistoryRetention || w > c.ReplayWindow {
		return fmt.Errorf("inject: hashcash stamps stay valid for up to %s; history retention and replay window must be at least that", w)
	}
	c.Hashcash = &h
	return nil
}

func (h *Hashcash) requirement() hashcash.Requirement {
	return hashcash.Requirement{Bits: h.Bits, Resource: h.Resource, MaxAge: h.MaxAge, MaxFuture: h.MaxFuture}
}

// spendHashcash, when hashcash is on, finds a valid stamp in the posted
// article's X-Hashcash fields and spends it, or refuses the post. It runs
// after the gate (a refused article does not cost its stamp) and before
// AddPending. The stamp goes no further: the released article's header is
// built from the pending post alone.
//
// A post whose 240 was lost, or whose AddPending failed after the stamp was
// spent, comes back with the same stamp and body. A marker of (stamp, body)
// recorded before the stamp itself tells that retry apart from a second
// use of the stamp: the retry goes on to AddPending, which stores it or
// refuses it as a replay, so nothing is lost and no stamp buys two posts.
func (b *Injector) spendHashcash(ctx context.Context, a *article.Article, p *store.Pending, now time.Time) error {
	if !b.cfg.hashcashOn() {
		return nil
	}
	h := b.cfg.Hashcash
	stamps := a.Values("X-Hashcash")
	if len(stamps) == 0 {
		return refuse(hashcash.ReasonMissing, fmt.Sprintf("this server asks for an X-Hashcash stamp (version 1) of %d bits for resource %s", h.Bits, news.Sanitize(h.Resource)), nil)
	}
	stamp, err := pickStamp(stamps, h.requirement(), now)
	if err != nil {
		var he *hashcash.Error
		errors.As(err, &he)
		return refuse(he.Reason, he.Msg, err)
	}

	// Both records are keyed hashes kept at day grain: nothing links a
	// spent stamp (its random part, its minting time) to the article or
	// to the time it came.
	marker := hex.EncodeToString(b.keyed("stamp-post", []byte(stamp), p.BodyHash))
	markerErr := b.st.SpendStamp(ctx, marker, now)
	if markerErr != nil && !errors.Is(markerErr, store.ErrStampSpent) {
		return b.stampStoreFailure(markerErr)
	}
	err = b.st.SpendStamp(ctx, hex.EncodeToString(b.keyed("stamp", []byte(stamp))), now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrStampSpent):
		if markerErr != nil {
			// This very stamp came with this very body before.
			return nil
		}
		return refuse(hashcash.ReasonSpent, "this stamp was used before; mint a new one for each post", err)
	}
	return b.stampStoreFailure(err)
}

func (b *Injector) stampStoreFailure(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		b.log.Warn("post not stored: store unavailable", "err", err)
		return refuse(CodeTemporary, "the server cannot store posts right now, try again later", err)
	}
	b.log.Error("hashcash stamp not recorded", "err", err)
	return refuse(CodeTemporary, "the post could not be stored, try again later", err)
}

// pickStamp returns the first stamp that verifies. Otherwise it returns
// the error of the first stamp minted for us, or of the first stamp.
func pickStamp(stamps []string, req hashcash.Requirement, now time.Time) (string, error) {
	var first, ours error
	for i, s := range stamps {
		if i == maxStamps {
			break
		}
		err := hashcash.Verify(s, req, now)
		if err == nil {
			return strings.TrimSpace(s), nil
		}
		if first == nil {
			first = err
		}
		var he *hashcash.Error
		if ours == nil && errors.As(err, &he) && he.Reason != hashcash.ReasonWrongResource && he.Reason != hashcash.ReasonMalformed {
			ours = err
		}
	}
	if ours != nil {
		return "", ours
	}
	return "", first
}
