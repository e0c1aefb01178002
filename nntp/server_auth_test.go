package nntp_test

import (
	"context"
	"crypto/tls"
	"strings"
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
	if l := tc.line(); !strings.HasPrefix(l, "382 ") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tlsConn := tls.Client(tc.c, clientTLS)
	if err := tlsConn.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc = &tconn{t: t, c: tlsConn, br: newReader(tlsConn)}
	tc.cmd("STAT", "412 ") // state was reset, and DATE did not run
	if c := capsOf(tc); strings.Contains(c, "STARTTLS") || !strings.Contains(c, "|AUTHINFO USER|") {
		t.Fatalf("capabilities after STARTTLS %s", c)
	}
	tc.cmd("STARTTLS", "502 ")
	tc.cmd("AUTHINFO USER u", "381 ")
	tc.cmd("AUTHINFO PASS p", "281 ")
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
	if g := tc.line(); !strings.HasPrefix(g, "200 ") {
		t.Fatalf("greeting %q", g)
	}
	if caps := capsOf(tc); strings.Contains(caps, "STARTTLS") || !strings.Contains(caps, "|AUTHINFO USER|") {
		t.Fatalf("capabilities %s", caps)
	}
	tc.cmd("STARTTLS", "502 ")
	tc.cmd("AUTHINFO USER u", "381 ")
	tc.cmd("AUTHINFO PASS p", "281 ")
	tc.cmd("ARTICLE <3@test>", "220 0 <3@test>")
	tc.block()
}
