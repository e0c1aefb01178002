// Package dial connects the pool client to news servers the way the user
// asked: through a SOCKS5 proxy (Tor, a Nym or other mixnet gateway) with
// one circuit per purpose, and over TLS whenever the server offers it.
//
// Two rules hold whatever goes wrong: a configured proxy is never bypassed
// (a failing proxy fails the connection, there is no direct fallback), and
// plain NNTP to a host other than this machine is refused unless the user
// said so (Insecure) or a proxy carries the connection.
package dial

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/altcrypt/altcrypt/nntp"
)

// EnvProxy names the environment variable that gives a default proxy.
const EnvProxy = "ALTCRYPT_PROXY"

// Purpose says what a connection is for. Connections of different purposes
// never share SOCKS credentials, so Tor (IsolateSOCKSAuth, on by default)
// never puts them on one circuit.
type Purpose string

// The purposes the client connects for.
const (
	Send Purpose = "send"
	Sync Purpose = "sync"
)

// Isolation returns fresh SOCKS credentials for purpose: a username that
// names the purpose and carries a random part, so that two posts (or a post
// and a sync) never ride one circuit, while the connections of one sync,
// which share a username, may.
func Isolation(p Purpose) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return "altcrypt-" + string(p) + "-" + hex.EncodeToString(b[:])
}

// Proxy is a parsed proxy setting.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr string
	// RemoteDNS is true for socks5h (the proxy resolves the server's
	// name: .onion works and no DNS query leaves this machine) and false
	// for socks5 (the name is resolved here; only when asked for).
	RemoteDNS bool
}

// String gives the proxy back as a URL.
func (p *Proxy) String() string {
	if p.RemoteDNS {
		return "socks5h://" + p.Addr
	}
	return "socks5://" + p.Addr
}

// ParseProxy reads socks5h://HOST:PORT or socks5://HOST:PORT.
func ParseProxy(s string) (*Proxy, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("dial: proxy %q: want socks5h://HOST:PORT (or socks5://HOST:PORT to resolve names locally)", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("dial: proxy %q: credentials are chosen per connection for isolation; give none", s)
	}
	p := &Proxy{Addr: u.Host}
	switch strings.ToLower(u.Scheme) {
	case "socks5h":
		p.RemoteDNS = true
	case "socks5":
	default:
		return nil, fmt.Errorf("dial: proxy %q: only socks5h:// and socks5:// proxies are supported", s)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return nil, fmt.Errorf("dial: proxy %q: give the port (Tor's is usually 9050)", s)
	}
	return p, nil
}

// Config says how to reach servers.
type Config struct {
	// Proxy carries every connection when set.
	Proxy *Proxy
	// RequireProxy refuses to connect at all without a proxy.
	RequireProxy bool
	// Insecure allows plain NNTP to a server that is not on this machine
	// and offers no TLS.
	Insecure bool
	// RootCAs verifies servers' certificates (the system's when nil).
	RootCAs *x509.CertPool
	// Timeout bounds connecting, the proxy's answer and the TLS handshake
	// (30 s when zero).
	Timeout time.Duration
	// Direct makes the TCP connections to the server, or to the proxy
	// when there is one (a net.Dialer when nil).
	Direct ContextDialer
}

// ContextDialer makes network connections.
type ContextDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Server is a parsed server address.
type Server struct {
	Host, Port string
	// ImplicitTLS is NNTPS: TLS from the first byte (nntps:// or port 563).
	ImplicitTLS bool
}

// Addr is host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, s.Port) }

// ParseServer reads HOST:PORT, HOST (port 119), nntp://HOST[:PORT] or
// nntps://HOST[:PORT] (port 563).
func ParseServer(s string) (Server, error) {
	var sv Server
	rest := s
	switch {
	case strings.HasPrefix(strings.ToLower(s), "nntps://"):
		sv.ImplicitTLS, rest = true, s[len("nntps://"):]
	case strings.HasPrefix(strings.ToLower(s), "nntp://"):
		rest = s[len("nntp://"):]
	}
	rest = strings.TrimSuffix(rest, "/")
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		host, port = strings.Trim(rest, "[]"), "119"
		if sv.ImplicitTLS {
			port = "563"
		}
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return sv, fmt.Errorf("dial: server %q: want HOST:PORT, nntp://HOST[:PORT] or nntps://HOST[:PORT]", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return sv, fmt.Errorf("dial: server %q: bad port", s)
	}
	if port == "563" {
		sv.ImplicitTLS = true
	}
	sv.Host, sv.Port = host, port
	return sv, nil
}

// IsLocal reports a host on this machine: loopback addresses and localhost.
func IsLocal(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsOnion reports a Tor onion service name.
func IsOnion(host string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".onion")
}

// ErrNoProxy is returned when a proxy is required and none is set.
var ErrNoProxy = errors.New("dial: require-proxy is set but no proxy is configured (--proxy socks5h://HOST:PORT, $ALTCRYPT_PROXY or the proxy setting); not connecting directly")

// ErrPlain is wrapped by the refusal to speak plain NNTP to a remote host.
var ErrPlain = errors.New("plain NNTP refused")

// explained marks an error whose text already says what went wrong and
// what to do (a proxy failure, a refusal, a TLS failure), unlike a bare
// network or protocol error that the caller should put into words.
type explained struct{ error }

func (e explained) Unwrap() error { return e.error }

// Explained reports whether err says all there is to say by itself.
func Explained(err error) bool {
	var e explained
	return errors.As(err, &e)
}

// Conn opens a TCP connection to the server as configured: through the
// proxy with the SOCKS username iso, or directly.
func (c *Config) Conn(ctx context.Context, sv Server, iso string) (net.Conn, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var direct ContextDialer = &net.Dialer{Timeout: timeout}
	if c.Direct != nil {
		direct = c.Direct
	}
	if c.Proxy == nil {
		if c.RequireProxy {
			return nil, explained{ErrNoProxy}
		}
		if IsOnion(sv.Host) {
			return nil, explained{fmt.Errorf("dial: %s is a Tor onion service: set a proxy (--proxy socks5h://127.0.0.1:9050)", sv.Host)}
		}
		return direct.DialContext(ctx, "tcp", sv.Addr())
	}
	if iso == "" {
		iso = Isolation("other")
	}
	d, err := proxy.SOCKS5("tcp", c.Proxy.Addr, &proxy.Auth{User: iso, Password: "altcrypt"}, forward{direct})
	if err != nil {
		return nil, err
	}
	target := sv.Addr()
	if !c.Proxy.RemoteDNS && net.ParseIP(sv.Host) == nil {
		if IsOnion(sv.Host) {
			return nil, explained{fmt.Errorf("dial: %s is a Tor onion service: only the proxy can resolve it; use socks5h://%s", sv.Host, c.Proxy.Addr)}
		}
		ips, err := net.DefaultResolver.LookupHost(ctx, sv.Host)
		if err != nil {
			return nil, explained{fmt.Errorf("dial: resolving %s locally (socks5://): %w", sv.Host, err)}
		}
		target = net.JoinHostPort(ips[0], sv.Port)
	}
	conn, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, explained{&ProxyError{Proxy: c.Proxy, Target: sv.Addr(), Err: err}}
	}
	return conn, nil
}

// forward adapts a ContextDialer to what proxy.SOCKS5 takes; it uses
// DialContext.
type forward struct{ ContextDialer }

func (f forward) Dial(network, addr string) (net.Conn, error) {
	return f.DialContext(context.Background(), network, addr)
}

// ProxyError is a connection the proxy could not make. Nothing was tried
// without it.
type ProxyError struct {
	Proxy  *Proxy
	Target string
	Err    error
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("the proxy %s could not connect to %s (%v); not connecting directly", e.Proxy, e.Target, e.Err)
}

func (e *ProxyError) Unwrap() error { return e.Err }

// NNTP connects to server, reads the greeting and, unless the server is an
// onion service or the connection is already NNTPS, upgrades to TLS with
// STARTTLS when the server offers it (looking again after MODE READER,
// where INN's nnrpd offers it). A TLS failure is an error, never a reason
// to go on in plain text. Plain NNTP to a remote host is refused unless
// Insecure is set or a proxy carries the connection. iso is the SOCKS
// username (Isolation).
func (c *Config) NNTP(ctx context.Context, server, iso string, opts *nntp.ClientOptions) (*nntp.Client, error) {
	sv, err := ParseServer(server)
	if err != nil {
		return nil, err
	}
	conn, err := c.Conn(ctx, sv, iso)
	if err != nil {
		return nil, err
	}
	var o nntp.ClientOptions
	if opts != nil {
		o = *opts
	}
	tcfg := &tls.Config{ServerName: sv.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tcfg = o.TLSConfig.Clone()
		if tcfg.ServerName == "" {
			tcfg.ServerName = sv.Host
		}
	}
	o.TLSConfig = tcfg
	if sv.ImplicitTLS {
		tc := tls.Client(conn, tcfg)
		hctx, cancel := context.WithTimeout(ctx, c.timeout())
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, explained{fmt.Errorf("dial: TLS with %s failed (not going on without it): %w", sv.Addr(), err)}
		}
		conn = tc
	}
	cl, err := nntp.NewClient(conn, &o)
	if err != nil {
		return nil, err
	}
	if cl.IsTLS() || IsOnion(sv.Host) {
		// An onion address authenticates and encrypts by itself, and the
		// server's certificate would name its public host, not the onion.
		return cl, nil
	}
	if err := c.startTLS(ctx, cl, tcfg); err != nil {
		cl.Close()
		if errors.Is(err, errTLS) {
			return nil, explained{fmt.Errorf("dial: %s: %w", sv.Addr(), err)}
		}
		return nil, err
	}
	if !cl.IsTLS() && !IsLocal(sv.Host) && !c.Insecure && c.Proxy == nil {
		cl.Close()
		return nil, explained{fmt.Errorf("dial: %s offers no TLS (neither NNTPS nor STARTTLS): %w, since everything sent would be readable and linkable on the way; "+
			"use nntps://%s if it has an NNTPS port, go through a proxy (--proxy), or accept it with --insecure", sv.Addr(), ErrPlain, sv.Host)}
	}
	return cl, nil
}

func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

var errTLS = errors.New("STARTTLS offered but failed (not going on without it)")

// startTLS runs STARTTLS when the server lists it, before or after MODE
// READER.
func (c *Config) startTLS(ctx context.Context, cl *nntp.Client, cfg *tls.Config) error {
	caps, err := capabilities(ctx, cl)
	if err != nil {
		return err
	}
	if !has(caps, "STARTTLS") && has(caps, "MODE-READER") {
		if _, err := cl.ModeReader(ctx); err != nil {
			var ne *nntp.Error
			if !errors.As(err, &ne) {
				return err
			}
		}
		if caps, err = capabilities(ctx, cl); err != nil {
			return err
		}
	}
	if !has(caps, "STARTTLS") {
		return nil
	}
	if err := cl.StartTLS(ctx, cfg); err != nil {
		var ne *nntp.Error
		if errors.As(err, &ne) && ne.Code == 580 {
			// The server cannot start TLS after all (INN's nnrpd says so
			// when it has no certificate) and the connection goes on in
			// plain text: the same as not offering it, so the plain-NNTP
			// rule decides.
			return nil
		}
		return fmt.Errorf("%w: %w", errTLS, err)
	}
	return nil
}

// capabilities asks CAPABILITIES; a server without it (500) lists none.
func capabilities(ctx context.Context, cl *nntp.Client) ([]string, error) {
	caps, err := cl.Capabilities(ctx)
	var ne *nntp.Error
	if errors.As(err, &ne) {
		return nil, nil
	}
	return caps, err
}

func has(caps []string, word string) bool {
	for _, c := range caps {
		f := strings.Fields(c)
		if len(f) > 0 && strings.EqualFold(f[0], word) {
			return true
		}
	}
	return false
}
