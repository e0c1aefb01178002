// Package nntptest holds the small servers on 127.0.0.1 that tests of
// clients, proxies and gateways talk to: scripted fake servers, proxies
// that misbehave on purpose, a listener that counts, and the lock-step
// answer a pipelined request must equal.
package nntptest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
)

// Listen listens on a free port of 127.0.0.1.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Serve serves handle on a free port of 127.0.0.1 (see ServeListener)
// and returns the address.
func Serve(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	return ServeListener(t, Listen(t), handle)
}

// ServeListener accepts connections on l until the test ends, giving each
// to handle in its own goroutine and closing it when handle returns. At
// the end of the test it closes l and every connection still open, and
// waits for the handlers. It returns l's address.
func ServeListener(t testing.TB, l net.Listener, handle func(net.Conn)) string {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		open  = map[net.Conn]bool{}
		ended bool
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		ended = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				c.Close()
				return
			}
			open[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// Fake runs a scripted NNTP server on 127.0.0.1: serve gets each
// connection after the greeting "200 fake".
func Fake(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	return Serve(t, func(c net.Conn) {
		io.WriteString(c, "200 fake\r\n")
		serve(c, bufio.NewReader(c))
	})
}

// Proxy forwards each connection to target through pipe, which gets the
// client's connection and a new one to target and returns when it is
// done with them (both are then closed). A client whose target cannot be
// reached is hung up on.
func Proxy(t testing.TB, target string, pipe func(client, server net.Conn)) string {
	t.Helper()
	return Serve(t, func(c net.Conn) {
		s, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer s.Close()
		pipe(c, s)
	})
}

// CountingListener counts the connections it accepted.
type CountingListener struct {
	net.Listener
	Accepted atomic.Int64
}

// Accept accepts a connection and counts it.
func (l *CountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.Accepted.Add(1)
	}
	return c, err
}

// LockStep sends r's command (ARTICLE, HEAD, BODY or STAT) the ordinary
// way, waiting for its answer: what a pipelined Response to r must equal.
func LockStep(ctx context.Context, c *nntp.Client, r nntp.Request) (num int64, id string, data []byte, err error) {
	switch r.Verb {
	case "ARTICLE":
		return c.Article(ctx, r.Spec)
	case "HEAD":
		return c.Head(ctx, r.Spec)
	case "BODY":
		return c.Body(ctx, r.Spec)
	case "STAT":
		num, id, err = c.Stat(ctx, r.Spec)
		return num, id, nil, err
	}
	return 0, "", nil, fmt.Errorf("nntptest: no lock-step form of %s", r.Verb)
}

// ServeNNTP runs srv on l (nil: a free port of 127.0.0.1) until the test
// ends and returns the address.
func ServeNNTP(t testing.TB, srv *nntp.Server, l net.Listener) string {
	t.Helper()
	if l == nil {
		l = Listen(t)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// Dial connects a client to addr, closed when the test ends.
func Dial(t testing.TB, addr string) *nntp.Client {
	t.Helper()
	c, err := nntp.Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
