package nntp

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/altcrypt/altcrypt/internal/tlsconf"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("nntp: server closed")

// Defaults for the zero values of Server's limits.
const (
	DefaultMaxLineLength        = 512 // RFC 3977 section 3.1, including CRLF
	DefaultMaxArticleLineLength = 16 << 10
	DefaultMaxArticleSize       = 1 << 20
	DefaultReadTimeout          = time.Minute
	DefaultWriteTimeout         = time.Minute
	DefaultIdleTimeout          = 3 * time.Minute // RFC 3977 section 3.1: at least three minutes
	DefaultMaxErrors            = 10
	DefaultStreamWindow         = 64
	// DefaultMinDataRate (bytes per second) is far below any real link,
	// and far above a client trickling bytes to hold a connection.
	DefaultMinDataRate = 1 << 10
	// DefaultMaxConnectionsPerIP suits a public server: a reader needs one
	// or two connections, a feeding peer a handful.
	DefaultMaxConnectionsPerIP = 16
	DefaultMaxHeaderScan       = 1000
)

// Server serves NNTP on the listeners given to Serve. Set its fields before
// the first Serve; they must not change afterwards. Zero limits take the
// defaults above; MaxConnections of 0 means no limit, and a negative
// MaxConnectionsPerIP or MinDataRate turns that limit off.
type Server struct {
	Backend Backend
	// Name is the host name in the greeting.
	Name   string
	Logger *slog.Logger

	// TLSConfig enables STARTTLS and is required by ServeTLS. The server
	// uses a copy that offers only AEAD suites under TLS 1.2 (unless it
	// names its own CipherSuites) and nothing older than TLS 1.2; a
	// GetCertificate in it lets a new certificate take effect at once.
	TLSConfig *tls.Config
	// AllowInsecureAuth permits AUTHINFO without TLS (tests, loopback).
	AllowInsecureAuth bool

	// MaxLineLength bounds a command line, including its CRLF (RFC 3977
	// section 3.1 allows 512 octets).
	MaxLineLength int
	// MaxArticleLineLength bounds one line of an article being received.
	MaxArticleLineLength int
	// MaxArticleSize bounds a received article, headers included.
	MaxArticleSize int

	// IdleTimeout bounds the wait for a command line and its arrival as a
	// whole: a line must be complete within IdleTimeout of the moment the
	// server started waiting for it. An article must arrive within
	// ReadTimeout plus one second for every MinDataRate bytes received,
	// so a long transfer that keeps moving is not cut off while a client
	// trickling bytes is. Other reads (a TLS handshake) get ReadTimeout;
	// each write gets WriteTimeout.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	MinDataRate  int

	MaxConnections int
	// MaxConnectionsPerIP bounds the connections from one address (an
	// IPv6 /64 counts as one address, since one subscriber holds it all).
	// Loopback addresses are not counted unless LimitLoopback is set: a
	// local proxy or an onion service makes every client look local.
	MaxConnectionsPerIP int
	LimitLoopback       bool
	// MaxErrors consecutive error responses (5xx and authentication
	// failures) close the connection with 400.
	MaxErrors int
	// MaxHeaderScan bounds the articles one HDR or XHDR of a header
	// outside the overview may read (each is read whole); a larger range
	// is refused with 503.
	MaxHeaderScan int
	// StreamWindow is how many pipelined CHECK/TAKETHIS commands are
	// served concurrently per connection.
	StreamWindow int

	// AUTHINFO against password guessing. A connection is closed after
	// MaxAuthFailures failed AUTHINFO PASS, whatever commands came between
	// them; each failure is answered after AuthFailureDelay, doubled for
	// every earlier failure of the connection (up to 8 times). An address
	// (counted as for MaxConnectionsPerIP) and an account name may each
	// fail AuthFailuresPerIP and AuthFailuresPerUser times per
	// AuthFailureWindow, the budget refilling evenly; past it AUTHINFO is
	// refused without a password check. (An attacker can so lock an
	// account out for a while: the price of bounding guesses against it.)
	// MaxConcurrentAuth bounds the password checks running at once
	// (default: half the CPUs, at least one), so deliberately slow hashes
	// cannot take every core. Negative values turn a limit off. Every
	// limit applies alike to known and unknown account names.
	MaxAuthFailures     int
	AuthFailureDelay    time.Duration
	AuthFailuresPerIP   int
	AuthFailuresPerUser int
	AuthFailureWindow   time.Duration
	MaxConcurrentAuth   int

	// MaxCompressed bounds the connections with COMPRESS DEFLATE active
	// (DefaultMaxCompressed when zero; negative: COMPRESS is not offered).
	// Past it COMPRESS is answered 403 and the connection goes on
	// uncompressed.
	MaxCompressed int

	// LogAddresses allows client addresses in logs. Off by default: the
	// server never logs who connects.
	LogAddresses bool

	mu              sync.Mutex
	listeners       map[net.Listener]struct{}
	conns           map[*conn]struct{}
	perIP           map[string]int
	connWG          sync.WaitGroup
	closing         atomic.Bool
	nextID          atomic.Uint64
	compressedConns atomic.Int64
	authOnce        sync.Once
	authState       *authLimits
	tlsOnce         sync.Once
	tlsConf         *tls.Config

	// Observer, if set, is told about connections, responses and
	// recovered panics (for metrics; see Observer).
	Observer Observer
}

// tlsConfig is TLSConfig as served (see TLSConfig), nil without one.
func (s *Server) tlsConfig() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig != nil {
			s.tlsConf = tlsconf.Server(s.TLSConfig)
		}
	})
	return s.tlsConf
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func (s *Server) maxLine() int { return orInt(s.MaxLineLength, DefaultMaxLineLength) }
func (s *Server) maxArticleLine() int {
	return orInt(s.MaxArticleLineLength, DefaultMaxArticleLineLength)
}
func (s *Server) maxArticle() int { return orInt(s.MaxArticleSize, DefaultMaxArticleSize) }
func (s *Server) readTimeout() time.Duration {
	return orDur(s.ReadTimeout, DefaultReadTimeout)
}
func (s *Server) writeTimeout() time.Duration {
	return orDur(s.WriteTimeout, DefaultWriteTimeout)
}
func (s *Server) idleTimeout() time.Duration {
	return orDur(s.IdleTimeout, DefaultIdleTimeout)
}
func (s *Server) minDataRate() int64 {
	if s.MinDataRate < 0 {
		return 0
	}
	return int64(orInt(s.MinDataRate, DefaultMinDataRate))
}
func (s *Server) maxPerIP() int {
	if s.MaxConnectionsPerIP < 0 {
		return 0
	}
	return orInt(s.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
}
func (s *Server) maxHeaderScan() int { return orInt(s.MaxHeaderScan, DefaultMaxHeaderScan) }
func (s *Server) maxErrors() int     { return orInt(s.MaxErrors, DefaultMaxErrors) }
func (s *Server) streamWindow() int  { return orInt(s.StreamWindow, DefaultStreamWindow) }

// drainLimit is how much of an oversized article we read and throw away
// to stay in sync before giving up on the connection.
func (s *Server) drainLimit() int64 { return 4*int64(s.maxArticle()) + 1<<20 }

// Serve accepts connections on l until Shutdown or Close, serving each in
// its own goroutine. It always returns a non-nil error.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(l, true) {
		return ErrServerClosed
	}
	defer s.trackListener(l, false)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.accept(c)
	}
}

// ServeTLS serves implicit TLS (NNTPS, port 563) on l using TLSConfig.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.TLSConfig == nil {
		return errors.New("nntp: ServeTLS needs TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.tlsConfig()))
}

// ListenAndServe listens on addr (":119" if empty) and serves.
func (s *Server) ListenAndServe(addr string) error {
	return listenAnd(cmp.Or(addr, ":119"), s.Serve)
}

// ListenAndServeTLS listens on addr (":563" if empty) and serves NNTPS.
func (s *Server) ListenAndServeTLS(addr string) error {
	return listenAnd(cmp.Or(addr, ":563"), s.ServeTLS)
}

// listenAnd listens on addr and hands the listener to serve.
func listenAnd(addr string, serve func(net.Listener) error) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serve(l)
}

func (s *Server) trackListener(l net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		if s.listeners == nil {
			s.listeners = map[net.Listener]struct{}{}
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

// ipKey is the per-address counting key: the host part of the address,
// an IPv6 address cut to its /64. It is "" for an address that is not
// limited (loopback, unless limitLoopback).
func ipKey(a net.Addr, limitLoopback bool) string {
	var ip net.IP
	switch ta := a.(type) {
	case *net.TCPAddr:
		ip = ta.IP
	case nil:
		return ""
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			host = a.String()
		}
		if ip = net.ParseIP(host); ip == nil {
			return "" // a pipe or socket pair: no address to count
		}
	}
	if ip.IsLoopback() && !limitLoopback {
		return ""
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// ServeConn serves one already accepted connection (from inetd, a test's
// net.Pipe, or a listener of the caller's) and returns when it ends. The
// connection caps apply to it like to any other.
func (s *Server) ServeConn(nc net.Conn) {
	if run := s.admit(nc); run != nil {
		run()
	}
}

// accept admits c under the connection caps and starts serving it.
func (s *Server) accept(nc net.Conn) {
	if run := s.admit(nc); run != nil {
		go run()
	}
}

// admit registers nc under the caps and returns the function that serves
// it, or refuses it (with 400) and returns nil.
func (s *Server) admit(nc net.Conn) func() {
	key := ipKey(nc.RemoteAddr(), s.LimitLoopback)
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
		s.perIP = map[string]int{}
	}
	refuse, why := "", ""
	switch {
	case s.closing.Load():
		refuse, why = "400 Server shutting down", "shutting-down"
	case s.MaxConnections > 0 && len(s.conns) >= s.MaxConnections:
		refuse, why = "400 Too many connections, try again later", "max-connections"
	case key != "" && s.maxPerIP() > 0 && s.perIP[key] >= s.maxPerIP():
		refuse, why = "400 Too many connections from your address, try again later", "max-connections-per-ip"
	}
	if refuse != "" {
		s.mu.Unlock()
		s.observer().ConnRefused(why)
		s.logger().Info("nntp: connection refused", "reason", refuse[4:])
		go func() {
			// The greeting of a refused connection; never block Accept.
			nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			nc.Write([]byte(refuse + "\r\n"))
			nc.Close()
		}()
		return nil
	}
	c := newConn(s, nc)
	c.ipKey = key
	s.conns[c] = struct{}{}
	if key != "" {
		s.perIP[key]++
	}
	s.connWG.Add(1)
	s.mu.Unlock()
	obs := s.observer()
	obs.ConnOpened()
	return func() {
		defer s.connWG.Done()
		defer obs.ConnClosed()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			if key != "" {
				if s.perIP[key]--; s.perIP[key] <= 0 {
					delete(s.perIP, key)
				}
			}
			s.mu.Unlock()
		}()
		c.serve()
	}
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return err
}

// closeListenersLocked closes every listener, for Close and Shutdown
// alike, and returns the first error. The caller holds s.mu.
func (s *Server) closeListenersLocked() error {
	var err error
	for l := range s.listeners {
		if e := l.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Shutdown stops accepting, lets each connection finish the command it is
// serving, closes idle connections with "400 Server shutting down", and
// waits for all to end or ctx to be done (then it closes the rest).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			c.kickIfIdle()
		}
		s.mu.Unlock()
		select {
		case <-done:
			return err
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}
