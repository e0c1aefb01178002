package inject

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
)

// Session serves one connection: reading from the store's reading role
// (embedded: the protocol layer reads the store directly, but for Xref),
// AUTHINFO against the accounts, and POST through the injection path.
type Session struct {
	news.Reader
	b      *Injector
	tls    bool
	remote net.Addr // for peers.Match only; never logged

	mu   sync.Mutex
	user string // logged-in user, "" before AUTHINFO
}

var (
	_ nntp.Session       = (*Session)(nil)
	_ nntp.Poster        = (*Session)(nil)
	_ nntp.Authenticator = (*Session)(nil)
	_ nntp.Transit       = (*Session)(nil)
)

// Permissions allow POST unless the operator requires a login first, and
// feeding to the peers of the peers file (by address, or by account once
// logged in) when transit is configured.
func (s *Session) Permissions() nntp.Permissions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return nntp.Permissions{
		Post: !s.b.cfg.RequireAuthToPost || s.user != "",
		Feed: s.peerLocked() != nil,
	}
}

func (s *Session) peerLocked() *peers.Peer {
	if s.b.cfg.Transit == nil {
		return nil
	}
	return s.b.cfg.Peers.Match(s.remote, s.user)
}

// errNotPeer refuses feeding commands from sessions that are not peers
// (the server does not offer them; this guards a direct call).
var errNotPeer = fmt.Errorf("%w: this connection is not a feeding peer", nntp.ErrRejected)

// Wanted answers IHAVE's offer and CHECK through the transit receiver.
func (s *Session) Wanted(ctx context.Context, messageID string) error {
	if !s.Permissions().Feed {
		return errNotPeer
	}
	return s.b.cfg.Transit.Wanted(ctx, messageID)
}

// Receive stores a transit article through the transit receiver, byte for
// byte (we are a relaying agent there, never the injecting one).
func (s *Session) Receive(ctx context.Context, messageID string, raw []byte) error {
	if !s.Permissions().Feed {
		return errNotPeer
	}
	return s.b.cfg.Transit.Receive(ctx, messageID, raw)
}

// AuthAvailable reports whether anyone can log in: without an accounts
// file, AUTHINFO is neither advertised nor suggested.
func (s *Session) AuthAvailable() bool {
	return s.b.cfg.Accounts != nil && s.b.cfg.Accounts.Len() > 0
}

// Authenticate checks user and pass against the accounts file in constant
// time per account kind; unknown users cost the same as known ones.
func (s *Session) Authenticate(ctx context.Context, user, pass string) error {
	if !s.b.cfg.Accounts.Verify(user, pass) {
		return nntp.ErrAuthRejected
	}
	s.mu.Lock()
	s.user = user
	s.mu.Unlock()
	return nil
}

// Close ends the session.
func (s *Session) Close() error { return nil }

// Overview and OverviewByID write Xref in the full form newsreaders want
// ("name group:number ..."): tin ignores a short one.

func (s *Session) Overview(ctx context.Context, group string, r nntp.Range, fn func(*nntp.Overview) error) error {
	return s.Reader.Overview(ctx, group, r, func(o *nntp.Overview) error {
		s.b.fullXref(o, group)
		return fn(o)
	})
}

func (s *Session) OverviewByID(ctx context.Context, messageID string) (*nntp.Overview, error) {
	o, err := s.Reader.OverviewByID(ctx, messageID)
	if err != nil {
		return nil, err
	}
	s.b.fullXref(o, "")
	return o, nil
}

// fullXref turns the store's "group:number ..." into "name group:number
// ...". A store that keeps no Xref gets one from the group and number.
func (b *Injector) fullXref(o *nntp.Overview, group string) {
	x := o.Xref
	if x == "" {
		if group == "" || o.Number <= 0 {
			return
		}
		x = group + ":" + strconv.FormatInt(o.Number, 10)
	}
	o.Xref = b.cfg.Name + " " + x
}
