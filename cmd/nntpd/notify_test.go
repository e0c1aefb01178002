package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/altcrypt/altcrypt/internal/sdnotify/sdnotifytest"
)

// TestNotifyReady: started by systemd (NOTIFY_SOCKET set), nntpd sends
// READY=1 only once its listener answers and the store is open, and
// STOPPING=1 when it shuts down.
func TestNotifyReady(t *testing.T) {
	dir := t.TempDir()
	sdnotifytest.CheckReadyServes(t, filepath.Join(dir, "notify"), "serving from sqlite on ", "200 ",
		func(ctx context.Context, sock string) string {
			_, _, stderr := runNntpd(ctx, []string{"--db", "sqlite:" + filepath.Join(dir, "news.db"),
				"--listen", "127.0.0.1:0", "--name", "test.example"}, []string{"NOTIFY_SOCKET=" + sock})
			return stderr
		})
}
