package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func torBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is not installed (scripts/provision installs it)")
	}
	return bin
}

// runTor starts tor with torrc in dir and waits until its log says ready.
func runTor(t *testing.T, bin, dir, torrc, ready string) {
	t.Helper()
	logFile := filepath.Join(dir, "notice.log")
	torrc += "Log notice file " + logFile + "\nDataDirectory " + filepath.Join(dir, "data") + "\n"
	rc := filepath.Join(dir, "torrc")
	if err := os.WriteFile(rc, []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", rc)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logFile)
			t.Logf("log of tor in %s:\n%s", dir, data)
		}
	})
	if ready == "" {
		return
	}
	waitForLog(t, logFile, ready, 3*time.Minute)
}

// startTor runs Debian's tor as a SOCKS proxy that cannot reach any
// network but loopback: its only directory authority is a dead port on
// 127.0.0.1 (so it never contacts the real Tor network), it may connect
// only to 127.0.0.0/8, and it gives up on a request after 3 s. It
// returns the proxy URL.
func startTor(t *testing.T) string {
	t.Helper()
	bin := torBinary(t)
	socks, dead := freePort(t), freePort(t)
	torrc := fmt.Sprintf(`SocksPort 127.0.0.1:%d IsolateSOCKSAuth
DirAuthority local orport=%d no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:%d 1111111111111111111111111111111111111111
UseDefaultFallbackDirs 0
ReachableAddresses accept 127.0.0.0/8:*, reject *:*
SocksTimeout 3
`, socks, dead, dead)
	runTor(t, bin, t.TempDir(), torrc, "Opened Socks listener connection (ready)")
	return fmt.Sprintf("socks5h://127.0.0.1:%d", socks)
}

// startTorNetwork builds a private Tor network on loopback, the way Tor's
// own test tools do: three directory authorities that are also exit
// relays for 127.0.0.0/8 (TestingTorNetwork shortens the voting
// schedule and allows private addresses), and a client whose SOCKS port
// isolates by credentials and whose control port the test reads. It
// returns the proxy URL and the control port's address once the client
// has bootstrapped (about 20 to 40 s).
func startTorNetwork(t *testing.T) (proxyURL, control string) {
	t.Helper()
	bin := torBinary(t)
	gencert, err := exec.LookPath("tor-gencert")
	if err != nil {
		t.Fatal("tor-gencert is not installed (it comes with Debian's tor)")
	}
	type auth struct {
		dir          string
		or, dirPort  int
		v3ident, fpr string
	}
	var auths []auth
	var lines strings.Builder
	for i := 0; i < 3; i++ {
		a := auth{dir: t.TempDir(), or: freePort(t), dirPort: freePort(t)}
		keys := filepath.Join(a.dir, "data", "keys")
		if err := os.MkdirAll(keys, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(a.dir, "data"), 0o700)
		gc := exec.Command(gencert, "--create-identity-key", "-m", "12", "-a", fmt.Sprintf("127.0.0.1:%d", a.dirPort),
			"-i", filepath.Join(keys, "authority_identity_key"), "-s", filepath.Join(keys, "authority_signing_key"),
			"-c", filepath.Join(keys, "authority_certificate"), "--passphrase-fd", "0")
		gc.Stdin = strings.NewReader("\n")
		if out, err := gc.CombinedOutput(); err != nil {
			t.Fatalf("tor-gencert: %v\n%s", err, out)
		}
		cert, _ := os.ReadFile(filepath.Join(keys, "authority_certificate"))
		m := regexp.MustCompile(`(?m)^fingerprint ([0-9A-F]{40})`).FindSubmatch(cert)
		if m == nil {
			t.Fatalf("no fingerprint in the authority certificate:\n%s", cert)
		}
		a.v3ident = string(m[1])
		out, err := exec.Command(bin, "--quiet", "--ignore-missing-torrc", "--list-fingerprint", "--orport", "1",
			"--datadirectory", filepath.Join(a.dir, "data"),
			"--DirAuthority", "x 127.0.0.1:1 0000000000000000000000000000000000000000").Output()
		if err != nil {
			t.Fatalf("tor --list-fingerprint: %v", err)
		}
		f := strings.Fields(string(out))
		if len(f) < 2 {
			t.Fatalf("tor --list-fingerprint said %q", out)
		}
		a.fpr = strings.Join(f[1:], "")
		fmt.Fprintf(&lines, "DirAuthority a%d orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s\n", i, a.or, a.v3ident, a.dirPort, a.fpr)
		auths = append(auths, a)
	}
	for i, a := range auths {
		runTor(t, bin, a.dir, fmt.Sprintf(`TestingTorNetwork 1
Nickname a%d
Address 127.0.0.1
ORPort 127.0.0.1:%d
DirPort 127.0.0.1:%d
SocksPort 0
ContactInfo altcrypt test
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ExitRelay 1
ExitPolicy accept 127.0.0.0/8:*
ExitPolicyRejectPrivate 0
AssumeReachable 1
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
%s`, i, a.or, a.dirPort, lines.String()), "")
	}
	socks, ctl := freePort(t), freePort(t)
	runTor(t, bin, t.TempDir(), fmt.Sprintf(`TestingTorNetwork 1
SocksPort 127.0.0.1:%d IsolateSOCKSAuth
ControlPort 127.0.0.1:%d
%s`, socks, ctl, lines.String()), "Bootstrapped 100%")
	return fmt.Sprintf("socks5h://127.0.0.1:%d", socks), fmt.Sprintf("127.0.0.1:%d", ctl)
}

// torCircuits asks a tor's control port for its circuits and returns
// the SOCKS username of each circuit that has one, by circuit id.
func torCircuits(t *testing.T, control string) map[string]string {
	t.Helper()
	c, err := net.Dial("tcp", control)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "AUTHENTICATE\r\nGETINFO circuit-status\r\nQUIT\r\n")
	out := map[string]string{}
	re := regexp.MustCompile(`SOCKS_USERNAME="([^"]*)"`)
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "250+circuit-status=")
		f := strings.Fields(line)
		if m := re.FindStringSubmatch(line); m != nil && len(f) > 0 {
			out[f[0]] = m[1]
		}
	}
	return out
}

// TestThroughRealTor: against Tor itself, with no Tor network to reach.
// Tor refuses to carry a connection to a private address (127.0.0.1)
// outright, and gives up on a name it cannot reach a circuit for; either
// way pool fails with the proxy's error and never connects around it.
// (Carrying a post end to end needs a Tor network; see docs/sending.md.)
func TestThroughRealTor(t *testing.T) {
	t.Parallel() // mostly waiting (on tor, on kills): overlap with the other slow tests
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

// TestThroughPrivateTorNetwork carries a post and a sync end to end
// through Tor: a private Tor network on loopback, since the real one is
// out of reach here. Tor's own account of its circuits shows the post
// and the sync on different circuits, by their SOCKS usernames.
func TestThroughPrivateTorNetwork(t *testing.T) {
	t.Parallel() // mostly waiting (on tor, on kills): overlap with the other slow tests
	proxyURL, control := startTorNetwork(t)
	srv := startWatched(t, nil)
	alice, bob := pair(t)
	writeSettings(t, alice, "proxy = "+proxyURL+"\nrequire-proxy = yes\n")
	if r := runPool(t, "carried by tor\n", "--home", alice, "send", "--to", "bob", "--server", srv.addr); r.code != 0 {
		t.Fatalf("send through tor: %+v", r)
	}
	r := runPool(t, "", "--home", bob, "sync", "--server", srv.addr, "--proxy", proxyURL, "--connections", "1")
	if r.code != 0 || !strings.Contains(r.stderr, "1 new articles stored") {
		t.Fatalf("sync through tor: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "read"); r.code != 0 || !strings.Contains(r.stdout, "carried by tor") {
		t.Fatalf("read: %+v", r)
	}
	circuits := torCircuits(t, control)
	var send, sync []string
	for id, user := range circuits {
		switch {
		case strings.HasPrefix(user, "altcrypt-send-"):
			send = append(send, id)
		case strings.HasPrefix(user, "altcrypt-sync-"):
			sync = append(sync, id)
		}
	}
	if len(send) != 1 || len(sync) != 1 || send[0] == sync[0] {
		t.Fatalf("tor's circuits by SOCKS username: %v; want one for the post and another for the sync", circuits)
	}
	t.Logf("post on circuit %s, sync on circuit %s", send[0], sync[0])
}
