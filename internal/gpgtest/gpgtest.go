// Package gpgtest runs the real gpg in a temporary GNUPGHOME, so tests rest
// on ciphertext gpg made at test time and on gpg's own judgement of what the
// code under test produced. It imports only the standard library.
package gpgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runTimeout bounds one gpg run, so a hung agent fails the test instead of
// stalling the package until go test's own timeout.
const runTimeout = 2 * time.Minute

// Home is a temporary GNUPGHOME.
type Home struct {
	Dir string
}

// Open makes an empty home; the caller must Close it. For TestMain and
// sync.Once, where there is no testing.TB; tests use New.
func Open() (*Home, error) {
	// Under os.TempDir, not t.TempDir: gpg-agent's socket lives in the
	// home and its path must stay short.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		return nil, err
	}
	h := &Home{Dir: dir}
	if err := os.Chmod(dir, 0o700); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// New makes an empty home that is closed when the test ends.
func New(t testing.TB) *Home {
	t.Helper()
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// Close stops the home's gpg-agent (and any other gpg daemon of the home)
// and removes the home.
func (h *Home) Close() {
	cmd := exec.Command("gpgconf", "--homedir", h.Dir, "--kill", "all")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+h.Dir)
	_ = cmd.Run()
	os.RemoveAll(h.Dir)
}

// Result is what one gpg run printed.
type Result struct {
	Stdout []byte
	Stderr string
	Status string // the --status-fd lines
	Err    error  // gpg's exit status: it lies for anonymous recipients
}

// OK reports whether the status lines contain word (e.g. DECRYPTION_OKAY).
func (r Result) OK(word string) bool {
	return strings.Contains(r.Status, "[GNUPG:] "+word)
}

// Run runs gpg --batch in the home with stdin as input and the status
// lines on fd 3. It never fails the test: callers judge the Result.
func (h *Home) Run(stdin []byte, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		return Result{Err: err}
	}
	full := append([]string{"--homedir", h.Dir, "--batch", "--yes", "--no-tty",
		"--pinentry-mode", "loopback", "--passphrase", "", "--status-fd", "3"}, args...)
	cmd := exec.CommandContext(ctx, "gpg", full...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+h.Dir)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.ExtraFiles = []*os.File{pw}
	statusCh := make(chan []byte, 1)
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

// Output runs gpg and returns its stdout, or an error with gpg's stderr
// when it exits non-zero.
func (h *Home) Output(stdin []byte, args ...string) ([]byte, error) {
	r := h.Run(stdin, args...)
	if r.Err != nil {
		return r.Stdout, fmt.Errorf("gpg %s: %v\n%s", strings.Join(args, " "), r.Err, r.Stderr)
	}
	return r.Stdout, nil
}

// Must runs gpg and fails the test when it exits non-zero.
func (h *Home) Must(t testing.TB, stdin []byte, args ...string) Result {
	t.Helper()
	r := h.Run(stdin, args...)
	if r.Err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), r.Err, r.Stderr)
	}
	return r
}

// Algo is the kind of key pair GenerateKey makes, without passphrase and
// without expiry.
type Algo int

const (
	// Curve25519 is gpg's future-default: an Ed25519 primary key (sign,
	// certify) with a Curve25519 encryption subkey.
	Curve25519 Algo = iota
	// RSA is an RSA-2048 primary key (sign, certify) with an RSA-2048
	// encryption subkey.
	RSA
)

// GenerateKey makes a key pair for uid ("Name <address>") and returns the
// fingerprint of its primary key.
func (h *Home) GenerateKey(uid string, algo Algo) (string, error) {
	switch algo {
	case Curve25519:
		if _, err := h.Output(nil, "--quick-gen-key", uid, "future-default", "default", "never"); err != nil {
			return "", err
		}
		return h.Fingerprint(uid)
	case RSA:
		if _, err := h.Output(nil, "--quick-gen-key", uid, "rsa2048", "sign,cert", "never"); err != nil {
			return "", err
		}
		fpr, err := h.Fingerprint(uid)
		if err != nil {
			return "", err
		}
		if _, err := h.Output(nil, "--quick-add-key", fpr, "rsa2048", "encr", "never"); err != nil {
			return "", err
		}
		return fpr, nil
	}
	return "", fmt.Errorf("gpgtest: unknown algorithm %d", algo)
}

// Fingerprint returns the fingerprint of the first key gpg lists for who.
func (h *Home) Fingerprint(who string) (string, error) {
	out, err := h.Output(nil, "--with-colons", "--list-keys", who)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9], nil
		}
	}
	return "", fmt.Errorf("gpg lists no fingerprint for %s", who)
}

// ExportSecret returns the secret keys of who (all when none), ASCII-armored
// or binary.
func (h *Home) ExportSecret(armored bool, who ...string) ([]byte, error) {
	return h.export("--export-secret-keys", armored, who)
}

// ExportPublic returns the public keys of who (all when none), ASCII-armored
// or binary.
func (h *Home) ExportPublic(armored bool, who ...string) ([]byte, error) {
	return h.export("--export", armored, who)
}

func (h *Home) export(command string, armored bool, who []string) ([]byte, error) {
	var args []string
	if armored {
		args = append(args, "--armor")
	}
	args = append(append(args, command), who...)
	return h.Output(nil, args...)
}

// Recipient is how an encrypted message names its recipient.
type Recipient int

const (
	// Visible: -r, the key ID stands in the session key packet.
	Visible Recipient = iota
	// ThrowKeyIDs: -r with --throw-keyids, every key ID is zero.
	ThrowKeyIDs
	// Hidden: -R, a hidden recipient (key ID zero).
	Hidden
)

// Encrypt returns plaintext encrypted to the key to (an address or
// fingerprint), ASCII-armored exactly as gpg writes it (LF line endings).
// extra are more gpg options (--sign, --comment ...).
func (h *Home) Encrypt(t testing.TB, plaintext []byte, to string, how Recipient, extra ...string) []byte {
	t.Helper()
	args := []string{"--trust-model", "always", "--armor", "--encrypt"}
	switch how {
	case Visible:
		args = append(args, "--recipient", to)
	case ThrowKeyIDs:
		args = append(args, "--throw-keyids", "--recipient", to)
	case Hidden:
		args = append(args, "--hidden-recipient", to)
	default:
		t.Fatalf("gpgtest: unknown recipient form %d", how)
	}
	return h.Must(t, plaintext, append(args, extra...)...).Stdout
}

// Decrypt decrypts a message with every secret key of the home. Judge
// success by r.OK("DECRYPTION_OKAY"), never by r.Err: gpg exits non-zero
// after trying a hidden recipient against every secret key.
func (h *Home) Decrypt(ciphertext []byte) Result {
	return h.Run(ciphertext, "--try-all-secrets", "--decrypt")
}

// ListPackets returns gpg --list-packets output for a message: stdout,
// then stderr (where gpg says what it could not decrypt). gpg exits
// non-zero when it cannot decrypt; the listing is there all the same.
func (h *Home) ListPackets(message []byte) string {
	r := h.Run(message, "--list-packets")
	return string(r.Stdout) + r.Stderr
}

// KeyEmail is the address of the key pair NewKey and OpenKey make.
const KeyEmail = "recipient@example.test"

// Key is a home holding one Curve25519 key pair, for KeyEmail, that tests
// encrypt to.
type Key struct {
	*Home
	Email string
}

// NewKey makes a Key, closed when the test ends.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := OpenKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// OpenKey is NewKey for TestMain and sync.Once: the caller must Close it.
func OpenKey() (*Key, error) {
	h, err := Open()
	if err != nil {
		return nil, err
	}
	if _, err := h.GenerateKey("Recipient <"+KeyEmail+">", Curve25519); err != nil {
		h.Close()
		return nil, err
	}
	return &Key{Home: h, Email: KeyEmail}, nil
}

// EncryptText encrypts plaintext to the key with a visible recipient, as
// most senders do; extra are more gpg options (--throw-keyids, --sign ...).
func (k *Key) EncryptText(t testing.TB, plaintext string, extra ...string) []byte {
	t.Helper()
	return k.Encrypt(t, []byte(plaintext), k.Email, Visible, extra...)
}

// CRLF converts LF line endings to CRLF, as a newsreader sends a body.
func CRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}
