package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/internal/injecttest"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
)

// holdingBackend lets a test stop the server between storing a post and
// answering 240, and counts the answers.
type holdingBackend struct {
	nntp.Backend
	hold     atomic.Bool   // when set, a stored post waits for release
	stored   chan struct{} // signalled when a held post is stored
	release  chan struct{}
	accepted atomic.Int64 // 240s
	replays  atomic.Int64 // 441 replay
}

type holdingSession struct {
	nntp.Session
	b *holdingBackend
}

func (b *holdingBackend) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	s, err := b.Backend.NewSession(ctx, info)
	if err != nil {
		return nil, err
	}
	return &holdingSession{s, b}, nil
}

func (s *holdingSession) Post(ctx context.Context, article []byte) error {
	err := s.Session.(nntp.Poster).Post(ctx, article)
	var ne *nntp.Error
	switch {
	case err == nil:
		s.b.accepted.Add(1)
		if s.b.hold.Load() {
			s.b.stored <- struct{}{}
			<-s.b.release
		}
	case errors.As(err, &ne) && strings.HasPrefix(ne.Msg, "replay:"):
		s.b.replays.Add(1)
	}
	return err
}

// TestOutboxSurvivesSIGKILL queues messages, then kills "pool run" (the
// built binary) with SIGKILL again and again: between the server storing
// a post and its 240 (the one crash the client cannot see through), and
// at random moments. Every message reaches the group exactly once.
func TestOutboxSurvivesSIGKILL(t *testing.T) {
	t.Parallel() // mostly waiting (on tor, on kills): overlap with the other slow tests
	bin := buildtest.Build(t, t.TempDir(), "cmd/pool")
	b := injecttest.Backend(t, inject.Config{ReleaseInterval: 0})
	hb := &holdingBackend{Backend: b, stored: make(chan struct{}), release: make(chan struct{})}
	addr := nntptest.ServeNNTP(t, &nntp.Server{Backend: hb}, nil)

	alice, bob := pair(t)
	const n = 16
	for i := 0; i < n; i++ {
		r := runPool(t, fmt.Sprintf("message %d\n", i), "--home", alice, "send", "--to", "bob", "--server", addr, "--later", "--delay-mean", "1ms")
		if r.code != 0 || !strings.Contains(r.stderr, "queued") {
			t.Fatalf("send --later: %+v", r)
		}
	}
	queued := func() int {
		ents, _ := os.ReadDir(filepath.Join(alice, "outbox", "q"))
		c := 0
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				c++
			}
		}
		return c
	}
	if queued() != n || hb.accepted.Load() != 0 {
		t.Fatalf("%d queued, %d posted before any run", queued(), hb.accepted.Load())
	}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "--home", alice, "run", "--server", addr)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}

	// Killed after the server stored a post, before its 240.
	hb.hold.Store(true)
	for i := 0; i < 3; i++ {
		cmd, _ := start()
		select {
		case <-hb.stored:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatal("pool run posted nothing")
		}
		cmd.Process.Kill()
		cmd.Wait()
		hb.release <- struct{}{}
	}
	hb.hold.Store(false)

	// Killed at random moments.
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8 && queued() > 0; i++ {
		cmd, _ := start()
		time.Sleep(time.Duration(rnd.IntN(150)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}

	// Then left to finish, and stopped politely.
	cmd, stderr := start()
	deadline := time.Now().Add(2 * time.Minute)
	for queued() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if q := queued(); q != 0 {
		t.Fatalf("%d messages still queued; pool run said:\n%s", q, stderr)
	}
	if r := hb.replays.Load(); r < 3 {
		t.Errorf("the server refused %d replays; the 3 kills after storing should each have caused one", r)
	}

	// Exactly once in the group, each message.
	if r := runPool(t, "", "--home", bob, "sync", "--server", addr); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	r := runPool(t, "", "--home", bob, "read")
	if r.code != 0 {
		t.Fatalf("read: %+v", r)
	}
	if got := hb.accepted.Load(); got != n {
		t.Errorf("the server accepted %d posts, want %d", got, n)
	}
	for i := 0; i < n; i++ {
		if c := strings.Count(r.stdout, fmt.Sprintf("message %d\n", i)); c != 1 {
			t.Errorf("message %d is in the group %d times", i, c)
		}
	}
	if c := strings.Count(r.stdout, "=== article"); c != n {
		t.Errorf("%d articles in the group, want %d", c, n)
	}
}
