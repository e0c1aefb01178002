package nntp

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/internal/pause"
)

var (
	errAuthBudget   = errors.New("nntp: authentication failure budget spent")
	errAuthFailures = errors.New("nntp: too many authentication failures")
)

// cmdAuthInfo serves AUTHINFO USER and PASS (RFC 4643 section 2.3), under
// the guessing limits of Server (MaxAuthFailures and the rest).
func cmdAuthInfo(c *conn, r request) error {
	if len(r.args) < 1 {
		c.reply(501, "Syntax: AUTHINFO USER name|PASS password")
		return nil
	}
	sub := strings.ToUpper(r.args[0])
	if sub != "USER" && sub != "PASS" {
		if sub == "SASL" {
			c.reply(503, "SASL not supported")
			return nil
		}
		c.reply(501, "Unknown AUTHINFO subcommand")
		return nil
	}
	if len(r.args) < 2 {
		c.reply(501, "Syntax: AUTHINFO "+sub+" argument")
		return nil
	}
	auth, ok := c.authenticator()
	if !ok || c.authed {
		c.reply(502, "Authentication not available")
		return nil
	}
	if c.tlsState == nil && !c.srv.AllowInsecureAuth {
		c.reply(483, "Encryption required: use STARTTLS")
		return nil
	}
	arg := restAfter(r.line, 2)
	if sub == "USER" {
		c.pendingUser, c.haveUser = arg, true
		c.reply(381, "Password required")
		return nil
	}
	if !c.haveUser {
		c.reply(482, "Authentication commands issued out of sequence")
		return nil
	}
	user := c.pendingUser
	c.pendingUser, c.haveUser = "", false
	lim, ipKey, now := c.srv.auth(), c.ipKey, time.Now()
	var err error
	if lim.byIP.exhausted(ipKey, now) || lim.byUser.exhausted(user, now) {
		err = errAuthBudget
	} else {
		err = lim.check(c.ctx, func() error { return auth.Authenticate(c.ctx, user, arg) })
	}
	if err != nil {
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		if err != errAuthBudget {
			lim.byIP.fail(ipKey, now)
			lim.byUser.fail(user, now)
		}
		c.authFails++
		if d := c.srv.authDelay(c.authFails); d > 0 && !pause.For(c.ctx, d) {
			return c.ctx.Err()
		}
		if err == errAuthBudget {
			c.reply(481, "Too many authentication failures, try again later")
		} else {
			e := ResponseFor(err, CmdAuth)
			c.logFault(e)
			c.reply(e.Code, e.Msg)
		}
		if c.authFails >= c.srv.maxAuthFailures() {
			c.reply(400, "Too many authentication failures, closing connection")
			return errAuthFailures
		}
		return nil
	}
	c.authed = true
	c.perms = c.sess.Permissions()
	c.reply(281, "Authentication accepted")
	return nil
}

// cmdStartTLS serves STARTTLS (RFC 4642). After the handshake the
// connection starts afresh: a new session with the TLS state, no group
// selected, and the client is expected to ask CAPABILITIES again.
func cmdStartTLS(c *conn, r request) error {
	if len(r.args) != 0 {
		c.reply(501, "Syntax: STARTTLS")
		return nil
	}
	switch {
	case c.tlsState != nil:
		c.reply(502, "Already using TLS")
		return nil
	case c.authed:
		c.reply(502, "Already authenticated")
		return nil
	case c.compressed:
		// RFC 8054: TLS, if wanted, comes before compression.
		c.reply(502, "Compression is active")
		return nil
	case c.srv.TLSConfig == nil:
		c.reply(502, "STARTTLS not available")
		return nil
	}
	c.reply(382, "Continue with TLS negotiation")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	tc := tls.Server(c.nc, c.srv.tlsConfig())
	tc.SetDeadline(time.Now().Add(c.srv.readTimeout()))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Debug("nntp: STARTTLS handshake failed", "err", err)
		return err
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	// Anything the client sent after STARTTLS in clear text is dropped:
	// it must not be run as commands inside the TLS session.
	c.dc.Conn = tc
	c.br.Reset(c.dc)
	c.bw.Reset(c.dc)
	c.tlsState = &st
	c.group, c.cur = "", 0
	c.pendingUser, c.haveUser = "", false
	c.closeSession()
	if err := c.openSession(); err != nil {
		c.log.Error("nntp: cannot open session after STARTTLS", "err", err)
		c.reply(400, "Service temporarily unavailable")
		return err
	}
	return nil
}
