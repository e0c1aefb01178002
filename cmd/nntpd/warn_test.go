package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/testlog"
)

// startupLog runs nntpd in-process until it serves, stops it and returns
// what it logged.
func startupLog(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var buf testlog.Buffer
	done := make(chan int, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "news.db"), "--name", "news.test"}, args...)
	go func() { done <- run(ctx, args, nil, io.Discard, &buf) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(buf.String(), "msg=serving") {
		if time.Now().After(deadline) {
			t.Fatalf("nntpd did not start:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("nntpd exited %d:\n%s", code, buf.String())
	}
	return buf.String()
}

// TestStartupWarnings: --release-interval 0 and debug logging are each
// warned about at start, and neither warning shows otherwise.
func TestStartupWarnings(t *testing.T) {
	const zero, debug = "--release-interval 0 publishes every post at once", "debug logging records when each connection opens"
	for _, c := range []struct {
		args       []string
		zero, dbug bool
	}{
		{nil, false, false},
		{[]string{"--release-interval", "0"}, true, false},
		{[]string{"--log-level", "debug"}, false, true},
	} {
		logs := startupLog(t, c.args...)
		if strings.Contains(logs, zero) != c.zero || strings.Contains(logs, debug) != c.dbug {
			t.Errorf("%v: logs\n%s", c.args, logs)
		}
	}
}
