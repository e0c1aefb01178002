package interop

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

// BenchmarkOverVsINN measures OVER over a whole group of BENCH_ARTICLES
// (default 10,000) articles from our server on SQLite and on PostgreSQL
// ($DATABASE_URL) and from INN (ovsqlite) in the same run, over
// BENCH_ROUNDS (default 3) rounds that alternate the servers under the
// same load. It reports overview lines/s and, for ours, the ratio to INN
// in the same round:
//
//	go test -run '^$' -bench OverVsINN -benchtime 1x ./interop/
func BenchmarkOverVsINN(b *testing.B) {
	n := envInt(b, "BENCH_ARTICLES", 10000)
	rounds := envInt(b, "BENCH_ROUNDS", 3)
	bodies := tt.Bodies(b)
	now := time.Now()
	ids := make([]string, n)
	arts := make([][]byte, n)
	for i := range arts {
		ids[i] = fmt.Sprintf("<over.%d.%d@origin.example>", i, now.UnixNano())
		arts[i] = tt.Article(ids[i], "origin.example!not-for-mail", now, bodies[i%len(bodies)])
	}
	inn := StartINN(b, "inn.over.test")
	feedAll(b, inn.Addr, ids, arts)
	servers := []struct{ name, addr string }{{"inn", inn.Addr}}
	for _, kind := range []struct {
		name string
		open func(testing.TB) store.Store
	}{{"sqlite", tt.OpenSQLite}, {"postgres", tt.OpenPostgres}} {
		st := kind.open(b)
		ctx := context.Background()
		for lo := 0; lo < n; lo += 500 {
			var batch []*store.NewArticle
			for i := lo; i < min(lo+500, n); i++ {
				batch = append(batch, tt.NewArticle(b, arts[i]))
			}
			if _, err := st.Insert(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
		}
		srv := tt.StartServer(b, st, transit.Config{PathName: "us.over.test"}, "")
		servers = append(servers, struct{ name, addr string }{kind.name, srv.Addr})
	}
	for round := range rounds {
		var innRate float64
		for _, srv := range servers {
			b.Run(fmt.Sprintf("round=%d/server=%s", round, srv.name), func(b *testing.B) {
				var lines int
				var elapsed time.Duration
				for range b.N {
					l, e := overAll(b, srv.addr)
					lines, elapsed = lines+l, elapsed+e
				}
				if lines < n*b.N {
					b.Fatalf("%s listed %d of %d", srv.name, lines, n*b.N)
				}
				rate := float64(lines) / elapsed.Seconds()
				b.ReportMetric(rate, "lines/s")
				if srv.name == "inn" {
					innRate = rate
				} else if innRate > 0 {
					b.ReportMetric(rate/innRate, "x-inn")
				}
			})
		}
	}
}

// feedAll sends the articles to addr with TAKETHIS and waits until its
// group lists them all.
func feedAll(b *testing.B, addr string, ids []string, arts [][]byte) {
	c := dialBench(b, addr, true)
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	if err := send(c, "takethis", idx, ids, arts); err != nil {
		b.Fatal(err)
	}
	c.close()
	ctx := context.Background()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		cl, err := nntp.Dial(ctx, addr, nil)
		if err != nil {
			b.Fatal(err)
		}
		cl.ModeReader(ctx)
		g, err := cl.Group(ctx, tt.Group)
		cl.Close()
		if err == nil && g.Count >= int64(len(ids)) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("INN lists %+v, %v; want %d articles", g, err, len(ids))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// overAll lists the whole group with one OVER on a fresh reader
// connection and times the OVER alone.
func overAll(b *testing.B, addr string) (int, time.Duration) {
	ctx := context.Background()
	cl, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	cl.ModeReader(ctx)
	if _, err := cl.Group(ctx, tt.Group); err != nil {
		b.Fatal(err)
	}
	lines := 0
	start := time.Now()
	err = cl.Over(ctx, "1-", func(*nntp.Overview) error { lines++; return nil })
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	return lines, elapsed
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q", name, s)
	}
	return v
}
