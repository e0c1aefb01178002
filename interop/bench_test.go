package interop

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

// BenchmarkIngest measures transit ingest, TAKETHIS (streaming, no CHECK)
// and IHAVE, with 1 and 8 connections, into our server on PostgreSQL with
// durable settings (fsync, synchronous_commit, full_page_writes on: every
// 239/235 is committed to disk) and into INN (timecaf + ovsqlite) in the
// same run, with the same client. Run it with a fixed count of articles
// per phase, as scripts/bench does:
//
//	go test -run '^$' -bench Ingest -benchtime 2000x ./interop/
//
// Each result reports articles/s.
func BenchmarkIngest(b *testing.B) {
	base := os.Getenv("BENCH_DATABASE_URL")
	if base == "" {
		b.Fatal("BENCH_DATABASE_URL is unset: run scripts/bench, which starts a PostgreSQL with durable settings")
	}
	durable(b, base)
	dbname := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	createDB(b, base, dbname)
	dsn, err := pgtest.WithDatabase(base, dbname)
	if err != nil {
		b.Fatal(err)
	}
	st := tt.OpenPostgresDSN(b, dsn)
	ours := tt.StartServer(b, st, transit.Config{PathName: "us.bench.test", MaxBatch: benchBatch}, "")
	inn := StartINN(b, "inn.bench.test")
	bodies := tt.Bodies(b)
	servers := []struct{ name, addr string }{{"altcrypt-pg", ours.Addr}, {"inn", inn.Addr}}
	phase := 0
	for _, mode := range []string{"takethis", "ihave"} {
		for _, conns := range []int{1, 8} {
			for _, srv := range servers {
				b.Run(fmt.Sprintf("mode=%s/conns=%d/server=%s", mode, conns, srv.name), func(b *testing.B) {
					phase++
					arts := make([][]byte, b.N)
					ids := make([]string, b.N)
					now := time.Now()
					for i := range arts {
						ids[i] = fmt.Sprintf("<bench.%d.%d.%d@origin.example>", phase, i, now.UnixNano())
						arts[i] = tt.Article(ids[i], "origin.example!not-for-mail", now, bodies[i%len(bodies)])
					}
					clients := make([]*benchConn, conns)
					for k := range clients {
						clients[k] = dialBench(b, srv.addr, mode == "takethis")
					}
					before := ours.Receiver.Stats()
					b.ResetTimer()
					start := time.Now()
					var wg sync.WaitGroup
					errs := make(chan error, conns)
					for k, c := range clients {
						wg.Add(1)
						go func() {
							defer wg.Done()
							// Connection k sends articles k, k+conns, ...
							var mine []int
							for i := k; i < b.N; i += conns {
								mine = append(mine, i)
							}
							errs <- send(c, mode, mine, ids, arts)
						}()
					}
					wg.Wait()
					elapsed := time.Since(start)
					b.StopTimer()
					close(errs)
					for err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
					for _, c := range clients {
						c.close()
					}
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "articles/s")
					if srv.name != "inn" {
						if tx := ours.Receiver.Stats().Transactions - before.Transactions; tx > 0 {
							b.ReportMetric(float64(b.N)/float64(tx), "articles/txn")
						}
					}
				})
			}
		}
	}
}

// window is how many TAKETHIS commands a connection keeps in flight, as
// innfeed does.
const window = 32

// send transfers articles idx over c: IHAVE one by one, or TAKETHIS with a
// sliding window (a new command goes out as soon as an answer comes in;
// waiting for whole batches would stall INN, which flushes its answers
// only when its input runs dry or on a timer). Every article must be
// accepted.
func send(c *benchConn, mode string, idx []int, ids []string, arts [][]byte) error {
	if mode == "ihave" {
		ctx := context.Background()
		for _, i := range idx {
			if err := c.client.IHave(ctx, ids[i], arts[i]); err != nil {
				return fmt.Errorf("IHAVE %s: %w", ids[i], err)
			}
		}
		return nil
	}
	sem := make(chan struct{}, window)
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(c.raw, 64<<10)
		for _, i := range idx {
			select {
			case sem <- struct{}{}:
			default:
				// The window is full: send what is written, then wait.
				if err := bw.Flush(); err != nil {
					werr <- err
					return
				}
				sem <- struct{}{}
			}
			fmt.Fprintf(bw, "TAKETHIS %s\r\n", ids[i])
			tt.WriteDot(bw, arts[i])
		}
		werr <- bw.Flush()
	}()
	br := bufio.NewReader(c.raw)
	for _, i := range idx {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if want := "239 " + ids[i]; !strings.HasPrefix(line, want) {
			return fmt.Errorf("TAKETHIS %s answered %q", ids[i], strings.TrimSpace(line))
		}
		<-sem
	}
	return <-werr
}

// benchConn is one client connection: IHAVE goes through nntp.Client,
// streaming straight over the socket.
type benchConn struct {
	raw    net.Conn
	client *nntp.Client
}

// dialBench connects, reads the greeting and, for streaming, sends MODE
// STREAM.
func dialBench(tb testing.TB, addr string, stream bool) *benchConn {
	nc := dialQuickAck(tb, addr)
	if !stream {
		c, err := nntp.NewClient(nc, nil)
		if err != nil {
			tb.Fatal(err)
		}
		return &benchConn{raw: nc, client: c}
	}
	br := bufio.NewReader(nc)
	greet, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(greet, "20") {
		tb.Fatalf("greeting %q %v", greet, err)
	}
	fmt.Fprintf(nc, "MODE STREAM\r\n")
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "203") {
		tb.Fatalf("MODE STREAM: %q %v", l, err)
	}
	return &benchConn{raw: nc}
}

func (c *benchConn) close() {
	if c.client != nil {
		c.client.Quit(context.Background())
		return
	}
	fmt.Fprintf(c.raw, "QUIT\r\n")
	c.raw.Close()
}

// dialQuickAck connects with TCP_QUICKACK, set again after every read
// (the kernel clears it), so that neither server waits for the client's
// delayed ACKs: INN does not set TCP_NODELAY, and its small responses
// would otherwise wait up to 40 ms each behind Nagle's algorithm.
func dialQuickAck(tb testing.TB, addr string) net.Conn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	qc := &quickAckConn{Conn: nc, rc: rc}
	qc.quickAck()
	return qc
}

type quickAckConn struct {
	net.Conn
	rc syscall.RawConn
}

func (c *quickAckConn) quickAck() {
	c.rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.quickAck()
	return n, err
}

// createDB creates a database for one benchmark run.
func createDB(tb testing.TB, dsn, name string) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatal(err)
	}
}

// durable checks that the server commits to disk (as in production): the
// comparison with INN is only fair that way round.
func durable(tb testing.TB, dsn string) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := db.QueryRow("SHOW " + name).Scan(&v); err != nil || v != "on" {
			tb.Fatalf("%s = %q (%v), want on", name, v, err)
		}
	}
}

var benchBatch = func() int {
	n, _ := strconv.Atoi(os.Getenv("BENCH_MAX_BATCH"))
	return n
}()
