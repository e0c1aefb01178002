package wansim

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
)

// TestProxyCarriesAndDelays: what goes through arrives whole, in order,
// counted, and never sooner than the link allows (a lower bound: the
// floor of a round trip plus the bytes at the capped rate).
func TestProxyCarriesAndDelays(t *testing.T) {
	echo := nntptest.Serve(t, func(c net.Conn) { io.Copy(c, c) })
	link := Link{RTT: 40 * time.Millisecond, BitsPerSecond: 8_000_000}
	p, err := Start(echo, link)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	data := make([]byte, 200<<10)
	rand.Read(data)
	start := time.Now()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if !bytes.Equal(got, data) {
		t.Fatalf("echo: %d bytes back of %d, or changed", len(got), len(data))
	}
	if p.BytesUp() != int64(len(data)) || p.BytesDown() != int64(len(data)) {
		t.Fatalf("counted %d up, %d down, want %d", p.BytesUp(), p.BytesDown(), len(data))
	}
	// Handshake, a round trip, and the data at 1 MB/s (each direction
	// serializes it; the two overlap, so count it once).
	floor := 2*link.RTT + time.Duration(len(data))*time.Second/1_000_000
	if elapsed < floor {
		t.Fatalf("echo of %d bytes took %v through a link that needs at least %v", len(data), elapsed, floor)
	}
	t.Logf("%v (floor %v)", elapsed, floor)
}

// TestProxyTargetDown: a target that refuses closes the client's side.
func TestProxyTargetDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	p, err := Start(addr, Link{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read %d, %v from a proxy to nowhere", n, err)
	}
}
