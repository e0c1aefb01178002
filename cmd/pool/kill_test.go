package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
	"github.com/altcrypt/altcrypt/pool"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/spool"
)

// slowCounting serves nntpmem with a delay per command and counts how often
// each article's body is served.
type slowCounting struct {
	nntp.Backend
	mu      sync.Mutex
	count   map[int64]int
	numbers map[string]int64 // message-id to number
}

func (b *slowCounting) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := b.Backend.NewSession(ctx, info)
	return &slowSession{s, b}, err
}

type slowSession struct {
	nntp.Session
	b *slowCounting
}

func (s *slowSession) Article(ctx context.Context, g string, n int64) (*nntp.Article, error) {
	time.Sleep(10 * time.Millisecond)
	s.b.mu.Lock()
	s.b.count[n]++
	s.b.mu.Unlock()
	return s.Session.Article(ctx, g, n)
}

// ArticleByID counts as Article: a pipelined sync fetches by message-id.
func (s *slowSession) ArticleByID(ctx context.Context, id string) (*nntp.Article, error) {
	time.Sleep(10 * time.Millisecond)
	s.b.mu.Lock()
	s.b.count[s.b.numbers[id]]++
	s.b.mu.Unlock()
	return s.Session.ArticleByID(ctx, id)
}

// TestSyncKilledAndInterrupted runs the pool binary: a sync killed with
// SIGKILL leaves a consistent store (the next sync stores every article
// exactly once); a sync stopped with SIGINT stops cleanly, and the articles
// it fetched are not fetched again.
func TestSyncKilledAndInterrupted(t *testing.T) {
	bin := buildtest.Build(t, t.TempDir(), "cmd/pool")
	dir := t.TempDir()
	c, err := pool.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := c.Home.Keygen(home.KeyOptions{})
	pub, _ := home.ArmoredPublic(me)
	c.Home.ImportContact("me", bytes.NewReader(pub))
	mem := nntpmem.New(pool.DefaultGroup)
	const n = 400
	numbers := map[string]int64{}
	for i := 0; i < n; i++ {
		art, err := c.Compose("me", []byte(fmt.Sprint(i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := mem.Add(art)
		if err != nil {
			t.Fatal(err)
		}
		numbers[id] = int64(i + 1)
	}
	backend := &slowCounting{Backend: mem, count: map[int64]int{}, numbers: numbers}
	srv := &nntp.Server{Backend: backend}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()

	// syncUntil runs a sync and signals it once until() holds.
	syncUntil := func(until func() bool, sig os.Signal) string {
		cmd := exec.Command(bin, "--home", dir, "sync", "--server", addr, "--window", "8")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for !until() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		cmd.Wait()
		// Let the server finish what a killed client had asked for.
		time.Sleep(100 * time.Millisecond)
		return stderr.String()
	}
	served := func() int {
		backend.mu.Lock()
		defer backend.mu.Unlock()
		t := 0
		for _, v := range backend.count {
			t += v
		}
		return t
	}
	stored := func() []int64 {
		r, err := spool.OpenReader(filepath.Join(dir, "spool", spool.DirName(addr)))
		if err != nil {
			return nil
		}
		var nums []int64
		r.Scan(spool.Position{}, func(b []spool.Record, _ spool.Position) error {
			for _, x := range b {
				nums = append(nums, x.Number)
			}
			return nil
		})
		return nums
	}
	// SIGKILL twice, at different points.
	// Once something is committed (and more is in flight), then early.
	syncUntil(func() bool { return len(stored()) > 0 && served() > len(stored())+20 }, syscall.SIGKILL)
	s0 := served()
	syncUntil(func() bool { return served() > s0+10 }, syscall.SIGKILL)
	afterKill := len(stored())
	// SIGINT: a clean stop.
	counts := func() map[int64]int {
		backend.mu.Lock()
		defer backend.mu.Unlock()
		m := map[int64]int{}
		for k, v := range backend.count {
			m[k] = v
		}
		return m
	}
	before := counts()
	s1 := served()
	msg := syncUntil(func() bool { return served() > s1+50 }, os.Interrupt)
	if !strings.Contains(msg, "interrupted") {
		t.Errorf("stderr of the interrupted sync: %s", msg)
	}
	afterInt := stored()
	atInt := counts()
	// Finish.
	if out, err := exec.Command(bin, "--home", dir, "sync", "--server", addr).CombinedOutput(); err != nil {
		t.Fatalf("last sync: %v\n%s", err, out)
	}
	nums := stored()
	if len(nums) != n {
		t.Fatalf("%d articles stored, want %d (after kills %d, after SIGINT %d)", len(nums), n, afterKill, len(afterInt))
	}
	for i, x := range nums {
		if x != int64(i+1) {
			t.Fatalf("record %d is article %d: stored twice or out of order", i, x)
		}
	}
	// The SIGINT run fetched each article it stored once, and nothing it
	// stored was fetched again by the last sync.
	end := counts()
	if len(afterInt) <= afterKill {
		t.Fatalf("the SIGINT run stored nothing (%d, then %d)", afterKill, len(afterInt))
	}
	for _, x := range afterInt[afterKill:] {
		if atInt[x]-before[x] != 1 || end[x] != atInt[x] {
			t.Errorf("article %d: fetched %d times by the interrupted run, %d by the last", x, atInt[x]-before[x], end[x]-atInt[x])
		}
	}
	t.Logf("stored after the kills: %d, after SIGINT: %d, of %d", afterKill, len(afterInt), n)
	out, err := exec.Command(bin, "--home", dir, "read").Output()
	if err != nil || strings.Count(string(out), "=== article") != n {
		t.Fatalf("read found %d of %d: %v", strings.Count(string(out), "=== article"), n, err)
	}
}
