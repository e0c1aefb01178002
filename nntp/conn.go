package nntp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

var (
	errQuit   = errors.New("nntp: quit")
	errKicked = errors.New("nntp: server shutting down")
	errPanic  = errors.New("nntp: handler panicked")
)

// deadlineConn sets the read deadline before every read and the write
// deadline before every write. Reads belong to a phase with one clock: a
// command line, idle wait included, must be complete within IdleTimeout of
// the wait's start; an article must arrive within ReadTimeout plus the
// time MinDataRate allows for the bytes read so far. A client trickling a
// byte at a time therefore cannot hold a connection open, as it could
// when every read restarted the clock. Reads outside a phase (start is
// zero) get the grace each. Only the reading goroutine changes a phase.
type deadlineConn struct {
	net.Conn
	writeTimeout time.Duration
	kicked       atomic.Bool

	start time.Time     // the phase's start; zero: every read starts afresh
	grace time.Duration // time allowed from start
	rate  int64         // bytes per second owed after grace; 0: none
	got   int64         // bytes read in this phase
}

// phase starts a new clock for the reads that follow.
func (d *deadlineConn) phase(start time.Time, grace time.Duration, rate int64) {
	d.start, d.grace, d.rate, d.got = start, grace, rate, 0
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if d.grace > 0 {
		start := d.start
		if start.IsZero() {
			start = time.Now()
		}
		dl := start.Add(d.grace)
		if d.rate > 0 {
			dl = dl.Add(time.Duration(d.got * int64(time.Second) / d.rate))
		}
		d.Conn.SetReadDeadline(dl)
	}
	if d.kicked.Load() {
		return 0, errKicked
	}
	n, err := d.Conn.Read(p)
	d.got += int64(n)
	return n, err
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if d.writeTimeout > 0 {
		d.Conn.SetWriteDeadline(time.Now().Add(d.writeTimeout))
	}
	return d.Conn.Write(p)
}

// conn is the state of one client connection.
type conn struct {
	srv *Server
	nc  net.Conn // as accepted (a *tls.Conn for NNTPS)
	dc  *deadlineConn
	br  *bufio.Reader
	bw  *bufio.Writer
	out dotWriter
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	sess     Session
	perms    Permissions
	tlsState *tls.ConnectionState

	authed      bool
	pendingUser string
	haveUser    bool
	authFails   int    // failed AUTHINFO PASS on this connection, never reset
	ipKey       string // the address as the per-address limits count it

	group string // selected newsgroup, "" if none
	cur   int64  // current article number, 0 if invalid

	compressed bool // COMPRESS DEFLATE is active

	errs  int  // consecutive errors
	wrote bool // a response was started for the current command

	cmd      string // the command being handled, for the Observer
	lastCode int    // the last response written, for the Observer
	lastMsg  string
	pipe     *pipeline

	lineBuf []byte
	scratch []byte

	mu   sync.Mutex // guards idle against Shutdown
	idle bool

	// linger: the client may still be sending when we close (it passed
	// the drain cap), so the close waits briefly for its input to stop,
	// lest a reset destroy the status line we wrote before it is read.
	linger bool
}

// Lingering close bounds: a client still sending after the status line
// gets this long, and this much, before the reset.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 4 << 20
)

// closeConn closes the connection, after a lingering half-close if
// c.linger is set.
func (c *conn) closeConn() {
	if c.linger {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			c.nc.SetReadDeadline(time.Now().Add(lingerTime))
			io.Copy(io.Discard, io.LimitReader(c.nc, lingerBytes))
		}
	}
	c.nc.Close()
}

func newConn(s *Server, nc net.Conn) *conn {
	dc := &deadlineConn{Conn: nc, writeTimeout: s.writeTimeout()}
	dc.phase(time.Time{}, s.readTimeout(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:    s,
		nc:     nc,
		dc:     dc,
		br:     bufio.NewReaderSize(dc, 8<<10),
		bw:     bufio.NewWriterSize(dc, 16<<10),
		ctx:    ctx,
		cancel: cancel,
	}
	c.out = dotWriter{c.bw}
	// A connection id, like the open and close lines, joins a log with
	// article times (whoever holds both can tell which connection posted
	// what): it is logged at debug level only.
	c.log = s.logger()
	if id := s.nextID.Add(1); c.log.Enabled(ctx, slog.LevelDebug) {
		c.log = c.log.With("conn", id)
	}
	if s.LogAddresses {
		c.log = c.log.With("remote", nc.RemoteAddr().String())
	}
	return c
}

// enterIdle marks the connection as waiting for a command; it reports
// false if the server is shutting down.
func (c *conn) enterIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv.closing.Load() {
		return false
	}
	c.idle = true
	c.dc.phase(time.Now(), c.srv.idleTimeout(), 0)
	return true
}

func (c *conn) leaveIdle() {
	c.mu.Lock()
	c.idle = false
	c.mu.Unlock()
	c.dc.phase(time.Time{}, c.srv.readTimeout(), 0)
}

// kickIfIdle wakes a connection blocked waiting for a command, for Shutdown.
func (c *conn) kickIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.dc.kicked.Store(true)
		c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) connInfo() ConnInfo {
	return ConnInfo{RemoteAddr: c.nc.RemoteAddr(), LocalAddr: c.nc.LocalAddr(), TLS: c.tlsState}
}

func (c *conn) serve() {
	start := time.Now()
	c.log.Debug("nntp: connection opened")
	defer func() {
		if r := recover(); r != nil {
			c.logPanic(r)
		}
		c.cancel()
		if c.pipe != nil {
			c.pipe.stop()
		}
		if c.sess != nil {
			c.closeSession()
		}
		if c.compressed {
			c.srv.compressedConns.Add(-1)
		}
		c.closeConn()
		c.log.Debug("nntp: connection closed", "duration", time.Since(start).Round(time.Millisecond))
	}()

	if tc, ok := c.nc.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(c.srv.readTimeout()))
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.log.Debug("nntp: TLS handshake failed", "err", err)
			return
		}
		st := tc.ConnectionState()
		c.tlsState = &st
		tc.SetDeadline(time.Time{})
	}
	if err := c.openSession(); err != nil {
		c.log.Error("nntp: cannot open session", "err", err)
		c.reply(400, "Service temporarily unavailable")
		c.bw.Flush()
		return
	}
	name := c.srv.Name
	if name == "" {
		name = "altcrypt"
	}
	if c.canPost() {
		c.reply(200, name+" NNTP service ready, posting allowed")
	} else {
		c.reply(201, name+" NNTP service ready, posting prohibited")
	}
	if c.bw.Flush() != nil {
		return
	}

	for {
		if !c.enterIdle() {
			c.sync()
			c.reply(400, "Server shutting down")
			c.bw.Flush()
			return
		}
		line, err := readLine(c.br, c.srv.maxLine()-2, 64<<10, c.lineBuf)
		c.leaveIdle()
		if err != nil {
			c.sync()
			var ne net.Error
			switch {
			case errors.Is(err, errLineTooLong):
				c.reply(501, "Command line too long")
			case errors.Is(err, errDrainLimit):
				c.reply(501, "Command line too long")
				c.bw.Flush()
				c.linger = true
				return
			case errors.Is(err, errKicked) || (c.dc.kicked.Load() && errors.As(err, &ne)):
				c.reply(400, "Server shutting down")
				c.bw.Flush()
				return
			case errors.As(err, &ne) && ne.Timeout():
				c.reply(400, "Timeout, closing connection")
				c.bw.Flush()
				return
			default:
				return
			}
		} else {
			c.lineBuf = line[:0]
			stream, err := c.handle(line)
			if err != nil {
				c.sync()
				c.bw.Flush()
				return
			}
			if stream {
				continue
			}
		}
		if c.writeErr() != nil {
			// The client is gone: serve none of the commands it pipelined.
			return
		}
		if c.errs >= c.srv.maxErrors() {
			c.reply(400, "Too many errors, closing connection")
			c.bw.Flush()
			return
		}
		if c.br.Buffered() == 0 {
			if c.bw.Flush() != nil {
				return
			}
		}
	}
}

func (c *conn) openSession() error {
	sess, err := c.srv.Backend.NewSession(c.ctx, c.connInfo())
	if err != nil {
		return err
	}
	if sess == nil {
		return errors.New("nntp: backend returned a nil session")
	}
	c.sess = sess
	c.perms = sess.Permissions()
	return nil
}

func (c *conn) closeSession() {
	defer func() {
		if r := recover(); r != nil {
			c.logPanic(r)
		}
	}()
	if err := c.sess.Close(); err != nil {
		c.log.Warn("nntp: closing session", "err", err)
	}
	c.sess = nil
}

func (c *conn) logPanic(r any) {
	c.srv.observer().PanicRecovered()
	c.log.Error("nntp: panic serving connection", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// handle parses and runs one command. stream reports that the command was
// queued to the streaming pipeline (its response is written later). A
// non-nil error closes the connection.
func (c *conn) handle(line []byte) (stream bool, err error) {
	kw, args, perr := parseCommand(line)
	if perr != nil {
		c.sync()
		c.reply(501, "Syntax error in command")
		c.srv.observer().Response("UNKNOWN", 501, "")
		return false, nil
	}
	cmd, ok := commands[kw]
	if !ok {
		c.sync()
		c.reply(500, "Unknown command")
		c.srv.observer().Response("UNKNOWN", 500, "")
		return false, nil
	}
	if !cmd.stream {
		c.sync()
	}
	c.wrote = false
	c.cmd = kw
	defer func() {
		if r := recover(); r != nil {
			c.logPanic(r)
			c.sync()
			if !c.wrote {
				c.reply(403, "Internal fault")
			}
			err = errPanic
		}
		// Streamed commands are reported as their answers are written.
		if !cmd.stream && c.wrote {
			c.srv.observer().Response(kw, c.lastCode, c.lastMsg)
		}
	}()
	return cmd.stream, cmd.fn(c, request{kw: kw, args: args, line: string(line)})
}

// sync waits until every pipelined response has been written, so that the
// caller may write to the connection.
func (c *conn) sync() {
	if c.pipe != nil {
		c.pipe.outstanding.Wait()
	}
}

// writeStatus writes one status line, keeping msg on one line.
func writeStatus(bw *bufio.Writer, code int, msg string) {
	var buf [8]byte
	bw.Write(strconv.AppendInt(buf[:0], int64(code), 10))
	if msg != "" {
		bw.WriteByte(' ')
		msg = sanitizeText(msg)
		bw.WriteString(msg)
	}
	bw.WriteString("\r\n")
}

// sanitizeText removes line breaks and control characters from response
// text and bounds its length.
func sanitizeText(s string) string {
	if len(s) > 400 {
		n := 400
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// reply writes a status line and keeps the error count.
func (c *conn) reply(code int, msg string) {
	c.wrote = true
	c.lastCode, c.lastMsg = code, msg
	switch {
	case code >= 500 || code == 481 || code == 482 || code == 483:
		c.errs++
	case code < 400:
		c.errs = 0
	}
	writeStatus(c.bw, code, msg)
}

// replyLines writes a status line and a multi-line block of fixed lines.
func (c *conn) replyLines(code int, msg string, lines []string) {
	c.reply(code, msg)
	for _, l := range lines {
		c.out.line(l)
	}
	c.out.end()
}

func (c *conn) replyf(code int, format string, args ...any) {
	c.reply(code, fmt.Sprintf(format, args...))
}

// replyErr answers err as ResponseFor maps it; internal faults are logged
// and never shown to the client.
func (c *conn) replyErr(err error, fam CommandFamily) {
	e := ResponseFor(err, fam)
	c.logFault(e)
	c.reply(e.Code, e.Msg)
}

func (c *conn) logFault(e *Error) {
	if e.Code == 403 {
		c.log.Error("nntp: backend error", "err", e.Err)
	}
}

// writeErr reports whether the output stream has failed.
func (c *conn) writeErr() error {
	_, err := c.bw.Write(nil)
	return err
}

// readArticle reads a dot-terminated article after a 340 or 335 (flushing
// that prompt first) or after TAKETHIS (flush false: the pipeline writer
// owns the output then). Errors errTooLarge and errLineTooLong leave the
// session in sync; errDrainLimit must be answered (drainRefusal) and the
// connection closed; any other error means the connection must be closed.
func (c *conn) readArticle(flush bool) ([]byte, error) {
	if flush {
		if err := c.bw.Flush(); err != nil {
			return nil, err
		}
	}
	c.dc.phase(time.Now(), c.srv.readTimeout(), c.srv.minDataRate())
	defer c.dc.phase(time.Time{}, c.srv.readTimeout(), 0)
	return readDot(c.br, c.srv.maxArticle(), c.srv.maxArticleLine(), c.srv.drainLimit())
}

// receiveArticle reads the article a client sends after 340 or 335 and
// answers one too large or with too long a line with refused (441 for
// POST, 437 for IHAVE), so that POST and IHAVE refuse alike. ok false means
// the command is over: err is then what it returns (nil or a reason to
// close the connection).
func (c *conn) receiveArticle(refused int) (art []byte, ok bool, err error) {
	art, err = c.readArticle(true)
	switch {
	case errors.Is(err, errTooLarge):
		c.reply(refused, "Article too large")
		return nil, false, nil
	case errors.Is(err, errLineTooLong):
		c.reply(refused, "Article has a line that is too long")
		return nil, false, nil
	case c.drainRefusal(err):
		c.reply(refused, "Article too large, closing connection")
		return nil, false, err
	case err != nil:
		return nil, false, err
	}
	return art, true, nil
}

// drainRefusal reports whether err is errDrainLimit; if so it marks the
// connection to be closed with a lingering close, so that the refusal the
// caller writes reaches a client that is still sending.
func (c *conn) drainRefusal(err error) bool {
	if errors.Is(err, errDrainLimit) {
		c.linger = true
		return true
	}
	return false
}

// Capability checks.

func (c *conn) poster() (Poster, bool) {
	p, ok := c.sess.(Poster)
	return p, ok
}

func (c *conn) feeder() (Transit, bool) {
	f, ok := c.sess.(Transit)
	return f, ok
}

func (c *conn) authenticator() (Authenticator, bool) {
	a, ok := c.sess.(Authenticator)
	if av, has := c.sess.(AuthAvailability); ok && has && !av.AuthAvailable() {
		return nil, false
	}
	return a, ok
}

func (c *conn) canPost() bool {
	_, ok := c.poster()
	return ok && c.perms.Post
}

func (c *conn) canFeed() bool {
	_, ok := c.feeder()
	return ok && c.perms.Feed
}

// authPossible reports whether AUTHINFO could still change permissions.
func (c *conn) authPossible() bool {
	_, ok := c.authenticator()
	return ok && !c.authed
}

func (c *conn) authAllowedNow() bool {
	return c.authPossible() && (c.tlsState != nil || c.srv.AllowInsecureAuth)
}

func (c *conn) starttlsAvailable() bool {
	return c.srv.TLSConfig != nil && c.tlsState == nil && !c.authed && !c.compressed
}

// refuseUnpermitted answers a command the session may not use: 480 if
// logging in could help, else 502.
func (c *conn) refuseUnpermitted() {
	if c.authPossible() {
		c.reply(480, "Authentication required")
		return
	}
	c.reply(502, "Permission denied")
}

// request is one parsed command line.
type request struct {
	kw   string   // upper-cased keyword
	args []string // arguments
	line string   // the whole line
}

type command struct {
	fn     func(c *conn, r request) error
	stream bool
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPABILITIES": {fn: cmdCapabilities},
		"MODE":         {fn: cmdMode},
		"DATE":         {fn: cmdDate},
		"HELP":         {fn: cmdHelp},
		"QUIT":         {fn: cmdQuit},
		"GROUP":        {fn: cmdGroup},
		"LISTGROUP":    {fn: cmdListGroup},
		"NEXT":         {fn: cmdNext},
		"LAST":         {fn: cmdLast},
		"ARTICLE":      {fn: cmdArticle},
		"HEAD":         {fn: cmdArticle},
		"BODY":         {fn: cmdArticle},
		"STAT":         {fn: cmdArticle},
		"OVER":         {fn: cmdOver},
		"XOVER":        {fn: cmdOver},
		"HDR":          {fn: cmdHdr},
		"XHDR":         {fn: cmdHdr},
		"LIST":         {fn: cmdList},
		"NEWGROUPS":    {fn: cmdNewGroups},
		"NEWNEWS":      {fn: cmdNewNews},
		"POST":         {fn: cmdPost},
		"AUTHINFO":     {fn: cmdAuthInfo},
		"STARTTLS":     {fn: cmdStartTLS},
		"COMPRESS":     {fn: cmdCompress},
		"IHAVE":        {fn: cmdIHave},
		"CHECK":        {fn: cmdCheck, stream: true},
		"TAKETHIS":     {fn: cmdTakeThis, stream: true},
	}
}
