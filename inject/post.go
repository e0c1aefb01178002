package inject

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
)

// Reason codes of POST refusals (the gate's vocabulary).
const (
	CodeUnknownGroup      = gate.CodeUnknownGroup
	CodeControl           = gate.CodeControl
	CodeReplay            = gate.CodeReplay
	CodeTemporary         = gate.CodeTemporary
	CodeSeveralRecipients = gate.CodeSeveralRecipients
)

// refuse makes the 441 answer "code: sentence" that POST has for every
// failure (RFC 3977 has no other POST failure code).
func refuse(code, msg string, cause error) error {
	return &nntp.Error{Code: 441, Msg: code + ": " + msg, Err: cause}
}

// Post injects an article: it is parsed, checked, stripped to its
// Newsgroups, Subject (if it is an hSub tag) and canonical ciphertext
// body, and kept durably until release. It returns nil (240) only once
// the store has committed the post.
func (s *Session) Post(ctx context.Context, raw []byte) error {
	if !s.Permissions().Post {
		return nntp.ErrPostingNotPermitted
	}
	b := s.b
	p, a, err := b.prepare(ctx, raw)
	if err != nil {
		return err
	}
	now := b.cfg.Now()
	p.Received = now
	if err := b.spendHashcash(ctx, a, p, now); err != nil {
		return err
	}
	if err := b.freshTag(ctx, p, now); err != nil {
		return err
	}
	if err := b.addPending(ctx, p, now.Add(-b.cfg.ReplayWindow)); err != nil {
		switch {
		case errors.Is(err, store.ErrReplay):
			return refuse(CodeReplay, "an identical body was already posted", err)
		case errors.Is(err, store.ErrUnavailable):
			b.log.Warn("post not stored: store unavailable", "err", err)
			return refuse(CodeTemporary, "the server cannot store posts right now, try again later", err)
		}
		b.log.Error("post not stored", "err", err)
		return refuse(CodeTemporary, "the post could not be stored, try again later", err)
	}
	if b.cfg.ReleaseInterval == 0 {
		// The post is durable: a failed release only delays it until the
		// next sweep, so the poster still gets 240.
		if _, err := b.Release(context.WithoutCancel(ctx)); err != nil {
			b.log.Error("release after post failed; the release loop will retry", "err", err)
		}
	}
	return nil
}

// prepare turns a posted article into a pending post, or refuses it.
func (b *Injector) prepare(ctx context.Context, raw []byte) (*store.Pending, *article.Article, error) {
	in, err := gate.Inject(raw, gate.InjectPolicy{
		// The store says what we carry, so a group added or removed with
		// nntpd group add|remove counts at once, on every front-end.
		Carries: func(g string) (bool, error) {
			_, err := b.st.Group(ctx, g)
			if errors.Is(err, news.ErrNoSuchGroup) {
				return false, nil
			}
			return err == nil, err
		},
		Policy:  b.cfg.Policy,
		MaxESKs: b.cfg.MaxInjectESKs,
	})
	if err != nil {
		return nil, nil, postRefusal(err)
	}
	id, err := b.newMessageID()
	if err != nil {
		return nil, nil, refuse(CodeTemporary, "no randomness, try again later", err)
	}
	subject := in.Article.Get("Subject")
	if hsub.Shaped(subject) {
		// Readers match a tag on its first 48 digits; the rest would only
		// tell which software made it.
		subject = subject[:hsub.MinLen]
	} else {
		subject = ""
	}
	return &store.Pending{
		MessageID: id,
		Groups:    in.Groups,
		Subject:   subject,
		Body:      in.Canon.Body,
		BodyHash:  b.keyed("replay", in.Canon.Ciphertext),
	}, in.Article, nil
}

// postRefusal maps a gate refusal to POST's answer.
func postRefusal(err error) error {
	var r *news.Refusal
	if errors.As(err, &r) {
		return refuse(r.Code, r.Msg, err)
	}
	return refuse(CodeTemporary, "the post could not be checked, try again later", err)
}

// freshTag keeps a tag seen for the first time within the history window
// and replaces a repeated one (or none) with a random tag: a tag used
// twice links its posts. Seen tags are remembered as keyed hashes, at day
// grain, with the spent hashcash stamps.
func (b *Injector) freshTag(ctx context.Context, p *store.Pending, now time.Time) error {
	if p.Subject != "" {
		err := b.st.SpendStamp(ctx, hex.EncodeToString(b.keyed("subject-tag", []byte(p.Subject))), now)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, store.ErrStampSpent):
			return b.stampStoreFailure(err)
		}
	}
	tag, err := hsub.Random(b.cfg.Rand)
	if err != nil {
		return refuse(CodeTemporary, "no randomness, try again later", err)
	}
	p.Subject = tag
	return nil
}

// keyed returns HMAC-SHA-256 under the server secret of the parts, each
// length-prefixed, with a purpose label so that no two uses collide. The
// replay table and the spent stamps keep only such hashes: a copy of
// them without the secret cannot be matched with the published
// articles. The replay key is the encrypted data packet in canonical
// framing (armor.Canonical.Ciphertext), which no one can vary without
// encrypting anew: other length encodings, an added Marker packet or
// re-wrapped, reordered or dropped session keys hash alike.
func (b *Injector) keyed(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newMessageID makes <random@Domain>: 160 random bits, nothing about the
// poster or the time.
func (b *Injector) newMessageID() (string, error) {
	var r [20]byte
	if _, err := io.ReadFull(b.cfg.Rand, r[:]); err != nil {
		return "", err
	}
	return "<" + idEncoding.EncodeToString(r[:]) + "@" + b.cfg.Domain + ">", nil
}
