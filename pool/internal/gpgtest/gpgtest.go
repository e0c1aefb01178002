// Package gpgtest runs the real gpg in a throwaway home for tests.
package gpgtest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// GPG is a gpg with its own temporary GNUPGHOME.
type GPG struct {
	Home string
	t    testing.TB
}

// New makes a fresh home (under os.TempDir: agent socket paths must be
// short) and removes it, agent included, when the test ends.
func New(t testing.TB) *GPG {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &GPG{Home: dir, t: t}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+dir)
		_ = cmd.Run()
		os.RemoveAll(dir)
	})
	return g
}

// Result is what one gpg run printed.
type Result struct {
	Stdout []byte
	Stderr string
	Status string // the --status-fd lines
	Err    error  // gpg's exit status (it lies for anonymous recipients)
}

// OK reports whether the status lines contain word (e.g. DECRYPTION_OKAY).
func (r Result) OK(word string) bool {
	return strings.Contains(r.Status, "[GNUPG:] "+word)
}

// Run runs gpg --batch with args, stdin as input, status on fd 3 (a pipe).
func (g *GPG) Run(stdin []byte, args ...string) Result {
	g.t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		g.t.Fatal(err)
	}
	full := append([]string{"--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", "--status-fd", "3"}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.Home)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.ExtraFiles = []*os.File{pw}
	statusCh := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(pr)
		statusCh <- b.Bytes()
	}()
	err = cmd.Start()
	pw.Close()
	if err == nil {
		err = cmd.Wait()
	}
	status := <-statusCh
	pr.Close()
	return Result{Stdout: out.Bytes(), Stderr: errb.String(), Status: string(status), Err: err}
}

// Must runs gpg and fails the test on a non-zero exit.
func (g *GPG) Must(stdin []byte, args ...string) Result {
	g.t.Helper()
	r := g.Run(stdin, args...)
	if r.Err != nil {
		g.t.Fatalf("gpg %v: %v\n%s", args, r.Err, r.Stderr)
	}
	return r
}
