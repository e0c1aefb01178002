// Package wansim is a TCP proxy on 127.0.0.1 that makes a loopback
// connection look like a long-distance link: a fixed round trip and a
// bandwidth cap in each direction, with a bounded queue at the bottleneck
// (so a sender that outruns the link is slowed by TCP, as on a real
// path). Benchmarks use it to measure what a user far from the server
// would see; it counts the bytes that cross it.
package wansim

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Link describes the simulated path.
type Link struct {
	// RTT is the round trip; each direction delays data by half of it.
	// Opening a connection costs one RTT too (the TCP handshake).
	RTT time.Duration
	// BitsPerSecond caps each direction (0: no cap).
	BitsPerSecond int64
	// Queue is the longest a byte waits at the bottleneck before the
	// proxy stops reading from the sender (default 50 ms).
	Queue time.Duration
}

// Proxy forwards connections to a target through a Link.
type Proxy struct {
	link   Link
	target string
	l      net.Listener
	down   atomic.Int64 // bytes from the target to the client
	up     atomic.Int64 // bytes from the client to the target
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// Start listens on 127.0.0.1 and forwards each connection to target.
func Start(target string, link Link) (*Proxy, error) {
	if link.Queue <= 0 {
		link.Queue = 50 * time.Millisecond
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{link: link, target: target, l: l, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// BytesDown returns the bytes carried from the target to clients.
func (p *Proxy) BytesDown() int64 { return p.down.Load() }

// BytesUp returns the bytes carried from clients to the target.
func (p *Proxy) BytesUp() int64 { return p.up.Load() }

// Close stops listening and cuts every connection.
func (p *Proxy) Close() error {
	err := p.l.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			time.Sleep(p.link.RTT) // the handshake
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			if !p.track(s) {
				c.Close()
				return
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); p.pipe(s, c, &p.up) }()
			go func() { defer wg.Done(); p.pipe(c, s, &p.down) }()
			wg.Wait()
			c.Close()
			s.Close()
			p.mu.Lock()
			delete(p.conns, c)
			delete(p.conns, s)
			p.mu.Unlock()
		}()
	}
}

type chunk struct {
	data []byte
	at   time.Time // when it reaches the far end
}

// pipe carries src to dst: each read is serialized at the link's rate
// behind what is already queued, then delivered half a round trip later.
func (p *Proxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	q := make(chan chunk, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		broken := false
		for ch := range q {
			if broken {
				continue
			}
			if d := time.Until(ch.at); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(ch.data); err != nil {
				broken = true
				src.Close()
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok && !broken {
			tc.CloseWrite()
		} else {
			dst.Close()
		}
	}()
	oneWay := p.link.RTT / 2
	var free time.Time // when the link has sent all that is queued
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			count.Add(int64(n))
			now := time.Now()
			if free.Before(now) {
				free = now
			}
			if r := p.link.BitsPerSecond; r > 0 {
				free = free.Add(time.Duration(int64(n) * 8 * int64(time.Second) / r))
			}
			q <- chunk{data: append([]byte(nil), buf[:n]...), at: free.Add(oneWay)}
			// A full bottleneck queue: stop reading until it drains.
			if wait := time.Until(free) - p.link.Queue; wait > 0 {
				time.Sleep(wait)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			break
		}
	}
	close(q)
	<-done
}
