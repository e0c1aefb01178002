// Package sdnotifytest is systemd's end of the notify socket, for the
// tests of services that say when they are ready.
package sdnotifytest

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// Listen opens a datagram socket at name as systemd does ("\x00..." for
// the abstract namespace) and returns a function that reads one
// notification, failing the test when none comes within a minute.
func Listen(t testing.TB, name string) func() string {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return func() string {
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
}

// CheckReadyServes checks what a Type=notify unit relies on: run starts
// the service with $NOTIFY_SOCKET set to socket and serves until ctx is
// cancelled, then returns its standard error. The first notification
// must be READY=1 with a status line of statusPrefix and the TCP address,
// a client connecting there must then get a greeting line starting with
// greeting, and cancelling must send STOPPING=1.
func CheckReadyServes(t *testing.T, socket, statusPrefix, greeting string, run func(ctx context.Context, socket string) string) {
	t.Helper()
	read := Listen(t, socket)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan string, 1)
	go func() { done <- run(ctx, socket) }()
	msg := read()
	addr, ok := strings.CutPrefix(msg, "READY=1\nSTATUS="+statusPrefix)
	if !ok {
		cancel()
		t.Fatalf("first notification %q (stderr %s)", msg, <-done)
	}
	conn, err := net.Dial("tcp", strings.TrimSpace(addr))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(line, greeting) {
		t.Errorf("greeting after READY: %q %v", line, err)
	}
	cancel()
	if got := read(); got != "STOPPING=1\n" {
		t.Errorf("at shutdown: %q", got)
	}
	<-done
}
