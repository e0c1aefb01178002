package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a running nntpd writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the log holds every one of want, or fails.
func waitFor(t *testing.T, log *syncBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := log.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", missing, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperatorLogs: the start-up summary names the store, listeners,
// groups and peers; a peer going down is one warning; expiry reports each
// run; a client's address appears nowhere.
func TestOperatorLogs(t *testing.T) {
	dir := t.TempDir()
	peersFile := filepath.Join(dir, "peers")
	// Port 1 on loopback refuses connections: the peer is down.
	if err := os.WriteFile(peersFile, []byte("peer down {\n  send-to: 127.0.0.1:1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--db", "sqlite:" + filepath.Join(dir, "news.db"), "--listen", "127.0.0.1:0",
			"--name", "test.example", "--peers", peersFile, "--log-level", "info"}, nil, &stdout, &stderr)
	}()
	defer func() { cancel(); <-done }()

	waitFor(t, &stderr, `msg=serving`, `store=sqlite`, `groups=alt.crypt.messages`,
		`peers="down(we send to 127.0.0.1:1)"`, `msg="expiry done" articles_removed=0 history_removed=0`,
		`msg="feed: peer unreachable; retrying with backoff" peer=down`)
	line := ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "msg=serving") {
			line = l
		}
	}
	i := strings.Index(line, "listeners=")
	if i < 0 {
		t.Fatalf("no listeners in %q", line)
	}
	addr := strings.Fields(line[i+len("listeners="):])[0]

	// A reader comes and goes; its address (with its own port) is never
	// logged.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	r.ReadString('\n')
	c.Write([]byte("GROUP alt.crypt.messages\r\nQUIT\r\n"))
	r.ReadString('\n')
	r.ReadString('\n')
	client := c.LocalAddr().String()
	c.Close()
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(stderr.String(), client) {
		t.Errorf("the client address %s was logged:\n%s", client, stderr.String())
	}
	// The peer stays down: one warning, the retries are debug lines.
	if n := strings.Count(stderr.String(), "feed: peer unreachable"); n != 1 {
		t.Errorf("%d warnings for one outage:\n%s", n, stderr.String())
	}
}

// TestLogLevel: a level nntpd does not know is a usage error.
func TestLogLevel(t *testing.T) {
	code, _, stderr := runNntpd(t.Context(), []string{"--log-level", "loud"}, nil)
	if code != 2 || !strings.Contains(stderr, "--log-level") {
		t.Errorf("bad level: %d %s", code, stderr)
	}
}
