package interop

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strconv"
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
					clients := make([]*nntp.Client, conns)
					for k := range clients {
						clients[k] = dialQuickAck(b, srv.addr)
						if mode == "takethis" {
							if err := clients[k].ModeStream(context.Background()); err != nil {
								b.Fatal(err)
							}
						}
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
						c.Quit(context.Background())
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

// send transfers articles idx over c, TAKETHIS in windows of 64 or IHAVE
// one by one, and checks every article was accepted.
func send(c *nntp.Client, mode string, idx []int, ids []string, arts [][]byte) error {
	ctx := context.Background()
	if mode == "ihave" {
		for _, i := range idx {
			if err := c.IHave(ctx, ids[i], arts[i]); err != nil {
				return fmt.Errorf("IHAVE %s: %w", ids[i], err)
			}
		}
		return nil
	}
	const window = 64
	for len(idx) > 0 {
		n := min(window, len(idx))
		cmds := make([]nntp.StreamCommand, n)
		for j, i := range idx[:n] {
			cmds[j] = nntp.StreamCommand{MessageID: ids[i], TakeThis: true, Article: arts[i]}
		}
		res, err := c.Stream(ctx, cmds)
		if err != nil {
			return err
		}
		for j, r := range res {
			if r.Code != 239 {
				return fmt.Errorf("TAKETHIS %s: %d %s", cmds[j].MessageID, r.Code, r.Msg)
			}
		}
		idx = idx[n:]
	}
	return nil
}

// dialQuickAck connects with TCP_QUICKACK, so that neither server is
// slowed by the client's delayed ACKs (INN does not set TCP_NODELAY).
func dialQuickAck(tb testing.TB, addr string) *nntp.Client {
	d := net.Dialer{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
		return serr
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := nntp.NewClient(nc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
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
