package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/testlog"
)

// startNntpd runs nntpd in-process with args until the test ends and
// returns its log.
func startNntpd(t *testing.T, args ...string) *testlog.Buffer {
	t.Helper()
	var stderr testlog.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, nil, io.Discard, &stderr) }()
	t.Cleanup(func() { cancel(); <-done })
	return &stderr
}

// downPeers writes a peers file in dir with one peer, "down", that we
// send to at port 1 on loopback, which refuses connections.
func downPeers(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "peers")
	if err := os.WriteFile(name, []byte("peer down {\n  send-to: 127.0.0.1:1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// dialNntp connects to addr and reads the greeting.
func dialNntp(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	r.ReadString('\n')
	return c, r
}

// waitFor waits until the log holds every one of want, or fails.
func waitFor(t *testing.T, log *testlog.Buffer, want ...string) {
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
	// The peer is down.
	stderr := startNntpd(t, "--db", "sqlite:"+filepath.Join(dir, "news.db"), "--listen", "127.0.0.1:0",
		"--name", "test.example", "--peers", downPeers(t, dir), "--log-level", "info")

	waitFor(t, stderr, `msg=serving`, `store=sqlite`, `groups=alt.crypt.messages`,
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
	c, r := dialNntp(t, addr)
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
