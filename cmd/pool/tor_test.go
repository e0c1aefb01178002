package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTor runs Debian's tor as a SOCKS proxy that cannot reach any
// network but loopback: its only directory authority is a dead port on
// 127.0.0.1 (so it never contacts the real Tor network), it may connect
// only to 127.0.0.0/8, and it gives up on a request after 3 s. It
// returns the proxy URL.
func startTor(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is not installed (scripts/provision installs it)")
	}
	free := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	socks, dead := free(), free()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "notice.log")
	torrc := fmt.Sprintf(`SocksPort 127.0.0.1:%d IsolateSOCKSAuth
DataDirectory %s
Log notice file %s
DirAuthority local orport=%d no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:%d 1111111111111111111111111111111111111111
UseDefaultFallbackDirs 0
ReachableAddresses accept 127.0.0.0/8:*, reject *:*
SocksTimeout 3
`, socks, filepath.Join(dir, "data"), logFile, dead, dead)
	rc := filepath.Join(dir, "torrc")
	if err := os.WriteFile(rc, []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", rc)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(time.Minute)
	for {
		data, _ := os.ReadFile(logFile)
		if strings.Contains(string(data), "Opened Socks listener connection (ready)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tor did not open its SOCKS port; its log:\n%s", data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logFile)
			t.Logf("tor's log:\n%s", data)
		}
	})
	return fmt.Sprintf("socks5h://127.0.0.1:%d", socks)
}

// TestThroughRealTor: against Tor itself, with no Tor network to reach.
// Tor refuses to carry a connection to a private address (127.0.0.1)
// outright, and gives up on a name it cannot reach a circuit for; either
// way pool fails with the proxy's error and never connects around it.
// (Carrying a post end to end needs a Tor network; see docs/sending.md.)
func TestThroughRealTor(t *testing.T) {
	proxyURL := startTor(t)
	srv := startWatched(t, nil)
	alice, bob := pair(t)
	r := runPool(t, "x", "--home", alice, "send", "--to", "bob", "--server", srv.addr, "--proxy", proxyURL)
	if r.code != 1 || !strings.Contains(r.stderr, "not connecting directly") {
		t.Errorf("send to 127.0.0.1 through tor: %+v", r)
	}
	start := time.Now()
	r = runPool(t, "", "--home", bob, "sync", "--server", "news.example:119", "--proxy", proxyURL)
	if r.code != 1 || !strings.Contains(r.stderr, "not connecting directly") || !strings.Contains(r.stderr, "news.example:119") {
		t.Errorf("sync through a tor without a network: %+v", r)
	}
	t.Logf("tor gave up on news.example after %s; pool said: %s", time.Since(start).Round(time.Millisecond), r.stderr)
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("the news server saw %d connections", n)
	}
}
