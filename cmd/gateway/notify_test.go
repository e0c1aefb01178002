package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/altcrypt/altcrypt/internal/sdnotify/sdnotifytest"
)

// TestSMTPNotifyReady: under systemd (NOTIFY_SOCKET set) gateway smtp
// sends READY=1 once it accepts connections, and STOPPING=1 at the end.
func TestSMTPNotifyReady(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	t.Setenv("NOTIFY_SOCKET", sock)
	sdnotifytest.CheckReadyServes(t, sock, "accepting mail on ", "220 ",
		func(ctx context.Context, _ string) string {
			var stderr bytes.Buffer
			runSMTP(ctx, []string{"--listen", "127.0.0.1:0", "--accept", "mail2news@example.test",
				"--server", "127.0.0.1:1"}, &stderr)
			return stderr.String()
		})
}
