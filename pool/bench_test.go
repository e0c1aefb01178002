package pool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/pool/spool"
)

// benchArticles is the size of the pool the read benchmark scans.
const benchArticles = 100_000

// benchPool is a pool directory holding one key and a local store of
// benchArticles distinct articles, of which benchOurs are for that key;
// made once per test binary run.
var benchPool struct {
	once   sync.Once
	dir    string
	client *Client
	me     *openpgp.Entity
	sample [][]byte // a few armored articles for the gpg comparison
	err    error
}

const benchOurs = 10

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPool.dir != "" {
		os.RemoveAll(benchPool.dir)
	}
	os.Exit(code)
}

func setupBenchPool(b *testing.B) *Client {
	b.Helper()
	benchPool.once.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "poolbench")
		if err != nil {
			benchPool.err = err
			return
		}
		benchPool.dir = dir
		c, err := New(dir)
		if err != nil {
			benchPool.err = err
			return
		}
		c.Progress = nil
		me, err := c.Home.Keygen(home.KeyOptions{})
		if err != nil {
			benchPool.err = err
			return
		}
		// Other people's keys: the pool is mostly not for us.
		var others []*openpgp.Entity
		for i := 0; i < 20; i++ {
			others = append(others, stranger(b))
		}
		recs := make([]spool.Record, benchArticles)
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				text := bytes.Repeat([]byte("lorem ipsum "), 60) // 720 octets: the 1 KiB bucket
				for i := w; i < benchArticles; i += workers {
					to := others[i%len(others)]
					if i%(benchArticles/benchOurs) == benchArticles/(2*benchOurs) {
						to = me
					}
					body, err := seal.Seal(to, text, nil)
					if err != nil {
						errs <- err
						return
					}
					recs[i] = spool.Record{Kind: spool.KindOpenPGP, Number: int64(i + 1), Date: 1764000000 + int64(i),
						MessageID: fmt.Sprintf("<%d@bench.invalid>", i+1), Subject: fmt.Sprintf("%048x", i), Body: body}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			benchPool.err = err
			return
		}
		w, err := spool.OpenWriter(filepath.Join(c.Home.SpoolDir(), "bench"), "bench", c.group())
		if err != nil {
			benchPool.err = err
			return
		}
		for i := range recs {
			if err := w.Append(&recs[i]); err != nil {
				benchPool.err = err
				return
			}
		}
		if err := w.Commit(benchArticles); err != nil {
			benchPool.err = err
			return
		}
		w.Close()
		for i := 0; i < 50; i++ {
			arm, _ := seal.Armor(recs[i*(benchArticles/50)+1].Body)
			benchPool.sample = append(benchPool.sample, arm)
		}
		benchPool.client, benchPool.me = c, me
		b.Logf("made %d articles in %s", benchArticles, time.Since(start).Round(time.Millisecond))
	})
	if benchPool.err != nil {
		b.Fatal(benchPool.err)
	}
	return benchPool.client
}

func readBench(b *testing.B, c *Client) ReadStats {
	b.Helper()
	found := 0
	st, err := c.Read(context.Background(), ReadOptions{Again: true}, func(*Found) error { found++; return nil })
	if err != nil {
		b.Fatal(err)
	}
	if st.Examined != benchArticles || found != benchOurs {
		b.Fatalf("examined %d, found %d; want %d and %d", st.Examined, found, benchArticles, benchOurs)
	}
	return st
}

// BenchmarkRead100k is `pool read` over a local store of 100,000 articles
// with one local key, on all cores (GOMAXPROCS workers).
func BenchmarkRead100k(b *testing.B) {
	c := setupBenchPool(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		readBench(b, c)
	}
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/100k")
	b.ReportMetric(benchArticles/sec, "articles/s")
	// On a shared machine wall time includes waiting for a core; CPU time
	// divided by the workers is what an idle machine would take.
	b.ReportMetric(cpu, "cpu-s/100k")
	b.ReportMetric(cpu/float64(runtime.GOMAXPROCS(0)), "idle-s/100k")
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadVsGPG runs `pool read` over the 100,000 articles and a loop
// of `gpg --decrypt` over 50 of them (gpg holding the same secret key), and
// reports the time per article of each and their ratio.
func BenchmarkReadVsGPG(b *testing.B) {
	c := setupBenchPool(b)
	g := gpgtest.New(b)
	sec, err := os.ReadFile(filepath.Join(c.Home.Dir, "secret", fmt.Sprintf("%X.asc", benchPool.me.PrimaryKey.Fingerprint)))
	if err != nil {
		b.Fatal(err)
	}
	g.Must(b, sec, "--import")
	g.Run(benchPool.sample[0], "--decrypt") // start the agent outside the timing
	var poolTime, gpgTime, poolCPU, gpgCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cpu0 := cpuTime()
		poolTime += readBench(b, c).Elapsed
		poolCPU += cpuTime() - cpu0
		start := time.Now()
		gcpu0 := childCPU()
		for _, a := range benchPool.sample {
			r := g.Run(a, "--decrypt")
			if r.OK("DECRYPTION_OKAY") {
				b.Fatal("gpg decrypted a stranger's message")
			}
		}
		gpgTime += time.Since(start)
		gpgCPU += childCPU() - gcpu0
	}
	poolPer := poolTime.Seconds() / float64(b.N*benchArticles)
	gpgPer := gpgTime.Seconds() / float64(b.N*len(benchPool.sample))
	b.ReportMetric(poolPer*1e6, "pool-µs/article")
	b.ReportMetric(gpgPer*1e6, "gpg-µs/article")
	b.ReportMetric(gpgPer/poolPer, "gpg/pool")
	// The same in CPU time (gpg's: its processes and the agent's share as
	// children of this process; the agent is not a child, so gpg's figure
	// is a lower bound).
	poolCPUPer := poolCPU.Seconds() / float64(b.N*benchArticles)
	gpgCPUPer := gpgCPU.Seconds() / float64(b.N*len(benchPool.sample))
	b.ReportMetric(poolCPUPer*1e6, "pool-cpu-µs/article")
	b.ReportMetric(gpgCPUPer*1e6, "gpg-cpu-µs/article")
	b.ReportMetric(gpgCPUPer/poolCPUPer, "gpg/pool-cpu")
}

// childCPU is the CPU time of the finished child processes so far.
func childCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
