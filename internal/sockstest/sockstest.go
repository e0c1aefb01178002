// Package sockstest is a small SOCKS5 proxy (RFC 1928, with RFC 1929
// username/password) for tests on 127.0.0.1. It records every request as
// asked (the host name when the client sent a name, so a test can tell
// remote resolution from local) and connects only to the addresses a test
// maps names to, or to loopback addresses.
package sockstest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Request is one CONNECT as the proxy received it.
type Request struct {
	User, Password string // empty when the client chose no authentication
	Host           string // as sent: a name, or an IP address in text
	Name           bool   // Host was sent as a domain name (ATYP 3)
	Port           int
}

// Proxy is a running SOCKS5 proxy.
type Proxy struct {
	Addr string // host:port to give clients

	l     net.Listener
	mu    sync.Mutex
	hosts map[string]string
	reqs  []Request
	wg    sync.WaitGroup
}

// Start starts a proxy on 127.0.0.1; it stops when the test ends.
func Start(t testing.TB) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), l: l, hosts: map[string]string{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Map makes the proxy connect requests for name:port (as a client asks
// for it) to addr, the way Tor reaches an onion service or an exit
// resolves a name.
func (p *Proxy) Map(nameport, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hosts[nameport] = addr
}

// Requests returns the requests received so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Close stops the proxy and waits for its connections to end.
func (p *Proxy) Close() {
	p.l.Close()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	var conns sync.WaitGroup
	var open sync.Map
	defer func() {
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		conns.Wait()
	}()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		open.Store(c, true)
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer open.Delete(c)
			defer c.Close()
			p.handle(c, &open)
		}()
	}
}

var errProto = errors.New("sockstest: protocol error")

func (p *Proxy) handle(c net.Conn, open *sync.Map) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	var req Request
	switch {
	case contains(methods, 2):
		c.Write([]byte{5, 2})
		user, pass, err := readUserPass(c)
		if err != nil {
			return
		}
		req.User, req.Password = user, pass
		c.Write([]byte{1, 0})
	case contains(methods, 0):
		c.Write([]byte{5, 0})
	default:
		c.Write([]byte{5, 0xff})
		return
	}
	var rh [4]byte
	if _, err := io.ReadFull(c, rh[:]); err != nil || rh[0] != 5 {
		return
	}
	switch rh[3] {
	case 1, 4:
		ip := make([]byte, 4)
		if rh[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return
		}
		req.Host = net.IP(ip).String()
	case 3:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return
		}
		req.Host, req.Name = string(name), true
	default:
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return
	}
	req.Port = int(binary.BigEndian.Uint16(port[:]))
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	target, ok := p.hosts[net.JoinHostPort(req.Host, strconv.Itoa(req.Port))]
	p.mu.Unlock()
	if rh[1] != 1 { // CONNECT only
		c.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	if !ok {
		if ip := net.ParseIP(req.Host); ip == nil || !ip.IsLoopback() {
			c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
			return
		}
		target = net.JoinHostPort(req.Host, strconv.Itoa(req.Port))
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	open.Store(up, true)
	defer open.Delete(up)
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func readUserPass(c net.Conn) (string, string, error) {
	var v [2]byte
	if _, err := io.ReadFull(c, v[:]); err != nil || v[0] != 1 {
		return "", "", errProto
	}
	user := make([]byte, v[1])
	if _, err := io.ReadFull(c, user); err != nil {
		return "", "", err
	}
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return "", "", err
	}
	pass := make([]byte, n[0])
	if _, err := io.ReadFull(c, pass); err != nil {
		return "", "", err
	}
	return string(user), string(pass), nil
}

func contains(b []byte, x byte) bool {
	for _, y := range b {
		if y == x {
			return true
		}
	}
	return false
}
