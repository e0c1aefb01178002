package nntp_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

// TestLogsWithoutAddresses: opening, closing, a panic and a backend error
// are logged, and the client's address is not, unless LogAddresses is set.
func TestLogsWithoutAddresses(t *testing.T) {
	for _, logAddr := range []bool{false, true} {
		var buf syncBuffer
		srv, addr := startServer(t, faulty{b: newMem(t)}, func(s *nntp.Server) {
			s.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s.LogAddresses = logAddr
		})
		tc := dial(t, addr)
		local := tc.c.LocalAddr().String()
		tc.cmd("GROUP fail.now", "403 ")
		tc.cmd("GROUP panic.now", "403 ")
		tc.expectClosed()
		waitFor(t, func() bool { return strings.Contains(buf.String(), "connection closed") })
		_ = srv
		logs := buf.String()
		for _, want := range []string{"connection opened", "backend error", "panic", "connection closed"} {
			if !strings.Contains(logs, want) {
				t.Errorf("LogAddresses=%v: no %q in logs:\n%s", logAddr, want, logs)
			}
		}
		if got := strings.Contains(logs, local); got != logAddr {
			t.Errorf("LogAddresses=%v: address %s in logs: %v\n%s", logAddr, local, got, logs)
		}
	}
}
