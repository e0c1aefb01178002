package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSMTPNotifyReady: under systemd (NOTIFY_SOCKET set) gateway smtp
// sends READY=1 once it accepts connections, and STOPPING=1 at the end.
func TestSMTPNotifyReady(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
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
	defer cancel()
	done := make(chan string, 1)
	go func() {
		var stderr bytes.Buffer
		runSMTP(ctx, []string{"--listen", "127.0.0.1:0", "--accept", "mail2news@example.test",
			"--server", "127.0.0.1:1"}, &stderr)
		done <- stderr.String()
	}()
	msg := read()
	addr, ok := strings.CutPrefix(msg, "READY=1\nSTATUS=accepting mail on ")
	if !ok {
		cancel()
		t.Fatalf("first notification %q (stderr %s)", msg, <-done)
	}
	conn, err := net.Dial("tcp", strings.TrimSpace(addr))
	if err != nil {
		t.Fatal(err)
	}
	greeting, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(greeting, "220 ") {
		t.Errorf("greeting after READY: %q %v", greeting, err)
	}
	cancel()
	if got := read(); got != "STOPPING=1\n" {
		t.Errorf("at shutdown: %q", got)
	}
	<-done
}
