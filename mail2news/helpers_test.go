package mail2news

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// gnupgHome is a temporary GNUPGHOME with one Curve25519 key, made once for
// the package's tests.
var gnupgHome string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// A short path: gpg-agent's socket lives in GNUPGHOME.
	dir, err := os.MkdirTemp("", "m2n-gpg")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
	if err := os.Chmod(dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gnupgHome = dir
	cmd := exec.Command("gpg", "--homedir", dir, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "Pool Reader <reader@example.test>", "future-default", "default", "never")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "gpg key generation: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

var plaintextCounter atomic.Int64

// encrypt returns fresh gpg-made armored ciphertext to the test key; every
// call encrypts a different plaintext, so no two bodies are replays.
func encrypt(t testing.TB, extra ...string) []byte {
	t.Helper()
	args := append([]string{"--homedir", gnupgHome, "--batch", "--yes", "--trust-model", "always",
		"--encrypt", "--armor", "--recipient", "reader@example.test"}, extra...)
	cmd := exec.Command("gpg", args...)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("message %d for the pool\n", plaintextCounter.Add(1)))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg encrypt: %v\n%s", err, errb.String())
	}
	return out.Bytes()
}

// gpgRun runs gpg in the test home with stdin and returns its stdout.
func gpgRun(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", gnupgHome, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// mailSpec describes one mail for testdata/makemail.py.
type mailSpec struct {
	kind    string   // inline, qp, base64, pgpmime, alternative, attachment
	armors  [][]byte // armored blocks, in order
	before  string   // text above the armor
	sig     string   // mail signature under the armor
	headers []string // "Name: value", replacing defaults of the same name
	bare    bool     // no default headers (From, To, Received, ...)
}

// makeMail builds one mail with Python's email package.
func makeMail(t testing.TB, s mailSpec) []byte {
	t.Helper()
	return makeMails(t, []mailSpec{s})[0]
}

// makeMails builds many mails in one run of testdata/makemail.py (the
// interpreter's start is the slow part).
func makeMails(t testing.TB, specs []mailSpec) [][]byte {
	t.Helper()
	dir := t.TempDir()
	type jsonSpec struct {
		Out              string   `json:"out"`
		Kind             string   `json:"kind"`
		Armor            []string `json:"armor"`
		Before           string   `json:"before"`
		Sig              string   `json:"sig"`
		Header           []string `json:"header"`
		NoDefaultHeaders bool     `json:"no_default_headers"`
	}
	var js []jsonSpec
	for i, s := range specs {
		j := jsonSpec{Out: filepath.Join(dir, fmt.Sprintf("m%d.eml", i)), Kind: s.kind, Before: s.before, Sig: s.sig, Header: s.headers, NoDefaultHeaders: s.bare}
		for k, a := range s.armors {
			p := filepath.Join(dir, fmt.Sprintf("m%d-a%d.asc", i, k))
			if err := os.WriteFile(p, a, 0o600); err != nil {
				t.Fatal(err)
			}
			j.Armor = append(j.Armor, p)
		}
		js = append(js, j)
	}
	specFile := filepath.Join(dir, "spec.json")
	b, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python3(), makeMailScript(), "--batch", specFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makemail.py: %v\n%s", err, out)
	}
	mails := make([][]byte, len(js))
	for i, j := range js {
		if mails[i], err = os.ReadFile(j.Out); err != nil {
			t.Fatal(err)
		}
	}
	return mails
}

// makeMailScript is the path of testdata/makemail.py from this package.
func makeMailScript() string { return filepath.Join("testdata", "makemail.py") }

// python3 is the interpreter for the test scripts: the system's, when there
// is one, since a version manager's shim (pyenv) costs seconds per start on
// a busy machine; else python3 from PATH.
func python3() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}
