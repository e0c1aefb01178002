// Package gpgtest makes real OpenPGP ciphertext with gpg at test time, in a
// temporary GNUPGHOME, so tests do not rest on stored samples alone.
package gpgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Home is a temporary GNUPGHOME holding one key pair without passphrase.
type Home struct {
	Dir   string
	Email string
	mu    sync.Mutex
}

// New creates the home and a Curve25519 key pair for a test user.
func New(t testing.TB) *Home {
	t.Helper()
	// gpg-agent's socket must sit in a short path.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := &Home{Dir: dir, Email: "recipient@example.test"}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", dir, "--kill", "all").Run()
		os.RemoveAll(dir)
	})
	h.run(t, nil, "--quick-gen-key", "Recipient <"+h.Email+">", "future-default", "default", "never")
	return h
}

func (h *Home) run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	full := append([]string{"--homedir", h.Dir, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+h.Dir)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// Encrypt returns plaintext encrypted to the home's key, ASCII-armored,
// exactly as gpg writes it (LF line endings).
func (h *Home) Encrypt(t testing.TB, plaintext string) []byte {
	t.Helper()
	return h.run(t, []byte(plaintext), "--armor", "--trust-model", "always", "--recipient", h.Email, "--encrypt")
}

// Decrypt decrypts an armored message and returns the plaintext. Success
// is judged from gpg's status lines (its exit code lies with anonymous
// recipients, shared/design/anonymity.md).
func (h *Home) Decrypt(t testing.TB, armored []byte) (plaintext string, status string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	statusFile := filepath.Join(h.Dir, "status")
	cmd := exec.Command("gpg", "--homedir", h.Dir, "--batch", "--no-tty", "--pinentry-mode", "loopback",
		"--passphrase", "", "--try-all-secrets", "--status-file", statusFile, "--decrypt")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+h.Dir)
	cmd.Stdin = bytes.NewReader(armored)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Run() // judged by status lines below
	st, _ := os.ReadFile(statusFile)
	return stdout.String(), string(st)
}

// ListPackets returns gpg --list-packets output for an armored message.
func (h *Home) ListPackets(t testing.TB, armored []byte) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := exec.Command("gpg", "--homedir", h.Dir, "--batch", "--no-tty", "--list-packets")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+h.Dir)
	cmd.Stdin = bytes.NewReader(armored)
	out, _ := cmd.CombinedOutput() // gpg exits non-zero when it cannot decrypt; the listing is there
	return string(out)
}

// CRLF converts LF line endings to CRLF, as a newsreader sends a body.
func CRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}
