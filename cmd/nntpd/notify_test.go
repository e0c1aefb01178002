package main

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNotifyReady: started by systemd (NOTIFY_SOCKET set), nntpd sends
// READY=1 only once its listener answers and the store is open, and
// STOPPING=1 when it shuts down.
func TestNotifyReady(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() string {
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan string, 1)
	go func() {
		_, _, stderr := runNntpd(ctx, []string{"--db", "sqlite:" + filepath.Join(dir, "news.db"),
			"--listen", "127.0.0.1:0", "--name", "test.example"}, []string{"NOTIFY_SOCKET=" + sock})
		done <- stderr
	}()
	msg := read()
	status, ok := strings.CutPrefix(msg, "READY=1\nSTATUS=serving from sqlite on ")
	if !ok {
		cancel()
		t.Fatalf("first notification %q (stderr %s)", msg, <-done)
	}
	addr := strings.TrimSpace(status)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	greeting, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(greeting, "200 ") {
		t.Errorf("greeting after READY: %q %v", greeting, err)
	}
	cancel()
	if got := read(); got != "STOPPING=1\n" {
		t.Errorf("at shutdown: %q", got)
	}
	<-done
}
