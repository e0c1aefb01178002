package dial

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/internal/sockstest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in     string
		addr   string
		remote bool
		err    string
	}{
		{"socks5h://127.0.0.1:9050", "127.0.0.1:9050", true, ""},
		{"SOCKS5H://tor.local:9150", "tor.local:9150", true, ""},
		{"socks5://127.0.0.1:1080", "127.0.0.1:1080", false, ""},
		{"socks5h://[::1]:9050/", "[::1]:9050", true, ""},
		{"http://127.0.0.1:8080", "", false, "only socks5h"},
		{"socks4://127.0.0.1:1080", "", false, "only socks5h"},
		{"socks5h://127.0.0.1", "", false, "give the port"},
		{"socks5h://u:p@127.0.0.1:9050", "", false, "credentials"},
		{"127.0.0.1:9050", "", false, ""},
		{"", "", false, "want socks5h"},
	}
	for _, tt := range tests {
		p, err := ParseProxy(tt.in)
		if tt.addr == "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseProxy(%q) = %v, %v; want error with %q", tt.in, p, err, tt.err)
			}
			continue
		}
		if err != nil || p.Addr != tt.addr || p.RemoteDNS != tt.remote {
			t.Errorf("ParseProxy(%q) = %+v, %v", tt.in, p, err)
		}
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		in       string
		addr     string
		implicit bool
	}{
		{"news.example:119", "news.example:119", false},
		{"news.example", "news.example:119", false},
		{"nntp://news.example", "news.example:119", false},
		{"nntps://news.example", "news.example:563", true},
		{"nntps://news.example:8563/", "news.example:8563", true},
		{"news.example:563", "news.example:563", true},
		{"[::1]:1119", "[::1]:1119", false},
		{"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:119", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:119", false},
		{"news.example:0", "", false},
		{"news.example:http", "", false},
		{"nntps://", "", false},
		{"a b:119", "", false},
	}
	for _, tt := range tests {
		sv, err := ParseServer(tt.in)
		if tt.addr == "" {
			if err == nil {
				t.Errorf("ParseServer(%q) = %+v, want an error", tt.in, sv)
			}
			continue
		}
		if err != nil || sv.Addr() != tt.addr || sv.ImplicitTLS != tt.implicit {
			t.Errorf("ParseServer(%q) = %+v (%s), %v", tt.in, sv, sv.Addr(), err)
		}
	}
}

func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"news.example:119", "nntps://h", "[::1]:1", "nntp://x:563/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sv, err := ParseServer(s)
		if err != nil {
			return
		}
		if _, err := ParseServer(sv.Addr()); err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, sv.Addr(), err)
		}
	})
}

func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"socks5h://127.0.0.1:9050", "socks5://[::1]:1", "http://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProxy(s)
		if err != nil {
			return
		}
		q, err := ParseProxy(p.String())
		if err != nil || *q != *p {
			t.Fatalf("%q -> %v -> %v, %v", s, p, q, err)
		}
	})
}

// server is an NNTP server on loopback that counts the connections it
// accepted and says whether each was encrypted.
type server struct {
	addr     string
	accepted *atomic.Int64
}

// startServer serves nntpmem; mode is "plain", "starttls" or "nntps".
func startServer(t *testing.T, mode string, cert *testcert.Cert) *server {
	t.Helper()
	s := &server{}
	srv := &nntp.Server{Backend: nntpmem.New("alt.crypt.messages")}
	if mode != "plain" {
		srv.TLSConfig = cert.Server
	}
	cl := &nntptest.CountingListener{Listener: nntptest.Listen(t)}
	s.accepted = &cl.Accepted
	if mode == "nntps" {
		go srv.ServeTLS(cl)
	} else {
		go srv.Serve(cl)
	}
	t.Cleanup(func() { srv.Close() })
	s.addr = cl.Addr().String()
	return s
}

// mapDialer sends every direct connection to addr, as if the names asked
// for were remote hosts that resolve there.
type mapDialer struct{ addr string }

func (d mapDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.addr)
}

func TestThroughProxyNameResolvedByProxy(t *testing.T) {
	srv := startServer(t, "plain", nil)
	px := sockstest.Start(t)
	px.Map("news.example:119", srv.addr)
	px.Map("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:119", srv.addr)
	p, _ := ParseProxy("socks5h://" + px.Addr)
	c := &Config{Proxy: p, RequireProxy: true}
	ctx := context.Background()
	for _, host := range []string{"news.example", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion"} {
		cl, err := c.NNTP(ctx, host+":119", Isolation(Send), nil)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if _, err := cl.Group(ctx, "alt.crypt.messages"); err != nil {
			t.Fatal(err)
		}
		cl.Close()
	}
	reqs := px.Requests()
	if len(reqs) != 2 {
		t.Fatalf("proxy saw %d requests: %+v", len(reqs), reqs)
	}
	for i, want := range []string{"news.example", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion"} {
		if r := reqs[i]; !r.Name || r.Host != want || r.Port != 119 || !strings.HasPrefix(r.User, "altcrypt-send-") {
			t.Errorf("request %d: %+v; want the name %s, port 119, a send username", i, r, want)
		}
	}
	if reqs[0].User == reqs[1].User {
		t.Errorf("two posts shared the SOCKS username %q (one Tor circuit)", reqs[0].User)
	}
	if srv.accepted.Load() != 2 {
		t.Errorf("server accepted %d connections, want 2", srv.accepted.Load())
	}
}

func TestIsolationPerPurpose(t *testing.T) {
	a, b, c := Isolation(Send), Isolation(Sync), Isolation(Send)
	if !strings.HasPrefix(a, "altcrypt-send-") || !strings.HasPrefix(b, "altcrypt-sync-") || a == c || len(a) > 255 {
		t.Fatalf("%q %q %q", a, b, c)
	}
}

func TestLocalResolutionOnlyWhenAsked(t *testing.T) {
	srv := startServer(t, "plain", nil)
	_, port, _ := net.SplitHostPort(srv.addr)
	px := sockstest.Start(t)
	p, _ := ParseProxy("socks5://" + px.Addr)
	c := &Config{Proxy: p}
	cl, err := c.NNTP(context.Background(), "localhost:"+port, Isolation(Sync), nil)
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	reqs := px.Requests()
	if len(reqs) != 1 || reqs[0].Name || net.ParseIP(reqs[0].Host) == nil {
		t.Fatalf("socks5:// should send an address resolved here: %+v", reqs)
	}
	// An onion name cannot be resolved here: refused before any query.
	_, err = c.NNTP(context.Background(), "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:119", "", nil)
	if err == nil || !strings.Contains(err.Error(), "socks5h://") || !Explained(err) {
		t.Fatalf("onion over socks5://: %v", err)
	}
}

func TestProxyDownNeverDirect(t *testing.T) {
	srv := startServer(t, "plain", nil)
	// A port that was just free: nothing listens there.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	px := sockstest.Start(t) // a live proxy that cannot reach the server
	for name, proxyAddr := range map[string]string{"down": dead, "unreachable": px.Addr} {
		p, _ := ParseProxy("socks5h://" + proxyAddr)
		c := &Config{Proxy: p, Timeout: 5 * time.Second}
		_, err := c.NNTP(context.Background(), "news.example:119", Isolation(Send), nil)
		var pe *ProxyError
		if !errors.As(err, &pe) || !Explained(err) || !strings.Contains(err.Error(), "not connecting directly") {
			t.Errorf("%s: got %v, want a proxy error", name, err)
		}
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("the server saw %d connections: the client went around the proxy", n)
	}
}

func TestRequireProxy(t *testing.T) {
	srv := startServer(t, "plain", nil)
	c := &Config{RequireProxy: true}
	_, err := c.NNTP(context.Background(), srv.addr, Isolation(Send), nil)
	if !errors.Is(err, ErrNoProxy) || !Explained(err) {
		t.Fatalf("got %v", err)
	}
	c = &Config{}
	_, err = c.NNTP(context.Background(), "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:119", "", nil)
	if err == nil || !strings.Contains(err.Error(), "onion") {
		t.Fatalf("onion without a proxy: %v", err)
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("the server saw %d connections", n)
	}
}

// TestTLSPolicy: TLS whenever offered; plain only to this machine, through
// a proxy, or with Insecure.
func TestTLSPolicy(t *testing.T) {
	cert := testcert.New(t)
	tests := []struct {
		name     string
		mode     string // what the server offers
		host     string // what the user gives; "" is the loopback address
		insecure bool
		proxy    bool
		wantTLS  bool
		refused  bool
	}{
		{"starttls remote", "starttls", "localhost", false, false, true, false},
		{"starttls loopback", "starttls", "", false, false, true, false},
		{"nntps", "nntps", "nntps://localhost", false, false, true, false},
		{"plain loopback", "plain", "", false, false, false, false},
		{"plain remote refused", "plain", "news.example", false, false, false, true},
		{"plain remote insecure", "plain", "news.example", true, false, false, false},
		{"plain remote via proxy", "plain", "news.example", false, true, false, false},
		{"starttls via proxy", "starttls", "localhost", false, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.mode, cert)
			_, port, _ := net.SplitHostPort(srv.addr)
			c := &Config{Insecure: tt.insecure, RootCAs: cert.Pool}
			host := tt.host
			if host == "" {
				host = srv.addr
			} else {
				host += ":" + port
				// Names other than the loopback address reach the test
				// server as if they were remote hosts.
				c.Direct = mapDialer{srv.addr}
			}
			if tt.proxy {
				px := sockstest.Start(t)
				px.Map(strings.TrimPrefix(host, "nntps://"), srv.addr)
				c.Proxy, _ = ParseProxy("socks5h://" + px.Addr)
				c.Direct = nil
			}
			cl, err := c.NNTP(context.Background(), host, "", nil)
			if tt.refused {
				if !errors.Is(err, ErrPlain) || !Explained(err) || !strings.Contains(err.Error(), "--insecure") {
					t.Fatalf("got %v, want the plain-NNTP refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if cl.IsTLS() != tt.wantTLS {
				t.Fatalf("TLS %v, want %v", cl.IsTLS(), tt.wantTLS)
			}
			if _, err := cl.Group(context.Background(), "alt.crypt.messages"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A certificate that does not verify stops the connection: no plain
// fallback.
func TestTLSFailureIsFatal(t *testing.T) {
	cert := testcert.New(t)
	other := testcert.New(t)
	for _, mode := range []string{"starttls", "nntps"} {
		srv := startServer(t, mode, cert)
		host := srv.addr
		if mode == "nntps" {
			host = "nntps://" + host
		}
		c := &Config{RootCAs: other.Pool, Insecure: true}
		_, err := c.NNTP(context.Background(), host, "", nil)
		if err == nil || !Explained(err) || !strings.Contains(err.Error(), "not going on without it") {
			t.Errorf("%s with an untrusted certificate: %v", mode, err)
		}
	}
}
