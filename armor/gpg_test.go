package armor

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
)

// Fresh ciphertext made with gpg at test time, so the suite does not depend
// on the corpus alone. The keys are made once per test binary in a short
// temporary GNUPGHOME (the agent socket path must stay short); TestMain kills
// the agent and removes the home at the end.

func TestMain(m *testing.M) {
	code := m.Run()
	gpgCleanup()
	os.Exit(code)
}

type gpgHome struct {
	*gpgtest.Home
	rsa, cv   string // encryption-capable key fingerprints (primary)
	ed        string // signing key (ed25519 primary of the cv key)
	secretKey []byte // exported secret keys, binary
	err       error
}

var (
	gpgOnce sync.Once
	gpgEnv  gpgHome
	// plaintext of every gpg-made message
	gpgPlain = []byte("Meet me under the clock at noon.\nBring the second key.\n")
)

func gpgCleanup() {
	if gpgEnv.Home != nil {
		gpgEnv.Close()
	}
}

func setupGPG() {
	h := &gpgEnv
	if h.Home, h.err = gpgtest.Open(); h.err != nil {
		return
	}
	if h.rsa, h.err = h.GenerateKey("Rsa Test <rsa@test.invalid>", gpgtest.RSA); h.err != nil {
		return
	}
	if h.ed, h.err = h.GenerateKey("Cv Test <cv@test.invalid>", gpgtest.Curve25519); h.err != nil {
		return
	}
	h.cv = h.ed
	h.secretKey, h.err = h.ExportSecret(false)
}

// gpgTest returns the shared gpg home, making it on first use.
func gpgTest(t testing.TB) *gpgHome {
	t.Helper()
	gpgOnce.Do(setupGPG)
	if gpgEnv.err != nil {
		t.Fatal(gpgEnv.err)
	}
	return &gpgEnv
}

// gpgMessage makes one message with the given gpg options.
func gpgMessage(t testing.TB, args ...string) []byte {
	t.Helper()
	h := gpgTest(t)
	out, err := h.Output(gpgPlain, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type gpgCase struct {
	name string
	args func(h *gpgHome) []string
	code string // "" = accept
}

func gpgCases() []gpgCase {
	return []gpgCase{
		{"rsa", func(h *gpgHome) []string { return []string{"-e", "-a", "-r", h.rsa} }, ""},
		{"cv25519", func(h *gpgHome) []string { return []string{"-e", "-a", "-r", h.cv} }, ""},
		{"throw-keyids", func(h *gpgHome) []string { return []string{"-e", "-a", "--throw-keyids", "-r", h.rsa} }, ""},
		{"hidden-recipient", func(h *gpgHome) []string { return []string{"-e", "-a", "-R", h.cv} }, ""},
		{"two-recipients", func(h *gpgHome) []string { return []string{"-e", "-a", "-r", h.rsa, "-r", h.cv} }, ""},
		{"symmetric", func(h *gpgHome) []string {
			return []string{"--passphrase", "correct horse", "-c", "-a"}
		}, ""},
		{"sign-then-encrypt", func(h *gpgHome) []string { return []string{"-s", "-e", "-a", "-u", h.ed, "-r", h.rsa} }, ""},
		{"clearsign", func(h *gpgHome) []string { return []string{"--clearsign", "-u", h.ed} }, CodeArmorLabel},
		{"signed", func(h *gpgHome) []string { return []string{"-s", "-a", "-u", h.ed} }, CodeCompressed},
		{"signed-uncompressed", func(h *gpgHome) []string { return []string{"-s", "-a", "-z", "0", "-u", h.ed} }, CodeSignature},
		{"store", func(h *gpgHome) []string { return []string{"--store", "-a"} }, CodeCompressed},
		{"store-uncompressed", func(h *gpgHome) []string { return []string{"--store", "-a", "-z", "0"} }, CodeLiteral},
		{"export", func(h *gpgHome) []string { return []string{"--export", "-a", h.rsa} }, CodeArmorLabel},
	}
}

func TestGPGMessages(t *testing.T) {
	h := gpgTest(t)
	for _, c := range gpgCases() {
		t.Run(c.name, func(t *testing.T) {
			body := gpgMessage(t, c.args(h)...)
			v, err := Check(body, DefaultPolicy())
			if c.code == "" {
				if err != nil {
					t.Fatalf("want accept: %v\n%s", err, body)
				}
				if v.Container != "seipd-v1" {
					t.Errorf("container %s", v.Container)
				}
				// The NNTP wire form (CRLF) passes too.
				crlf := bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
				if _, err := Check(crlf, DefaultPolicy()); err != nil {
					t.Errorf("CRLF form: %v", err)
				}
				return
			}
			wantCode(t, body, DefaultPolicy(), c.code)
		})
	}
	t.Run("verdicts", func(t *testing.T) {
		v, err := Check(gpgMessage(t, "-e", "-a", "-r", h.rsa, "-r", h.cv), DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if len(v.ESKs) != 2 || v.ESKs[0].Anonymous || v.ESKs[1].Anonymous {
			t.Errorf("two recipients: %+v", v.ESKs)
		}
		algos := map[int]bool{v.ESKs[0].Algorithm: true, v.ESKs[1].Algorithm: true}
		if !algos[1] || !algos[18] {
			t.Errorf("algorithms %+v", v.ESKs)
		}
		for _, args := range [][]string{{"-e", "-a", "--throw-keyids", "-r", h.rsa}, {"-e", "-a", "-R", h.cv}} {
			v, err := Check(gpgMessage(t, args...), DefaultPolicy())
			if err != nil || !v.ESKs[0].Anonymous || v.ESKs[0].KeyID != "" {
				t.Errorf("%v: %+v %v", args, v, err)
			}
		}
		v, err = Check(gpgMessage(t, "--passphrase", "pw", "-c", "-a"), DefaultPolicy())
		if err != nil || v.ESKs[0].Kind != "skesk" || v.ESKs[0].Version != 4 || v.ESKs[0].S2K != 3 {
			t.Errorf("symmetric: %+v %v", v, err)
		}
	})
	t.Run("text-around", func(t *testing.T) {
		body := gpgMessage(t, "-e", "-a", "-r", h.cv)
		wantCode(t, append([]byte("Hi Bob,\n\n"), body...), DefaultPolicy(), CodeTextBefore)
		wantCode(t, append(append([]byte{}, body...), "\n-- \nAlice\n"...), DefaultPolicy(), CodeTextAfter)
		wantCode(t, append(append([]byte{}, body...), body...), DefaultPolicy(), CodeMultipleBlocks)
	})
	t.Run("binary", func(t *testing.T) {
		// gpg without --armor: refused as no armor, with the hint.
		body := gpgMessage(t, "-e", "-r", h.cv)
		_, err := Check(body, DefaultPolicy())
		var ae *Error
		if !errors.As(err, &ae) || ae.Code != CodeNoArmor || !strings.Contains(ae.Error(), "gpg --armor") {
			t.Errorf("Check: %v", err)
		}
		_, err = Canonicalize(body, CanonOptions{})
		if !errors.As(err, &ae) || ae.Code != CodeNoArmor || !strings.Contains(ae.Error(), "gpg --armor") {
			t.Errorf("Canonicalize: %v", err)
		}
	})
	t.Run("large", func(t *testing.T) {
		// 100 KiB of random plaintext: gpg switches to partial lengths.
		plain := bytes.Repeat([]byte{0}, 0)
		for i := 0; i < 100<<10; i++ {
			plain = append(plain, byte(i*7919>>3^i))
		}
		out, err := h.Output(plain, "-e", "-a", "-z", "0", "-r", h.cv)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Check(out, DefaultPolicy())
		if err != nil || !v.PartialLengths {
			t.Fatalf("large: %+v %v", v, err)
		}
	})
}
