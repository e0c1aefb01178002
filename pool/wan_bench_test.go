package pool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/store"

	"github.com/altcrypt/altcrypt/internal/wansim"
	"github.com/altcrypt/altcrypt/interop"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/home"
)

// wanLink is the link of the sync benchmark: a user at home, a server in
// another country.
var wanLink = wansim.Link{RTT: 50 * time.Millisecond, BitsPerSecond: 100_000_000}

// benchEnvInt reads a count from the environment.
func benchEnvInt(b *testing.B, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q", name, s)
		}
		return n
	}
	return def
}

// composeArticles makes n pool articles (short messages: the smallest
// padding bucket, as most of the pool is) to one recipient.
func composeArticles(b *testing.B, n int) [][]byte {
	alice, bob := newClient(b), newClient(b)
	k, _ := bob.Home.Keygen(home.KeyOptions{})
	pub, _ := home.ArmoredPublic(k)
	alice.Home.ImportContact("bob", bytes.NewReader(pub))
	arts := make([][]byte, n)
	for i := range arts {
		a, err := alice.Compose("bob", []byte(fmt.Sprintf("message %d of the benchmark pool", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		arts[i] = a
	}
	return arts
}

// postAll posts arts to addr over a few connections.
func postAll(b *testing.B, addr string, arts [][]byte) {
	const conns = 4
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			cl, err := nntp.Dial(ctx, addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			cl.ModeReader(ctx)
			for i := w; i < len(arts); i += conns {
				if err := cl.Post(ctx, arts[i]); err != nil {
					errs <- fmt.Errorf("post %d: %w", i, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// syncResult is one measured sync.
type syncResult struct {
	articles, bytes, wire int64
	elapsed               time.Duration
}

func (r syncResult) perSecond() float64 { return float64(r.articles) / r.elapsed.Seconds() }

// BenchmarkSyncWAN syncs BENCH_ARTICLES (default 2,000) pool-made
// articles into a fresh pool, from nntpd (SQLite) and from INN, each
// through a simulated 50 ms / 100 Mbit/s link and on loopback, with the
// old lock-step sync (4 connections) and the pipelined sync on one
// connection as baselines in the same run. It reports articles/s, MB/s of
// article bodies, bytes on the wire per body byte, the fraction of the
// link used, and the speed-up over lock-step and over one connection:
//
//	go test -run '^$' -bench SyncWAN -benchtime 1x ./pool/   (scripts/bench-sync)
func BenchmarkSyncWAN(b *testing.B) {
	n := benchEnvInt(b, "BENCH_ARTICLES", 2000)
	arts := composeArticles(b, n)
	var servers []struct{ name, addr string }
	// BENCH_SERVERS=nntpd or inn: only that one (default: both).
	only := os.Getenv("BENCH_SERVERS")
	if only == "" || only == "nntpd" {
		ours := startServer(b, nil)
		postAll(b, ours.addr, arts)
		servers = append(servers, struct{ name, addr string }{"nntpd", ours.addr})
	}
	if only == "" || only == "inn" {
		inn := interop.StartINN(b, "inn.bench.test")
		postAll(b, inn.Addr, arts)
		servers = append(servers, struct{ name, addr string }{"inn", inn.Addr})
	}
	modes := []struct {
		name string
		opt  SyncOptions
	}{
		{"lockstep", SyncOptions{LockStep: true}},
		{"pipelined", SyncOptions{}},
		{"pipelined-4conns", SyncOptions{Connections: 4}},
		{"pipelined+compress", SyncOptions{Compress: true}},
	}
	// Rounds alternate the modes under the same load (the machine is
	// shared): compare the lines of one round, or the medians.
	rounds := benchEnvInt(b, "BENCH_ROUNDS", 1)
	for _, path := range []string{"wan", "loopback"} {
		for _, srv := range servers {
			for range rounds {
				var baseline, oneConn float64
				for _, mode := range modes {
					b.Run(fmt.Sprintf("path=%s/server=%s/mode=%s", path, srv.name, mode.name), func(b *testing.B) {
						var r syncResult
						for i := 0; i < b.N; i++ {
							r = syncOnce(b, srv.addr, path == "wan", mode.opt, n)
						}
						b.ReportMetric(r.perSecond(), "articles/s")
						b.ReportMetric(float64(r.bytes)/r.elapsed.Seconds()/1e6, "MB/s")
						if r.wire > 0 {
							b.ReportMetric(float64(r.wire)/float64(r.bytes), "wire/body")
							b.ReportMetric(float64(r.wire)*8/r.elapsed.Seconds()/float64(wanLink.BitsPerSecond), "link-used")
						}
						switch {
						case mode.name == "lockstep":
							baseline = r.perSecond()
						case baseline > 0:
							b.ReportMetric(r.perSecond()/baseline, "x-lockstep")
						}
						switch {
						case mode.name == "pipelined-1conn":
							oneConn = r.perSecond()
						case oneConn > 0 && mode.name != "lockstep":
							b.ReportMetric(r.perSecond()/oneConn, "x-1conn")
						}
					})
				}
			}
		}
	}
}

// syncOnce syncs everything on addr into a fresh pool, through the
// simulated link if wan.
func syncOnce(b *testing.B, addr string, wan bool, opt SyncOptions, n int) syncResult {
	b.StopTimer()
	c := newClient(b)
	var px *wansim.Proxy
	if wan {
		var err error
		if px, err = wansim.Start(addr, wanLink); err != nil {
			b.Fatal(err)
		}
		defer px.Close()
		addr = px.Addr()
	}
	b.StartTimer()
	start := time.Now()
	st, err := c.Sync(context.Background(), addr, opt)
	elapsed := time.Since(start)
	if err != nil || st.Fetched != int64(n) {
		b.Fatalf("sync: %+v %v", st, err)
	}
	r := syncResult{articles: st.Fetched, bytes: st.Bytes, elapsed: elapsed}
	if px != nil {
		r.wire = px.BytesDown()
	}
	return r
}

// BenchmarkSyncBig syncs BENCH_ARTICLES (default 100,000) articles from
// nntpd (SQLite) through the simulated 50 ms / 100 Mbit/s link with the
// pool command, in a process of its own so that its peak RSS is the
// client's. The articles are copies of a few pool-made ones under new
// message-ids, stored straight into the store (posting 100,000 would
// take longer than the sync). It reports articles/s, the elapsed time
// over the link's time for the bytes that crossed it and for the body
// bytes, wire bytes per body byte, and the client's peak RSS:
//
//	scripts/bench-sync-big [ARTICLES]
func BenchmarkSyncBig(b *testing.B) {
	n := benchEnvInt(b, "BENCH_ARTICLES", 100_000)
	templates := composeArticles(b, 20)
	ctx := context.Background()
	srv := startServer(b, nil)
	var bodyBytes int64
	now := time.Now()
	for lo := 0; lo < n; lo += 1000 {
		var batch []*store.NewArticle
		for i := lo; i < min(lo+1000, n); i++ {
			raw := templates[i%len(templates)]
			head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			id := fmt.Sprintf("<big.%d@bench.invalid>", i)
			var h bytes.Buffer
			subject := ""
			for _, line := range strings.Split(string(head), "\r\n") {
				name, value, _ := strings.Cut(line, ":")
				switch strings.ToLower(name) {
				case "message-id", "path", "date", "newsgroups":
					continue
				case "subject":
					subject = strings.TrimSpace(value)
				}
				h.WriteString(line + "\r\n")
			}
			date := now.Add(time.Duration(i-n) * time.Second).UTC().Format(time.RFC1123Z)
			fmt.Fprintf(&h, "Message-ID: %s\r\nNewsgroups: %s\r\nPath: bench.invalid!not-for-mail\r\nDate: %s\r\n", id, DefaultGroup, date)
			body = append(body, "\r\n"...)
			bodyBytes += int64(len(body))
			batch = append(batch, &store.NewArticle{MessageID: id, Groups: []string{DefaultGroup}, Header: h.Bytes(), Body: body,
				Arrived: now, Subject: subject, Date: date})
		}
		if _, err := srv.store.Insert(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	bin := buildtest.Build(b, b.TempDir(), "./cmd/pool")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		px, err := wansim.Start(srv.addr, wanLink)
		if err != nil {
			b.Fatal(err)
		}
		// BENCH_SYNC_ARGS: more flags for pool sync (--compress, --window N).
		args := append([]string{"--home", b.TempDir(), "sync", "--server", px.Addr()}, strings.Fields(os.Getenv("BENCH_SYNC_ARGS"))...)
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err = cmd.Run()
		elapsed := time.Since(start)
		px.Close()
		if err != nil {
			b.Fatalf("pool sync: %v\n%s", err, out.Bytes())
		}
		linkTime := func(bytes int64) float64 { return float64(bytes) * 8 / float64(wanLink.BitsPerSecond) }
		b.ReportMetric(float64(n)/elapsed.Seconds(), "articles/s")
		b.ReportMetric(elapsed.Seconds()/linkTime(px.BytesDown()), "x-link-time-wire")
		b.ReportMetric(elapsed.Seconds()/linkTime(bodyBytes), "x-link-time-bodies")
		b.ReportMetric(float64(px.BytesDown())/float64(bodyBytes), "wire/body")
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			b.ReportMetric(float64(ru.Maxrss)/1024, "client-peak-RSS-MiB")
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "client-CPU/elapsed")
		}
		b.Logf("%s", bytes.TrimSpace(out.Bytes()))
	}
}
