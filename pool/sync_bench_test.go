package pool

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// slowConn delays every read by the server: a round trip of delay per
// command, like a server far away.
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c slowConn) Read(p []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Read(p)
}

type slowListener struct {
	net.Listener
	delay time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.delay == 0 {
		return c, err
	}
	return slowConn{c, l.delay}, nil
}

// memServer serves n sealed articles from nntpmem, with a delay per command.
func memServer(b *testing.B, n int, delay time.Duration) string {
	mem := nntpmem.New(DefaultGroup)
	other := stranger(b)
	for i := 0; i < n; i++ {
		msg, err := seal.Seal(other, []byte("x"), nil)
		if err != nil {
			b.Fatal(err)
		}
		arm, _ := seal.Armor(msg)
		if _, err := mem.Add(append([]byte("From: a <a@b.invalid>\r\nNewsgroups: "+DefaultGroup+"\r\nSubject: s\r\n\r\n"), arm...)); err != nil {
			b.Fatal(err)
		}
	}
	srv := &nntp.Server{Backend: mem}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(slowListener{l, delay})
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func benchSync(b *testing.B, n int, delay time.Duration, conns int) {
	addr := memServer(b, n, delay)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newClient(b)
		b.StartTimer()
		st, err := c.Sync(context.Background(), addr, SyncOptions{Connections: conns})
		if err != nil || st.Fetched != int64(n) {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "articles/s")
}

// BenchmarkSyncLocal: 2,000 articles from a server on loopback, default connections.
func BenchmarkSyncLocal(b *testing.B) { benchSync(b, 2000, 0, 0) }

// BenchmarkSyncFar*: 300 articles with 5 ms added per command, over one
// connection and over four.
func BenchmarkSyncFar1(b *testing.B) { benchSync(b, 300, 5*time.Millisecond, 1) }
func BenchmarkSyncFar4(b *testing.B) { benchSync(b, 300, 5*time.Millisecond, 4) }
