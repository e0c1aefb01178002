package backend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
)

// Reason codes of POST refusals, besides armor's and article's codes.
const (
	CodeUnknownGroup = "unknown-group"
	CodeControl      = "control"
	CodeReplay       = "replay"
	CodeTemporary    = "temporary"
	// CodeSeveralRecipients: more session key packets than MaxInjectESKs.
	CodeSeveralRecipients = "several-recipients"
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
	p, err := b.prepare(ctx, raw)
	if err != nil {
		return err
	}
	now := b.cfg.Now()
	p.Received = now
	if err := b.spendHashcash(ctx, raw, p, now); err != nil {
		return err
	}
	if err := b.freshTag(ctx, p, now); err != nil {
		return err
	}
	if err := b.pending.add(ctx, b.st, p, now.Add(-b.cfg.ReplayWindow)); err != nil {
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
func (b *Backend) prepare(ctx context.Context, raw []byte) (*store.Pending, error) {
	a, err := article.Parse(raw, article.Limits{})
	if err != nil {
		return nil, articleRefusal(err)
	}
	if a.Has("Control") {
		return nil, refuse(CodeControl, "control messages are not accepted", nil)
	}
	groups, err := a.Newsgroups()
	if err != nil {
		return nil, articleRefusal(err)
	}
	// The store says what we carry, so a group added or removed with
	// nntpd group add|remove counts at once, on every front-end.
	for _, g := range groups {
		if _, err := b.st.Group(ctx, g); errors.Is(err, nntp.ErrNoSuchGroup) {
			return nil, refuse(CodeUnknownGroup, "this server does not carry "+sanitizeLine(g), nil)
		} else if err != nil {
			return nil, refuse(CodeTemporary, "the server cannot check its groups right now, try again later", err)
		}
	}
	canon, err := armor.Canonicalize(a.Body, armor.CanonOptions{Policy: b.cfg.Policy, Anonymize: true})
	if err != nil {
		var ae *armor.Error
		if errors.As(err, &ae) {
			return nil, refuse(ae.Code, ae.Msg, err)
		}
		return nil, refuse("not-ciphertext", "the body is not an OpenPGP message", err)
	}
	id, err := b.newMessageID()
	if err != nil {
		return nil, refuse(CodeTemporary, "no randomness, try again later", err)
	}
	if n := len(canon.Verdict.ESKs); n > b.cfg.MaxInjectESKs {
		return nil, refuse(CodeSeveralRecipients, fmt.Sprintf("the message has %d session key packets and this server injects at most %d: "+
			"several recipients link their keys (everyone can see that one message went to all of them); send each recipient a message of their own", n, b.cfg.MaxInjectESKs), nil)
	}
	subject := a.Get("Subject")
	if hsub.Shaped(subject) {
		// Readers match a tag on its first 48 digits; the rest would only
		// tell which software made it.
		subject = subject[:hsub.MinLen]
	} else {
		subject = ""
	}
	return &store.Pending{
		MessageID: id,
		Groups:    groups,
		Subject:   subject,
		Body:      canon.Body,
		BodyHash:  b.keyed("replay", canon.Ciphertext),
	}, nil
}

// freshTag keeps a tag seen for the first time within the history window
// and replaces a repeated one (or none) with a random tag: a tag used
// twice links its posts. Seen tags are remembered as keyed hashes, at day
// grain, with the spent hashcash stamps.
func (b *Backend) freshTag(ctx context.Context, p *store.Pending, now time.Time) error {
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
func (b *Backend) keyed(purpose string, parts ...[]byte) []byte {
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

func articleRefusal(err error) error {
	var e *article.Error
	if errors.As(err, &e) {
		return refuse(e.Code, e.Msg, err)
	}
	return refuse(article.CodeMalformed, "the article cannot be parsed", err)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newMessageID makes <random@Domain>: 160 random bits, nothing about the
// poster or the time.
func (b *Backend) newMessageID() (string, error) {
	var r [20]byte
	if _, err := io.ReadFull(b.cfg.Rand, r[:]); err != nil {
		return "", err
	}
	return "<" + idEncoding.EncodeToString(r[:]) + "@" + b.cfg.Domain + ">", nil
}

// sanitizeLine keeps a client-supplied string printable and short enough
// to echo in a response line.
func sanitizeLine(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s) && sb.Len() < 80; i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			c = '?'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
