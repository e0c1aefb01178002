package armor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// corpusCodes is the reason code chosen for every reject in the manifest.
var corpusCodes = map[string]string{
	"gpg-detached-signature.asc":                CodeArmorLabel,
	"sq-public-key-block-with-comments.asc":     CodeArmorLabel,
	"zip-bytes-dressed-as-message.asc":          CodePacketHeader,
	"gpg-store-compressed-only.asc":             CodeCompressed,
	"gpg-signed-only-uncompressed.asc":          CodeSignature,
	"public-key-packets-dressed-as-message.asc": CodeKeyMaterial,
	"empty-body.txt":                            CodeEmptyBody,
	"plaintext-no-armor.txt":                    CodeNoArmor,
	"armor-text-after.asc":                      CodeTextAfter,
	"armor-multipart-label.asc":                 CodeArmorLabel,
	"armor-missing-blank-line.asc":              CodeBlankLine,
	"armor-indented.asc":                        CodeWhitespace,
	"gpg-version-header.asc":                    CodeArmorHeader,
	"armor-charset-header.asc":                  CodeArmorHeader,
	"armor-invalid-base64-char.asc":             CodeBase64,
	"packet-truncated-valid-base64.asc":         CodeTruncated,
	"armor-non-ascii-bytes.asc":                 CodeNonASCII,
	"armor-noncanonical-base64-bits.asc":        CodeBase64,
	"packet-trailing-zero-bytes.asc":            CodeTrailingData,
	"packet-esk-without-data.asc":               CodeNoDataPacket,
	"packet-first-partial-under-512.asc":        CodePartialFirst,
	"packet-private-tag-60.asc":                 CodeUnknownPacket,
	"packet-user-id-prepended.asc":              CodeUserID,
	"openpgpjs-v6-toplevel-padding-packet.asc":  CodePadding,
	"packet-seipd-version-3.asc":                CodeBadSEIPD,
	"packet-pkesk-mpi-overrun.asc":              CodeBadPKESK,
	"packet-seipd2-unknown-aead-9.asc":          CodeBadSEIPD,
	"gpg-legacy-sed-tag9.asc":                   CodeLegacySED,
	"fake-seipd-zero-body.asc":                  CodeFake,
}

func TestCorpusManifest(t *testing.T) {
	seen := 0
	for _, c := range corpustest.Read(t) {
		t.Run(c.File, func(t *testing.T) {
			v, err := Check(c.Body, DefaultPolicy())
			switch c.Expected {
			case "accept":
				if err != nil {
					t.Fatalf("want accept (%s), got %v", c.Reason, err)
				}
				if v.Container == "" || len(v.ESKs) == 0 || v.PacketBytes == 0 || v.BodyBytes != len(c.Body) {
					t.Fatalf("incomplete verdict %+v", v)
				}
			case "reject":
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("want reject (%s), got %v, %v", c.Reason, v, err)
				}
				want, ok := corpusCodes[c.File]
				if !ok {
					t.Fatalf("no code chosen for %s (got %s)", c.File, ae.Code)
				}
				seen++
				if ae.Code != want {
					t.Fatalf("code %q, want %q (%v)", ae.Code, want, err)
				}
				if _, ok := Rule(ae.Code); !ok || ae.Msg == "" {
					t.Fatalf("code %q has no rule or message", ae.Code)
				}
			default:
				t.Fatalf("bad manifest row %q", c.Expected)
			}
		})
	}
	if seen != len(corpusCodes) {
		t.Errorf("the code table names %d files, the manifest rejects %d", len(corpusCodes), seen)
	}
}

func TestCorpusVerdictDetails(t *testing.T) {
	read := func(name string) *Verdict {
		b, err := os.ReadFile(filepath.Join(corpustest.Dir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Check(b, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := read("gpg-hidden-recipient-rsa.asc")
	if e := v.ESKs[0]; e.Kind != "pkesk" || e.Version != 3 || !e.Anonymous || e.KeyID != "" || e.Algorithm != 1 {
		t.Errorf("hidden rsa: %+v", e)
	}
	v = read("gpg-cv25519-one-recipient.asc")
	if e := v.ESKs[0]; e.Anonymous || len(e.KeyID) != 16 || e.Algorithm != 18 || !v.Checksum || v.LineWidth != 64 {
		t.Errorf("cv25519: %+v %+v", e, v)
	}
	v = read("rnp-cv25519-seipd1.asc")
	if v.LineWidth != 76 {
		t.Errorf("rnp width %d", v.LineWidth)
	}
	v = read("openpgpjs-v6-pkesk6-plus-skesk6.asc")
	if v.Container != "seipd-v2" || v.ESKs[0].Version != 6 || len(v.ESKs[0].Fingerprint) != 64 || v.ESKs[1].Kind != "skesk" || v.ESKs[1].Version != 6 || v.Cipher == 0 || v.AEAD == 0 {
		t.Errorf("v6: %+v", v)
	}
	v = read("openpgpjs-v6-anonymous-recipient.asc")
	if e := v.ESKs[0]; !e.Anonymous || e.Fingerprint != "" {
		t.Errorf("v6 anonymous: %+v", e)
	}
	v = read("gpg-64k-random-plaintext.asc")
	if !v.PartialLengths {
		t.Errorf("64k: no partial lengths reported")
	}
	v = read("packet-marker-then-message.asc")
	if v.Markers != 1 {
		t.Errorf("markers %d", v.Markers)
	}
	v = read("rnp-aead-eax-tag20.asc")
	if v.Container != "aead-librepgp" || v.AEAD != 1 {
		t.Errorf("tag20 %+v", v)
	}
}

func TestPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-cv25519-one-recipient.asc"))
	if err != nil {
		t.Fatal(err)
	}
	hidden, _ := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-hidden-recipient-rsa.asc"))
	tag20, _ := os.ReadFile(filepath.Join(corpustest.Dir(t), "rnp-aead-eax-tag20.asc"))
	multi, _ := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-recipient-plus-passphrase.asc"))
	p := DefaultPolicy()
	p.AllowVisibleRecipients = false
	wantCode(t, b, p, CodeVisible)
	wantCode(t, hidden, p, "")
	p = DefaultPolicy()
	p.AllowLibrePGPAEAD = false
	wantCode(t, tag20, p, CodeAEADDisallowed)
	p = DefaultPolicy()
	p.MaxESKs = 1
	wantCode(t, multi, p, CodeTooManyESKs)
	p = DefaultPolicy()
	p.MaxBodySize = len(b) - 1
	wantCode(t, b, p, CodeBodyTooLarge)
	p.MaxBodySize = len(b)
	wantCode(t, b, p, "")
	// The zero policy means defaults for the limits.
	wantCode(t, hidden, Policy{}, "")
}

func wantCode(t *testing.T, body []byte, p Policy, code string) {
	t.Helper()
	_, err := Check(body, p)
	if code == "" {
		if err != nil {
			t.Fatalf("want accept, got %v", err)
		}
		return
	}
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestCodesTable(t *testing.T) {
	codes := AllCodes()
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Errorf("duplicate code %s", c)
		}
		seen[c] = true
		r, ok := Rule(c)
		if !ok || !strings.HasPrefix(r, "R-") {
			t.Errorf("code %s: rule %q", c, r)
		}
		for _, ch := range c {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				t.Errorf("code %s is not kebab-case", c)
			}
		}
	}
	for _, c := range corpusCodes {
		if !seen[c] {
			t.Errorf("corpus code %s not in AllCodes", c)
		}
	}
	// Every rule of docs/gate.md has at least one code.
	rules := map[string]bool{}
	for _, c := range codes {
		r, _ := Rule(c)
		for _, part := range strings.Split(r, "/") {
			rules[part] = true
		}
	}
	for _, r := range []string{"R-A1", "R-A2", "R-A3", "R-A4", "R-A5", "R-A6", "R-A7", "R-A8", "R-A9",
		"R-P1", "R-P2", "R-P3", "R-S1", "R-S2", "R-S3", "R-S4", "R-F1", "R-F2", "R-F3", "R-F4", "R-F5", "R-F6", "R-H1"} {
		if !rules[r] {
			t.Errorf("rule %s has no code", r)
		}
	}
}

func TestCRC24(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if a, s := crc24(b), crc24Simple(b); a != s {
			t.Fatalf("len %d: %06x != %06x", n, a, s)
		}
	}
	// RFC 4880 §6.1 sample implementation, empty input: the init value.
	if crc24(nil) != 0xB704CE {
		t.Fatal("crc24 of nothing")
	}
}

func TestAEADLength(t *testing.T) {
	for c := 0; c <= 4; c++ {
		size := 1 << (c + 6)
		valid := map[int]bool{}
		for p := 1; p < 5*size; p++ {
			chunks := (p + size - 1) / size
			valid[p+16*(chunks+1)] = true
		}
		for n := 0; n < 5*size; n++ {
			if got := aeadLengthOK(n, c); got != valid[n] {
				t.Fatalf("chunk %d n %d: got %v want %v", c, n, got, valid[n])
			}
		}
	}
}

func TestScreen(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	if why := screen(random, true); why != "" {
		t.Fatalf("random data screened: %s", why)
	}
	text := bytes.Repeat([]byte("Attack at dawn. "), 100)
	utf16 := make([]byte, 0, 2048)
	for i := 0; i < 1024; i++ {
		utf16 = append(utf16, "short line\n"[i%11], 0)
	}
	lines := bytes.Repeat([]byte("ab\ncd\nef\x01"), 200) // short printable runs
	b64 := []byte(base64.StdEncoding.EncodeToString(random[:3000]))
	zeros := append(append([]byte{}, random[:1000]...), make([]byte, 16)...)
	for name, b := range map[string][]byte{"text": text, "utf16": utf16, "lines": lines, "base64": b64, "zeros": zeros} {
		if why := screen(b, true); why == "" {
			t.Errorf("%s passed the screen", name)
		}
	}
	if chiSquare(lines) < 1000 || chiSquare(utf16) < 1000 {
		t.Errorf("low-entropy chi-square too small: %v %v", chiSquare(lines), chiSquare(utf16))
	}
	// Runs at the very start and end are found.
	for _, at := range []int{0, len(random) - 32} {
		b := append([]byte{}, random...)
		copy(b[at:], bytes.Repeat([]byte{'A'}, 32))
		if findPrintableRun(b) < 0 {
			t.Errorf("printable run at %d missed", at)
		}
		c := append([]byte{}, random...)
		copy(c[at:], make([]byte, 16))
		if findIdenticalRun(c) < 0 {
			t.Errorf("identical run at %d missed", at)
		}
	}
	// 31 printable and 15 identical bytes are allowed.
	b := append([]byte{}, random...)
	for i := 100; i < 131; i++ {
		b[i] = 'A'
	}
	b[99], b[131] = 0, 0
	if findPrintableRun(b) >= 0 {
		t.Error("31 printable bytes flagged")
	}
}
