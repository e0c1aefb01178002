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
