package nntp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

// faulty wraps nntpmem sessions with failures triggered by names:
// group "panic.now" panics, "fail.now" returns an internal error with a
// secret in it, Overview of range 2-2 panics after the first line,
// message-ids starting with "<later" are ErrTryLater, and Receive sleeps
// a little so streaming responses complete out of order; Receive of ids
// starting with "<held" waits until gate is closed.
type faulty struct {
	b         *nntpmem.Backend
	openError bool
	gate      chan struct{}
}

func (f faulty) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	if f.openError {
		return nil, errors.New("database unreachable")
	}
	s, err := f.b.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return faultySession{s.(*nntpmem.Session), f.gate}, nil
}

type faultySession struct {
	*nntpmem.Session
	gate chan struct{}
}

func (s faultySession) Group(ctx context.Context, name string) (nntp.Group, error) {
	switch name {
	case "panic.now":
		panic("boom")
	case "slow.now":
		time.Sleep(300 * time.Millisecond)
		return s.Session.Group(ctx, "alt.test")
	case "fail.now":
		return nntp.Group{}, errors.New("secret: database at 10.0.0.1 is down")
	}
	return s.Session.Group(ctx, name)
}

func (s faultySession) Overview(ctx context.Context, g string, r nntp.Range, fn func(*nntp.Overview) error) error {
	if r.Low == 7 {
		return errors.New("secret: overview table corrupt")
	}
	if r.Low == 2 && r.High == 3 {
		n := 0
		return s.Session.Overview(ctx, g, r, func(o *nntp.Overview) error {
			if n++; n == 2 {
				return errors.New("secret: lost the database")
			}
			return fn(o)
		})
	}
	if r.Low == 1 && r.High == 2 {
		n := 0
		return s.Session.Overview(ctx, g, r, func(o *nntp.Overview) error {
			if n++; n == 2 {
				panic("boom in the middle")
			}
			return fn(o)
		})
	}
	return s.Session.Overview(ctx, g, r, fn)
}

func (s faultySession) Wanted(ctx context.Context, id string) error {
	if strings.HasPrefix(id, "<later") {
		return nntp.ErrTryLater
	}
	return s.Session.Wanted(ctx, id)
}

func (s faultySession) Receive(ctx context.Context, id string, a []byte) error {
	if strings.HasPrefix(id, "<later") {
		return nntp.ErrTryLater
	}
	if strings.HasPrefix(id, "<held") {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if strings.HasPrefix(id, "<slow") {
		var n int
		fmt.Sscanf(id, "<slow%d@", &n)
		time.Sleep(time.Duration(7-n%7) * time.Millisecond)
	}
	return s.Session.Receive(ctx, id, a)
}

func TestOverlongAndJunkCommandLines(t *testing.T) {
	_, addr := startServer(t, newMem(t), nil)
	tc := dial(t, addr)
	tc.cmd("GROUP "+strings.Repeat("x", 504), "411 ") // 510 octets + CRLF = 512: allowed
	tc.cmd("GROUP "+strings.Repeat("x", 505), "501 ")
	tc.cmd("GROUP "+strings.Repeat("x", 600), "501 ")
	tc.cmd("DATE", "111 ")
	tc.cmd("GROUP "+strings.Repeat("x", 20000), "501 ")
	tc.cmd("GROUP alt.test", "211 ")
	tc.cmd("GROUP alt.\x00test", "501 ")
	tc.cmd("GROUP \xff\xfe", "501 ")
	tc.cmd("\x01\x02", "501 ")
	tc.cmd("", "501 ")
	tc.cmd("   ", "501 ")
	tc.cmd("GROUP\talt.test", "211 3 1 3 alt.test")
	tc.cmd("group   alt.test", "211 3 1 3 alt.test")

	// A line that never ends is drained only so far: 501, then closed.
	tc2 := dial(t, addr)
	tc2.send(strings.Repeat("y", 200<<10))
	tc2.expect("endless line", "501 ")
	tc2.expectClosed()
}

func TestArticleTooLarge(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) {
		s.MaxArticleSize = 2000
		s.MaxArticleLineLength = 200
	})
	big := "Newsgroups: alt.test\r\nMessage-ID: <big@x>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 1000) + ".\r\n"
	longLine := "Newsgroups: alt.test\r\nMessage-ID: <long@x>\r\n\r\n" + strings.Repeat("z", 300) + "\r\n.\r\n"
	tc := dial(t, addr)
	tc.cmd("POST", "340 ")
	tc.send(big)
	if l := tc.line(); l != "441 Article too large" {
		t.Fatalf("got %q", l)
	}
	tc.cmd("GROUP alt.test", "211 3 1 3 alt.test") // drained: in sync
	tc.cmd("POST", "340 ")
	tc.send(longLine)
	tc.expect("POST with a long line", "441 ")
	tc.cmd("IHAVE <big@x>", "335 ")
	tc.send(big)
	tc.expect("IHAVE too large", "437 ")
	tc.cmd("MODE STREAM", "203 ")
	tc.send("TAKETHIS <big@x>\r\n" + big)
	tc.expect("TAKETHIS too large", "439 <big@x>")
	tc.cmd("STAT <big@x>", "430 ")
	tc.cmd("GROUP alt.test", "211 3 1 3 alt.test")
}

func TestIdleTimeout(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.IdleTimeout = 200 * time.Millisecond })
	tc := dial(t, addr)
	tc.cmd("DATE", "111 ")
	tc.expect("idle", "400 ")
	tc.expectClosed()
}

// TestReadTimeout: a client that stops in the middle of an article is cut
// off after ReadTimeout.
func TestReadTimeout(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.ReadTimeout = 200 * time.Millisecond })
	tc := dial(t, addr)
	tc.cmd("POST", "340 ")
	tc.send("Newsgroups: alt.test\r\n")
	tc.expectClosed()
}

func TestConcurrentConnections(t *testing.T) {
	_, addr := startServer(t, newMem(t), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := nntp.Dial(context.Background(), addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			ctx := context.Background()
			g, err := c.Group(ctx, "alt.test")
			if err != nil || g.Count != 3 {
				errs <- fmt.Errorf("group %v %v", g, err)
				return
			}
			n := 0
			if err := c.Over(ctx, "1-3", func(o *nntp.Overview) error { n++; return nil }); err != nil || n != 3 {
				errs <- fmt.Errorf("over %d %v", n, err)
				return
			}
			_, _, raw, err := c.Article(ctx, "1")
			if err != nil || string(raw) != string(art1) {
				errs <- fmt.Errorf("article %q %v", raw, err)
				return
			}
			if err := c.Quit(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPanicRecovery(t *testing.T) {
	_, addr := startServer(t, faulty{b: newMem(t)}, nil)
	tc := dial(t, addr)
	tc.cmd("GROUP panic.now", "403 ")
	tc.expectClosed()

	// A panic in the middle of a multi-line response closes the
	// connection without writing anything that could pass for data.
	tc = dial(t, addr)
	tc.cmd("GROUP alt.test", "211 ")
	tc.cmd("OVER 1-2", "224 ")
	l, err := tc.readLine()
	if err != nil || !strings.HasPrefix(l, "1\t") {
		t.Fatalf("first line %q %v", l, err)
	}
	tc.expectClosed()

	// The server is still up.
	tc = dial(t, addr)
	tc.cmd("GROUP alt.test", "211 3 1 3 alt.test")
}

func TestBackendErrorNotLeaked(t *testing.T) {
	_, addr := startServer(t, faulty{b: newMem(t)}, nil)
	tc := dial(t, addr)
	l := tc.cmd("GROUP fail.now", "403 ")
	if strings.Contains(l, "secret") || strings.Contains(l, "10.0.0.1") {
		t.Fatalf("leaked: %q", l)
	}
	tc.cmd("GROUP alt.test", "211 ")
	if l := tc.cmd("OVER 7-", "403 "); strings.Contains(l, "secret") {
		t.Fatalf("leaked: %q", l)
	}
	// A failure after the first line cannot be reported inside the block:
	// the connection is closed instead of ending the block as if complete.
	tc.cmd("OVER 2-3", "224 ")
	tc.expect("first line", "2\t")
	tc.expectClosed()
}

func TestSessionOpenError(t *testing.T) {
	_, addr := startServer(t, faulty{b: newMem(t), openError: true}, nil)
	tc := dialRaw(t, addr)
	if l := tc.line(); l != "400 Service temporarily unavailable" {
		t.Fatalf("got %q", l)
	}
	tc.expectClosed()
}

func TestConnectionCaps(t *testing.T) {
	srv, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxConnections = 2 })
	a := dial(t, addr)
	b := dial(t, addr)
	c := dialRaw(t, addr)
	c.expect("third connection", "400 ")
	c.expectClosed()
	a.cmd("QUIT", "205 ")
	a.expectClosed()
	b.cmd("DATE", "111 ")
	// Once the first connection is gone a new one is admitted.
	waitFor(t, func() bool {
		d := dialRaw(t, addr)
		l := d.line()
		return strings.HasPrefix(l, "200 ")
	})
	_ = srv

	_, addr2 := startServer(t, newMem(t), func(s *nntp.Server) {
		s.MaxConnectionsPerIP = 1
		s.LimitLoopback = true
	})
	dial(t, addr2).cmd("DATE", "111 ")
	d := dialRaw(t, addr2)
	d.expect("second connection from one address", "400 ")
	d.expectClosed()
}

// TestPerIPLimitOnByDefault: with no limits set, one address gets
// DefaultMaxConnectionsPerIP connections and the next is refused, while
// loopback (a local proxy, an onion service) is not counted by default.
func TestPerIPLimitOnByDefault(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.LimitLoopback = true })
	for i := 0; i < nntp.DefaultMaxConnectionsPerIP; i++ {
		dial(t, addr)
	}
	d := dialRaw(t, addr)
	d.expect(fmt.Sprintf("connection %d from one address", nntp.DefaultMaxConnectionsPerIP+1), "400 ")
	d.expectClosed()

	_, addr = startServer(t, newMem(t), nil)
	for i := 0; i < nntp.DefaultMaxConnectionsPerIP+4; i++ {
		dial(t, addr)
	}
}

// trickle sends s one byte per interval until the server closes the
// connection or limit passes, and reports what the server sent and
// whether it closed.
func trickle(t *testing.T, tc *tconn, s string, interval, limit time.Duration) (string, bool) {
	t.Helper()
	var got strings.Builder
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		buf := make([]byte, 512)
		for {
			tc.c.SetReadDeadline(time.Now().Add(limit + time.Second))
			n, err := tc.br.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	end := time.After(limit)
	for i := 0; ; i = (i + 1) % len(s) {
		select {
		case <-closed:
			return got.String(), true
		case <-end:
			tc.c.Close()
			<-closed
			return got.String(), false
		case <-time.After(interval):
			tc.c.SetWriteDeadline(time.Now().Add(limit))
			tc.c.Write([]byte{s[i]})
		}
	}
}

// TestTrickledCommandLine: a command line sent one byte per second, each
// byte well within IdleTimeout of the last, is cut off IdleTimeout after
// the server began waiting for it.
func TestTrickledCommandLine(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.IdleTimeout = 2 * time.Second })
	tc := dial(t, addr)
	got, closed := trickle(t, tc, "GROUP alt.test.and.on.and.on.", time.Second, 12*time.Second)
	if !closed || !strings.HasPrefix(got, "400 ") {
		t.Fatalf("trickled line: closed %v after %q", closed, got)
	}
}

// TestTrickledArticle: an article sent one byte per second is cut off
// once it falls behind MinDataRate after ReadTimeout.
func TestTrickledArticle(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) {
		s.ReadTimeout = 2 * time.Second
		s.MinDataRate = 100
	})
	tc := dial(t, addr)
	tc.cmd("POST", "340 ")
	got, closed := trickle(t, tc, "Newsgroups: alt.test\r\n", time.Second, 12*time.Second)
	if !closed || got != "" {
		t.Fatalf("trickled article: closed %v after %q", closed, got)
	}

	// A client that keeps up with the rate is not cut off, however long
	// the article takes in all.
	tc = dial(t, addr)
	tc.cmd("POST", "340 ")
	body := "Newsgroups: alt.test\r\nSubject: slow\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 25)
	third := len(body) / 3
	for i := 0; i < 3; i++ {
		tc.send(body[i*third : (i+1)*third])
		time.Sleep(time.Second)
	}
	tc.send(body[3*third:] + ".\r\n")
	if l := tc.line(); !strings.HasPrefix(l, "240 ") && !strings.HasPrefix(l, "441 ") {
		t.Fatalf("article at a steady rate: %q", l)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMaxErrors(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxErrors = 3 })
	tc := dial(t, addr)
	tc.cmd("FOO", "500 ")
	tc.cmd("BAR", "500 ")
	tc.cmd("DATE", "111 ") // a success resets the count
	tc.cmd("FOO", "500 ")
	tc.cmd("GROUP", "501 ")
	tc.cmd("AUTHINFO PASS x", "482 ")
	tc.expect("after 3 errors", "400 ")
	tc.expectClosed()
}

func TestShutdown(t *testing.T) {
	mem := newMem(t)
	srv := &nntp.Server{Backend: mem, Logger: testLogger(t)}
	_, addr := serveOn(t, srv)
	tc := dial(t, addr)
	tc.cmd("DATE", "111 ")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := tc.line(); l != "400 Server shutting down" {
		t.Fatalf("got %q", l)
	}
	tc.expectClosed()
}

func serveOn(t *testing.T, srv *nntp.Server) (chan error, string) {
	t.Helper()
	done := make(chan error, 1)
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return done, l.Addr().String()
}

// TestShutdownLetsCommandFinish: a command in progress completes before
// the connection is closed.
func TestShutdownLetsCommandFinish(t *testing.T) {
	srv := &nntp.Server{Backend: faulty{b: newMem(t)}, Logger: testLogger(t)}
	_, addr := serveOn(t, srv)
	tc := dial(t, addr)
	tc.send("GROUP slow.now\r\n")
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := tc.line(); l != "211 3 1 3 alt.test" {
		t.Fatalf("got %q", l)
	}
	if l := tc.line(); l != "400 Server shutting down" {
		t.Fatalf("got %q", l)
	}
	tc.expectClosed()
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

// TestClientDialRefused: a 400 greeting is returned as *Error by Dial.
func TestClientDialRefused(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxConnections = 1 })
	first := dial(t, addr)
	_, err := nntp.Dial(context.Background(), addr, nil)
	var e *nntp.Error
	if !errors.As(err, &e) || e.Code != 400 {
		t.Fatalf("got %v", err)
	}
	first.cmd("QUIT", "205 ")
}

// TestPastDrainCap: an article so large that the server stops draining it
// is refused with a status line before the connection is closed (it used
// to be reset with no answer).
func TestPastDrainCap(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxArticleSize = 1000 })
	huge := "Newsgroups: alt.test\r\n\r\n" + strings.Repeat(strings.Repeat("x", 100)+"\r\n", 30000) + ".\r\n"
	for _, c := range []struct{ first, prompt, head, want string }{
		{"POST\r\n", "340 ", "", "441 "},
		{"IHAVE <huge@x>\r\n", "335 ", "", "437 "},
		{"MODE STREAM\r\n", "203 ", "TAKETHIS <huge@x>\r\n", "439 <huge@x> "},
	} {
		tc := dial(t, addr)
		tc.send(c.first)
		tc.expect(fmt.Sprintf("%q", c.first), c.prompt)
		go func() {
			// The server stops reading part way: ignore the write error.
			tc.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			tc.c.Write([]byte(c.head + huge))
		}()
		tc.expect(fmt.Sprintf("%q past the drain cap", c.first), c.want)
		tc.expectClosed()
	}
}

// TestHdrScanCap: HDR of a header outside the overview reads articles one
// by one, so its range is capped by MaxHeaderScan; overview fields are not.
func TestHdrScanCap(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxHeaderScan = 2 })
	tc := dial(t, addr)
	runScript(t, tc, []step{
		{"GROUP alt.test", "211 ", nil},
		{"HDR Newsgroups 1-", "503 ", nil},
		{"XHDR Newsgroups 0-9999999999", "503 ", nil},
		{"HDR Newsgroups 2-", "225 ", []string{"2 alt.test,misc.other", "3 alt.test"}},
		{"HDR Newsgroups <1@test>", "225 ", []string{"0 alt.test"}},
		{"HDR Subject 1-", "225 ", []string{"1 first", "2 tab here", "3 third"}},
	})
}
