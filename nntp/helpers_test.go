package nntp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

// Fixture articles, CRLF line endings, as stored by nntpmem.
var (
	art1 = crlf(`From: alice@example.invalid
Newsgroups: alt.test
Subject: first
Date: Wed, 25 Nov 2026 10:00:00 +0000
Message-ID: <1@test>

hello
.dotted line
`)
	art2 = crlf("From: bob@example.invalid\nNewsgroups: alt.test,misc.other\nSubject: tab\there\nDate: Wed, 25 Nov 2026 10:01:00 +0000\nMessage-ID: <2@test>\nReferences: <1@test>\nX-Long: part one\n part two\n\nsecond body\n")
	art3 = crlf(`From: carol@example.invalid
Newsgroups: alt.test
Subject: third
Date: Wed, 25 Nov 2026 10:02:00 +0000
Message-ID: <3@test>

third body
`)
)

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// newMem returns an nntpmem backend with alt.test (articles 1-3),
// misc.other (article 2 crossposted) and an empty alt.empty.
func newMem(t testing.TB) *nntpmem.Backend {
	t.Helper()
	mem := nntpmem.New("alt.test", "misc.other", "alt.empty")
	mem.AddGroup("alt.test", "A test group")
	for _, a := range [][]byte{art1, art2, art3} {
		if _, err := mem.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startServer serves backend on 127.0.0.1:0 and returns the server and its
// address; configure may set limits before it starts.
func startServer(t testing.TB, backend nntp.Backend, configure func(*nntp.Server)) (*nntp.Server, string) {
	t.Helper()
	srv := &nntp.Server{
		Backend:           backend,
		Name:              "test.invalid",
		Logger:            testLogger(t),
		AllowInsecureAuth: true,
		AuthFailureDelay:  time.Millisecond,
	}
	if configure != nil {
		configure(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nntp.ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, l.Addr().String()
}

// tconn is a raw text client for protocol tests.
type tconn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *tconn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tconn{t: t, c: c, br: bufio.NewReader(c)}
}

// dial connects and checks the greeting.
func dial(t testing.TB, addr string) *tconn {
	t.Helper()
	tc := dialRaw(t, addr)
	tc.expect("greeting", "20")
	return tc
}

func (tc *tconn) send(s string) {
	tc.t.Helper()
	tc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(tc.c, s); err != nil {
		tc.t.Fatalf("send %q: %v", s, err)
	}
}

func (tc *tconn) line() string {
	tc.t.Helper()
	l, err := tc.readLine()
	if err != nil {
		tc.t.Fatalf("read: %v", err)
	}
	return l
}

func (tc *tconn) readLine() (string, error) {
	tc.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := tc.br.ReadString('\n')
	if err != nil {
		return l, err
	}
	if !strings.HasSuffix(l, "\r\n") {
		return l, fmt.Errorf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n"), nil
}

// block reads a dot-terminated block and undoes dot-stuffing.
func (tc *tconn) block() []string {
	tc.t.Helper()
	lines := []string{}
	for {
		l := tc.line()
		if l == "." {
			return lines
		}
		if strings.HasPrefix(l, ".") {
			l = l[1:]
		}
		lines = append(lines, l)
	}
}

// cmd sends one command line and returns the status line, failing unless
// it starts with want.
func (tc *tconn) cmd(line, want string) string {
	tc.t.Helper()
	tc.send(line + "\r\n")
	return tc.expect(fmt.Sprintf("%q", line), want)
}

// expect reads a line and returns it, failing unless it starts with want;
// what names the step in the failure.
func (tc *tconn) expect(what, want string) string {
	tc.t.Helper()
	got := tc.line()
	if !strings.HasPrefix(got, want) {
		tc.t.Fatalf("%s: got %q, want %q...", what, got, want)
	}
	return got
}

// expectClosed checks that the server closes the connection.
func (tc *tconn) expectClosed() {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(tc.br)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		err = nil // closed with our unread data pending
	}
	if err != nil {
		tc.t.Fatalf("expected close, got %v after %q", err, rest)
	}
	if len(rest) > 0 {
		tc.t.Fatalf("unexpected data before close: %q", rest)
	}
}

// multiLine reports whether a status line starts a data block.
func multiLine(cmd, status string) bool {
	code := status[:3]
	switch code {
	case "100", "101", "215", "220", "221", "222", "224", "225", "230", "231":
		return true
	case "211":
		return strings.HasPrefix(strings.ToUpper(cmd), "LISTGROUP")
	}
	return false
}

// step is one exchange of a raw script: send a line, expect a status line
// starting with want and, for multi-line responses, exactly the lines in
// block (unless block is nil).
type step struct {
	send  string
	want  string
	block []string
}

func runScript(t *testing.T, tc *tconn, steps []step) {
	t.Helper()
	for _, s := range steps {
		tc.send(s.send + "\r\n")
		got := tc.line()
		if !strings.HasPrefix(got, s.want) {
			t.Fatalf("%q: got %q, want %q...", s.send, got, s.want)
		}
		if multiLine(s.send, got) {
			lines := tc.block()
			if s.block != nil && strings.Join(lines, "\n") != strings.Join(s.block, "\n") {
				t.Fatalf("%q: block\n%s\nwant\n%s", s.send, strings.Join(lines, "\n"), strings.Join(s.block, "\n"))
			}
		} else if s.block != nil {
			t.Fatalf("%q: expected a block, got status %q", s.send, got)
		}
	}
}

// noAuth serves nntpmem sessions that implement only Session and Poster.
type noAuth struct{ b *nntpmem.Backend }

func (n noAuth) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := n.b.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return readPost{s, s.(nntp.Poster)}, nil
}

type readPost struct {
	nntp.Session
	p nntp.Poster
}

func (r readPost) Post(ctx context.Context, a []byte) error { return r.p.Post(ctx, a) }

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func nntpConnInfo() nntp.ConnInfo { return nntp.ConnInfo{} }
