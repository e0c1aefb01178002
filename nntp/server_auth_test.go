package nntp_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

func capsOf(tc *tconn) string {
	tc.t.Helper()
	tc.cmd("CAPABILITIES", "101 ")
	return "|" + strings.Join(tc.block(), "|") + "|"
}

func TestAuthInfoRequiresEncryption(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	_, addr := startServer(t, mem, func(s *nntp.Server) { s.AllowInsecureAuth = false })
	tc := dial(t, addr)
	if c := capsOf(tc); !strings.Contains(c, "|AUTHINFO|") || strings.Contains(c, "STARTTLS") {
		t.Fatalf("capabilities %s", c)
	}
	tc.cmd("AUTHINFO USER u", "483 ")
	tc.cmd("AUTHINFO PASS p", "483 ")
	tc.cmd("STARTTLS", "502 ") // no TLSConfig
}

// Without any account, logging in cannot help: no AUTHINFO capability,
// 502 for AUTHINFO, and 440 rather than 480 for a refused POST.
func TestAuthInfoWithoutAccounts(t *testing.T) {
	mem := newMem(t)
	mem.Anonymous.Post = false
	_, addr := startServer(t, noAccounts{mem}, nil)
	tc := dial(t, addr)
	if c := capsOf(tc); strings.Contains(c, "AUTHINFO") {
		t.Fatalf("capabilities %s", c)
	}
	tc.cmd("AUTHINFO USER u", "502 ")
	tc.cmd("POST", "440 ")
}

// noAccounts serves nntpmem sessions that say nobody can log in, as a
// backend without an accounts file does.
type noAccounts struct{ *nntpmem.Backend }

func (b noAccounts) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := b.Backend.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return noAccountsSession{s.(*nntpmem.Session)}, nil
}

type noAccountsSession struct{ *nntpmem.Session }

func (noAccountsSession) AuthAvailable() bool { return false }

func TestAuthInfo(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	mem.AddUser("spaced", "a b  c")
	mem.Anonymous.Feed = false
	_, addr := startServer(t, mem, nil)
	tc := dial(t, addr)
	runScript(t, tc, []step{
		{"AUTHINFO", "501 ", nil},
		{"AUTHINFO FOO bar", "501 ", nil},
		{"AUTHINFO SASL PLAIN", "503 ", nil},
		{"AUTHINFO USER", "501 ", nil},
		{"AUTHINFO PASS p", "482 ", nil},
		{"AUTHINFO USER u", "381 ", nil},
		{"AUTHINFO PASS wrong", "481 ", nil},
		{"AUTHINFO PASS p", "482 ", nil}, // the failed attempt used up the USER
		{"AUTHINFO USER nobody", "381 ", nil},
		{"AUTHINFO PASS p", "481 ", nil},
		{"IHAVE <new@x>", "480 ", nil},
		{"MODE STREAM", "480 ", nil},
		{"authinfo user u", "381 ", nil},
		{"AUTHINFO PASS p", "281 ", nil},
		{"AUTHINFO USER u", "502 ", nil},
		{"AUTHINFO PASS p", "502 ", nil},
		{"IHAVE <1@test>", "435 ", nil},
		{"MODE STREAM", "203 ", nil},
	})
	if c := capsOf(tc); strings.Contains(c, "AUTHINFO") || !strings.Contains(c, "|IHAVE|") {
		t.Fatalf("capabilities after login %s", c)
	}
	tc2 := dial(t, addr)
	tc2.cmd("AUTHINFO USER spaced", "381 ")
	tc2.cmd("AUTHINFO PASS a b  c", "281 ")
}

func TestStartTLS(t *testing.T) {
	cert := testcert.New(t)
	serverTLS, clientTLS := cert.Server, cert.Client()
	mem := newMem(t)
	mem.AddUser("u", "p")
	_, addr := startServer(t, mem, func(s *nntp.Server) {
		s.TLSConfig = serverTLS
		s.AllowInsecureAuth = false
	})
	tc := dial(t, addr)
	if c := capsOf(tc); !strings.Contains(c, "|STARTTLS|") || !strings.Contains(c, "|AUTHINFO|") {
		t.Fatalf("capabilities %s", c)
	}
	tc.cmd("GROUP alt.test", "211 ")
	tc.cmd("STARTTLS now", "501 ")
	// A command sent in clear text right after STARTTLS must not run
	// inside the TLS session (RFC 4642 section 2.2.2).
	tc.send("STARTTLS\r\nDATE\r\n")
	tc.expect("STARTTLS", "382 ")
	tlsConn := tls.Client(tc.c, clientTLS)
	if err := tlsConn.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc = &tconn{t: t, c: tlsConn, br: newReader(tlsConn)}
	tc.cmd("STAT", "412 ") // state was reset, and DATE did not run
	loginOverTLS(t, tc)
	tc.cmd("GROUP alt.test", "211 3 1 3 alt.test")
	tc.cmd("QUIT", "205 ")

	// After logging in (here without TLS, as the test allows) STARTTLS is
	// refused.
	_, addr2 := startServer(t, mem, func(s *nntp.Server) { s.TLSConfig = serverTLS })
	tc2 := dial(t, addr2)
	tc2.cmd("AUTHINFO USER u", "381 ")
	tc2.cmd("AUTHINFO PASS p", "281 ")
	tc2.cmd("STARTTLS", "502 ")

	// A client that botches the handshake only loses its own connection.
	tc3 := dial(t, addr)
	tc3.cmd("STARTTLS", "382 ")
	tc3.send("this is not a TLS client hello\r\n")
	tc3.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := tc3.c.Read(buf); err != nil {
			break
		}
	}
	dial(t, addr).cmd("DATE", "111 ")
}

// loginOverTLS checks a session over TLS, by STARTTLS or implicit: it
// offers AUTHINFO USER and no STARTTLS, refuses STARTTLS, and logs u in.
func loginOverTLS(t *testing.T, tc *tconn) {
	t.Helper()
	if c := capsOf(tc); strings.Contains(c, "STARTTLS") || !strings.Contains(c, "|AUTHINFO USER|") {
		t.Fatalf("capabilities over TLS %s", c)
	}
	tc.cmd("STARTTLS", "502 ")
	tc.cmd("AUTHINFO USER u", "381 ")
	tc.cmd("AUTHINFO PASS p", "281 ")
}

func TestImplicitTLS(t *testing.T) {
	cert := testcert.New(t)
	serverTLS, clientTLS := cert.Server, cert.Client()
	mem := newMem(t)
	mem.AddUser("u", "p")
	srv := &nntp.Server{Backend: mem, Logger: testLogger(t), TLSConfig: serverTLS}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	t.Cleanup(func() { srv.Close() })
	c, err := tls.Dial("tcp", l.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := &tconn{t: t, c: c, br: newReader(c)}
	tc.expect("greeting", "200 ")
	loginOverTLS(t, tc)
	tc.cmd("ARTICLE <3@test>", "220 0 <3@test>")
	tc.block()
}

// TestAuthFailuresCountAcrossCommands: a 381 or any success between
// failed passwords does not reset their count; the connection is closed
// after MaxAuthFailures.
func TestAuthFailuresCountAcrossCommands(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	_, addr := startServer(t, mem, nil)
	tc := dial(t, addr)
	for i := 1; i <= nntp.DefaultMaxAuthFailures; i++ {
		tc.cmd("AUTHINFO USER u", "381 ")
		tc.cmd("AUTHINFO PASS wrong", "481 ")
		if i < nntp.DefaultMaxAuthFailures {
			tc.cmd("DATE", "111 ")
		}
	}
	tc.expect(fmt.Sprintf("after %d failures", nntp.DefaultMaxAuthFailures), "400 ")
	tc.expectClosed()
}

// TestAuthBudgets: failures from one address, and failures against one
// account name, are limited over time across connections; past the
// budget even the right password is refused (unchecked).
func TestAuthBudgets(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	mem.AddUser("v", "q")
	_, addr := startServer(t, mem, func(s *nntp.Server) {
		s.LimitLoopback = true
		s.AuthFailuresPerIP = 4
		s.AuthFailuresPerUser = -1
	})
	for _, user := range []string{"u", "nobody"} {
		tc := dial(t, addr)
		for i := 0; i < 2; i++ {
			tc.cmd("AUTHINFO USER "+user, "381 ")
			tc.cmd("AUTHINFO PASS wrong", "481 ")
		}
	}
	tc := dial(t, addr)
	tc.cmd("AUTHINFO USER v", "381 ")
	tc.cmd("AUTHINFO PASS q", "481 Too many")

	_, addr = startServer(t, mem, func(s *nntp.Server) {
		s.LimitLoopback = true
		s.AuthFailuresPerIP = -1
		s.AuthFailuresPerUser = 3
	})
	for _, user := range []string{"u", "nobody"} {
		for i := 0; i < 3; i++ {
			tc := dial(t, addr)
			tc.cmd("AUTHINFO USER "+user, "381 ")
			tc.cmd("AUTHINFO PASS wrong", "481 ")
		}
		tc := dial(t, addr)
		tc.cmd("AUTHINFO USER "+user, "381 ")
		tc.cmd("AUTHINFO PASS p", "481 Too many")
	}
	tc = dial(t, addr)
	tc.cmd("AUTHINFO USER v", "381 ")
	tc.cmd("AUTHINFO PASS q", "281 ")
}

// slowAuth counts the password checks in progress; each waits for gate.
type slowAuth struct {
	*nntpmem.Backend
	mu           *sync.Mutex
	inside, most *int
	gate         chan struct{}
}

func (b slowAuth) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := b.Backend.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return slowAuthSession{s.(*nntpmem.Session), b}, nil
}

type slowAuthSession struct {
	*nntpmem.Session
	b slowAuth
}

func (s slowAuthSession) Authenticate(ctx context.Context, user, pass string) error {
	s.b.mu.Lock()
	*s.b.inside++
	*s.b.most = max(*s.b.most, *s.b.inside)
	s.b.mu.Unlock()
	<-s.b.gate
	s.b.mu.Lock()
	*s.b.inside--
	s.b.mu.Unlock()
	return s.Session.Authenticate(ctx, user, pass)
}

// TestAuthConcurrencyBound: no more than MaxConcurrentAuth password
// checks run at once, however many connections ask.
func TestAuthConcurrencyBound(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	b := slowAuth{Backend: mem, mu: new(sync.Mutex), inside: new(int), most: new(int), gate: make(chan struct{})}
	_, addr := startServer(t, b, func(s *nntp.Server) { s.MaxConcurrentAuth = 1 })
	var conns []*tconn
	for i := 0; i < 4; i++ {
		tc := dial(t, addr)
		tc.cmd("AUTHINFO USER u", "381 ")
		tc.send("AUTHINFO PASS p\r\n")
		conns = append(conns, tc)
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return *b.inside > 0 })
	time.Sleep(200 * time.Millisecond) // room for a second check to start, were it allowed
	close(b.gate)
	for _, tc := range conns {
		tc.expect("AUTHINFO PASS", "281 ")
	}
	if *b.most != 1 {
		t.Fatalf("%d password checks ran at once, want 1", *b.most)
	}
}

// TestTLSOnlyAEAD: under TLS 1.2, STARTTLS and NNTPS offer no CBC suite,
// even when the TLSConfig given leaves Go's defaults in place.
func TestTLSOnlyAEAD(t *testing.T) {
	cert := testcert.New(t)
	clientTLS := cert.Client()
	clientTLS.MaxVersion = tls.VersionTLS12
	clientTLS.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.TLSConfig = cert.Server })
	tc := dial(t, addr)
	tc.cmd("STARTTLS", "382 ")
	if err := tls.Client(tc.c, clientTLS).Handshake(); err == nil {
		t.Fatal("STARTTLS agreed a CBC suite")
	}

	srv := &nntp.Server{Backend: newMem(t), Logger: testLogger(t), TLSConfig: cert.Server}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	t.Cleanup(func() { srv.Close() })
	if c, err := tls.Dial("tcp", l.Addr().String(), clientTLS); err == nil {
		c.Close()
		t.Fatal("NNTPS agreed a CBC suite")
	}
	clientTLS.CipherSuites = nil
	c, err := tls.Dial("tcp", l.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
