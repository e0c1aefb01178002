package nntp_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/testlog"
	"github.com/altcrypt/altcrypt/nntp"
)

// TestLogsWithoutAddresses: opening, closing, a panic and a backend error
// are logged, and the client's address is not, unless LogAddresses is set.
func TestLogsWithoutAddresses(t *testing.T) {
	for _, logAddr := range []bool{false, true} {
		var buf testlog.Buffer
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

// TestDefaultLogsNoConnections: at the default level (info) nothing is
// logged per connection (no open or close time, no connection id), so a
// log cannot be joined with article times; errors carry no id either.
func TestDefaultLogsNoConnections(t *testing.T) {
	var buf testlog.Buffer
	_, addr := startServer(t, faulty{b: newMem(t)}, func(s *nntp.Server) {
		s.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	for range 3 {
		tc := dial(t, addr)
		tc.cmd("GROUP fail.now", "403 ")
		tc.cmd("QUIT", "205 ")
		tc.expectClosed()
	}
	waitFor(t, func() bool { return strings.Count(buf.String(), "backend error") == 3 })
	logs := buf.String()
	for _, bad := range []string{"connection opened", "connection closed", "conn=", "duration="} {
		if strings.Contains(logs, bad) {
			t.Errorf("%q in default-level logs:\n%s", bad, logs)
		}
	}
}
