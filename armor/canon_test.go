package armor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	gcarmor "github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// rewrap re-armors body with the given line width, headers and line ending,
// optionally without the CRC line, keeping the packet bytes.
func rewrap(t testing.TB, body []byte, width int, headers []string, nl string, crc bool) []byte {
	t.Helper()
	raw := packets(t, body)
	b64 := base64.StdEncoding.EncodeToString(raw)
	var out strings.Builder
	out.WriteString(beginLine + nl)
	for _, h := range headers {
		out.WriteString(h + nl)
	}
	out.WriteString(nl)
	for len(b64) > 0 {
		n := min(width, len(b64))
		out.WriteString(b64[:n] + nl)
		b64 = b64[n:]
	}
	if crc {
		c := crc24(raw)
		out.WriteString("=" + base64.StdEncoding.EncodeToString([]byte{byte(c >> 16), byte(c >> 8), byte(c)}) + nl)
	}
	out.WriteString(endLine + nl)
	return []byte(out.String())
}

// packets decodes an armored message with go-crypto (lenient; test helper).
func packets(t testing.TB, body []byte) []byte {
	t.Helper()
	blk, err := gcarmor.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("go-crypto armor: %v", err)
	}
	raw, err := io.ReadAll(blk.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// checkCanonical asserts the properties every Canonicalize output has.
func checkCanonical(t *testing.T, c *Canonical, opt CanonOptions) {
	t.Helper()
	if _, err := Check(c.Body, opt.Policy); err != nil {
		t.Fatalf("output fails Check: %v", err)
	}
	again, err := Canonicalize(c.Body, opt)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if !bytes.Equal(again.Body, c.Body) || len(again.Dropped) != 0 || again.Anonymized != 0 {
		t.Fatalf("not idempotent: %+v", again)
	}
	s := string(c.Body)
	if !strings.HasPrefix(s, beginLine+"\r\n\r\n") || !strings.HasSuffix(s, endLine+"\r\n") {
		t.Fatalf("not canonical framing:\n%s", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	for i, l := range lines[2 : len(lines)-1] {
		last := i == len(lines)-4 || strings.HasPrefix(lines[i+3], "=") || lines[i+3] == endLine
		if !strings.HasPrefix(l, "=") && len(l) != canonWidth && !last {
			t.Fatalf("line %d is %d wide", i, len(l))
		}
	}
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatal("bare LF in output")
	}
	hasCRC := strings.Contains(s, "\r\n=")
	if wantCRC := c.Verdict.Container != "seipd-v2"; hasCRC != wantCRC {
		t.Fatalf("CRC present %v for %s", hasCRC, c.Verdict.Container)
	}
}

func TestCanonicalizeCorpus(t *testing.T) {
	opt := CanonOptions{Policy: DefaultPolicy()}
	for _, c := range corpustest.Read(t) {
		t.Run(c.File, func(t *testing.T) {
			out, err := Canonicalize(c.Body, opt)
			code := corpusCodes[c.File]
			switch {
			case c.Expected == "accept":
				if err != nil {
					t.Fatal(err)
				}
				checkCanonical(t, out, opt)
				sameContents(t, contentsOf(t, out.Body), contentsOf(t, c.Body))
				wantCanonicalFraming(t, packets(t, out.Body))
			case code == CodeArmorHeader, code == CodeTextAfter:
				// Injection accepts what real clients send.
				if err != nil {
					t.Fatalf("want canonical form, got %v", err)
				}
				checkCanonical(t, out, opt)
				if len(out.Dropped) == 0 {
					t.Fatal("nothing reported as dropped")
				}
			default:
				if err == nil {
					t.Fatalf("accepted a %s reject", code)
				}
				if strings.HasPrefix(code, "packet") || strings.HasPrefix(code, "top-level") || strings.HasPrefix(code, "bad-") {
					var ae *Error
					if !errors.As(err, &ae) || ae.Code != code {
						t.Fatalf("code %v, want %s", err, code)
					}
				}
			}
		})
	}
}

func TestCanonicalizeVariants(t *testing.T) {
	h := gpgTest(t)
	msg := gpgMessage(t, "-e", "-a", "-r", h.cv)
	contents := contentsOf(t, msg)
	opt := CanonOptions{Policy: DefaultPolicy()}
	rnp, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "rnp-cv25519-seipd1.asc"))
	if err != nil {
		t.Fatal(err)
	}
	clear := gpgMessage(t, "--clearsign", "-u", h.ed)
	sig := gpgMessage(t, "--detach-sign", "-a", "-u", h.ed)
	cases := []struct {
		name    string
		body    []byte
		code    string
		dropped []string
	}{
		{"headers", rewrap(t, msg, 64, []string{"Version: GnuPG v2", "Comment: https://example.org/"}, "\n", true), "", []string{"armor headers: Version, Comment"}},
		{"76-columns-rnp", rnp, "", nil},
		{"76-columns", rewrap(t, msg, 76, nil, "\n", true), "", nil},
		{"60-columns", rewrap(t, msg, 60, nil, "\n", true), "", nil},
		{"crlf", rewrap(t, msg, 64, nil, "\r\n", true), "", nil},
		{"no-crc", rewrap(t, msg, 64, nil, "\n", false), "", nil},
		{"text-before-after", []byte("Hello Bob,\n\nhere it is:\n\n" + string(msg) + "\nCheers\n-- \nAlice\n"), "",
			[]string{"2 lines of text before the armor", "3 lines of text after the armor (a mail signature)"}},
		{"quoted-reply-text", []byte("> earlier mail\n" + string(msg)), "", []string{"1 line of text before the armor"}},
		{"two-blocks", append(append([]byte{}, msg...), msg...), CodeMultipleBlocks, nil},
		{"signature-block", clear, CodeArmorLabel, nil},
		{"message-then-signature", append(append([]byte{}, msg...), sig...), CodeArmorLabel, nil},
		{"empty", nil, CodeEmptyBody, nil},
		{"only-text", []byte("no armor here\n"), CodeNoArmor, nil},
		{"no-end", bytes.TrimSuffix(msg, []byte(endLine+"\n")), CodeArmorEnd, nil},
		{"bad-crc", bytes.Replace(rewrap(t, msg, 64, nil, "\n", true), []byte("\n="), []byte("\n=AAAA\n-----END PGP MESSAGE-----\n#"), 1), CodeChecksum, nil},
		{"line-too-long", rewrap(t, msg, 80, nil, "\n", true), CodeLineLength, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Canonicalize(c.body, opt)
			if c.code != "" {
				var ae *Error
				if !errors.As(err, &ae) || ae.Code != c.code {
					t.Fatalf("want %s, got %v", c.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkCanonical(t, out, opt)
			if c.name != "76-columns-rnp" {
				sameContents(t, contentsOf(t, out.Body), contents)
			}
			if strings.Join(out.Dropped, "|") != strings.Join(c.dropped, "|") {
				t.Fatalf("dropped %q, want %q", out.Dropped, c.dropped)
			}
		})
	}
	// The canonical form of a gpg message is the armor gpg writes (64
	// columns and a CRC, no headers) with CRLF, of the re-framed packets.
	out, err := Canonicalize(msg, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := encode(packets(t, out.Body), true); !bytes.Equal(out.Body, want) {
		t.Fatalf("canonical gpg message differs:\n%s\n%s", out.Body, want)
	}
}

func TestCanonicalizeV6(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "openpgpjs-v6-pkesk6-plus-skesk6.asc"))
	if err != nil {
		t.Fatal(err)
	}
	// v6 armor with a (forbidden) CRC: dropped and reported.
	withCRC := rewrap(t, body, 60, nil, "\n", true)
	opt := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
	out, err := Canonicalize(withCRC, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkCanonical(t, out, opt)
	if out.Anonymized != 1 || len(out.Dropped) != 1 {
		t.Fatalf("anonymized %d dropped %q", out.Anonymized, out.Dropped)
	}
	e := out.Verdict.ESKs[0]
	if e.Version != 6 || !e.Anonymous || e.Fingerprint != "" {
		t.Fatalf("v6 PKESK not anonymous: %+v", e)
	}
	before, after := contentsOf(t, body), contentsOf(t, out.Body)
	if len(before[0].contents)-len(after[0].contents) != 33 {
		t.Fatalf("v6 PKESK shrank by %d octets, want 33", len(before[0].contents)-len(after[0].contents))
	}
	// Everything from the SKESK on is untouched.
	sameContents(t, after[1:], before[1:])
	// With "anonymous recipients only", the anonymised output passes.
	strict := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
	strict.Policy.AllowVisibleRecipients = false
	if _, err := Canonicalize(body, strict); err != nil {
		t.Fatal(err)
	}
	strict.Anonymize = false
	if _, err := Canonicalize(body, strict); err == nil {
		t.Fatal("visible recipient accepted")
	}
}

// TestAnonymizeRoundTrip anonymises gpg-made messages and decrypts the result
// with gpg and with go-crypto.
func TestAnonymizeRoundTrip(t *testing.T) {
	h := gpgTest(t)
	keyring, err := openpgp.ReadKeyRing(bytes.NewReader(h.secretKey))
	if err != nil {
		t.Fatal(err)
	}
	opt := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
	for _, c := range []struct {
		name string
		args []string
		n    int
	}{
		{"rsa", []string{"-e", "-a", "-r", h.rsa}, 1},
		{"cv25519", []string{"-e", "-a", "-r", h.cv}, 1},
		{"two-recipients", []string{"-e", "-a", "-r", h.rsa, "-r", h.cv}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := gpgMessage(t, c.args...)
			v, err := Check(msg, DefaultPolicy())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range v.ESKs {
				if e.Anonymous {
					t.Fatal("gpg message already anonymous")
				}
			}
			out, err := Canonicalize(msg, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkCanonical(t, out, opt)
			if out.Anonymized != c.n || len(out.Verdict.ESKs) != c.n {
				t.Fatalf("anonymized %d of %d", out.Anonymized, len(out.Verdict.ESKs))
			}
			raw := packets(t, out.Body)
			for _, e := range out.Verdict.ESKs {
				if !e.Anonymous || e.KeyID != "" {
					t.Fatalf("not anonymous: %+v", e)
				}
			}
			// The v3 key IDs sit at octets 1..8 of each PKESK body; check
			// them with go-crypto's packet reader too.
			if bytes.Equal(raw, packets(t, msg)) {
				t.Fatal("packets unchanged")
			}
			// gpg: judge by DECRYPTION_OKAY; gpg exits 2 after trying the
			// hidden recipient against every secret key.
			r := h.Decrypt(out.Body)
			if !r.OK("DECRYPTION_OKAY") {
				t.Fatalf("gpg did not decrypt:\n%s", r.Status)
			}
			if got := r.Stdout; !bytes.Equal(got, gpgPlain) {
				t.Fatalf("gpg plaintext %q, %v", got, r.Err)
			}
			// go-crypto
			blk, err := gcarmor.Decode(bytes.NewReader(out.Body))
			if err != nil {
				t.Fatal(err)
			}
			md, err := openpgp.ReadMessage(blk.Body, keyring, nil, nil)
			if err != nil {
				t.Fatalf("go-crypto: %v", err)
			}
			if len(md.EncryptedToKeyIds) != c.n {
				t.Errorf("go-crypto saw %d recipients", len(md.EncryptedToKeyIds))
			}
			for _, id := range md.EncryptedToKeyIds {
				if id != 0 {
					t.Errorf("go-crypto sees key ID %016x", id)
				}
			}
			plain, err := io.ReadAll(md.UnverifiedBody)
			if err != nil || !bytes.Equal(plain, gpgPlain) {
				t.Fatalf("go-crypto plaintext %q, %v", plain, err)
			}
		})
	}
}
