package armor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	gcarmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	gcpacket "github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// opaque is one packet as go-crypto reads it: its tag and its contents,
// partial chunks joined. It is what re-framing must keep.
type opaque struct {
	tag      uint8
	contents []byte
}

// contentsOf lists the packets of an armored message with go-crypto,
// leaving out Marker packets (which re-framing drops).
func contentsOf(t testing.TB, body []byte) []opaque {
	t.Helper()
	r := gcpacket.NewOpaqueReader(bytes.NewReader(packets(t, body)))
	var out []opaque
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("go-crypto opaque reader: %v", err)
		}
		if p.Tag != tagMarker {
			out = append(out, opaque{p.Tag, p.Contents})
		}
	}
}

func sameContents(t testing.TB, a, b []opaque) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d packets, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i].tag != b[i].tag || !bytes.Equal(a[i].contents, b[i].contents) {
			t.Fatalf("packet %d (tag %d) changed", i, a[i].tag)
		}
	}
}

// framing describes every packet header of a stream: the header octets,
// with the length octets replaced by their count, so two streams of
// packets of the same tags and sizes compare equal exactly when their
// framing does.
func framing(t testing.TB, raw []byte) []string {
	t.Helper()
	p := DefaultPolicy()
	p.AllowLibrePGPAEAD = true
	var out []string
	for off := 0; off < len(raw); {
		pk, err := nextPacket(raw, off, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string([]byte{raw[off], byte(pk.bodyStart - off), boolByte(pk.partial)}))
		off = pk.end
	}
	return out
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// wantCanonicalFraming asserts that every header of raw is new-format with
// the shortest definite length and that no Marker is left.
func wantCanonicalFraming(t testing.TB, raw []byte) {
	t.Helper()
	p := DefaultPolicy()
	p.AllowLibrePGPAEAD = true
	for off := 0; off < len(raw); {
		pk, err := nextPacket(raw, off, p)
		if err != nil {
			t.Fatal(err)
		}
		if pk.legacy || pk.partial || pk.tag == tagMarker {
			t.Fatalf("packet at %d: legacy %v partial %v tag %d", off, pk.legacy, pk.partial, pk.tag)
		}
		if want := appendHeader(nil, false, pk.tag, pk.total); !bytes.Equal(raw[off:pk.bodyStart], want) {
			t.Fatalf("packet at %d: header % x, want % x", off, raw[off:pk.bodyStart], want)
		}
		off = pk.end
	}
}

// TestReframeCorpus: every accepted corpus message (gpg, rnp, sq,
// OpenPGP.js v6 with SEIPD v2, rnp's tag-20 AEAD) comes out in canonical
// framing with the same packet contents.
func TestReframeCorpus(t *testing.T) {
	p := DefaultPolicy()
	p.AllowLibrePGPAEAD = true
	for _, name := range []string{
		"gpg-cv25519-one-recipient.asc", "gpg-hidden-recipient-rsa.asc", "gpg-64k-random-plaintext.asc",
		"gpg-recipient-plus-passphrase.asc", "rnp-cv25519-seipd1.asc", "rnp-aead-eax-tag20.asc",
		"openpgpjs-v6-anonymous-recipient.asc", "openpgpjs-v6-pkesk6-plus-skesk6.asc",
		"packet-marker-then-message.asc",
	} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(corpustest.Dir(t), name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Canonicalize(body, CanonOptions{Policy: p})
			if err != nil {
				t.Fatal(err)
			}
			raw := packets(t, out.Body)
			wantCanonicalFraming(t, raw)
			sameContents(t, contentsOf(t, out.Body), contentsOf(t, body))
			if !bytes.HasSuffix(raw, out.Ciphertext) || out.Ciphertext[0]&0x3f != byte(tagSEIPD) && out.Ciphertext[0]&0x3f != byte(tagAEAD) {
				t.Fatalf("Ciphertext is not the data packet: % x", out.Ciphertext[:4])
			}
		})
	}
}

// TestReframeDecrypts: gpg-made messages in every framing gpg writes
// (legacy headers, partial lengths, a Marker added) decrypt with gpg
// (judged by DECRYPTION_OKAY) and go-crypto after re-framing.
func TestReframeDecrypts(t *testing.T) {
	h := gpgTest(t)
	keyring, err := openpgp.ReadKeyRing(bytes.NewReader(h.secretKey))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i*7919>>3 ^ i)
	}
	opt := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
	for _, c := range []struct {
		name   string
		plain  []byte
		args   []string
		marker bool
	}{
		{"cv25519", gpgPlain, []string{"-e", "-a", "-r", h.cv}, false},
		{"rsa", gpgPlain, []string{"-e", "-a", "-r", h.rsa}, false},
		{"partial-lengths", big, []string{"-e", "-a", "-z", "0", "-r", h.cv}, false},
		{"marker-added", gpgPlain, []string{"-e", "-a", "-r", h.cv}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg, err := h.Output(c.plain, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.marker {
				raw := append([]byte{0xCA, 3, 'P', 'G', 'P'}, packets(t, msg)...)
				msg = encode(raw, true)
			}
			out, err := Canonicalize(msg, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkCanonical(t, out, opt)
			if !out.Reframed {
				t.Fatal("gpg's framing reported as canonical")
			}
			wantCanonicalFraming(t, packets(t, out.Body))
			r := h.Decrypt(out.Body)
			if !r.OK("DECRYPTION_OKAY") || !bytes.Equal(r.Stdout, c.plain) {
				t.Fatalf("gpg did not decrypt:\n%s", r.Status)
			}
			md, err := openpgp.ReadMessage(bytes.NewReader(packets(t, out.Body)), keyring, nil, nil)
			if err != nil {
				t.Fatalf("go-crypto: %v", err)
			}
			plain, err := io.ReadAll(md.UnverifiedBody)
			if err != nil || !bytes.Equal(plain, c.plain) {
				t.Fatalf("go-crypto plaintext %d bytes, %v", len(plain), err)
			}
		})
	}
}

// TestReframeSEIPDv2: a v6 key, a v6 PKESK and a v2 SEIPD (AEAD OCB and
// GCM) written by go-crypto with partial lengths still decrypt after
// re-framing and anonymisation.
func TestReframeSEIPDv2(t *testing.T) {
	for _, mode := range []gcpacket.AEADMode{gcpacket.AEADModeOCB, gcpacket.AEADModeGCM, gcpacket.AEADModeEAX} {
		cfg := &gcpacket.Config{V6Keys: true, AEADConfig: &gcpacket.AEADConfig{DefaultMode: mode}, DefaultCipher: gcpacket.CipherAES256}
		e, err := openpgp.NewEntity("v6", "", "", cfg)
		if err != nil {
			t.Fatal(err)
		}
		plain := bytes.Repeat([]byte("sixty-four kilobytes of text, give or take. "), 2000)
		var msg bytes.Buffer
		aw, err := gcarmor.Encode(&msg, "PGP MESSAGE", nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := openpgp.Encrypt(aw, []*openpgp.Entity{e}, nil, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		aw.Close()
		opt := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
		out, err := Canonicalize(msg.Bytes(), opt)
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if out.Verdict.Container != "seipd-v2" || out.Verdict.ESKs[0].Version != 6 || !out.Reframed {
			t.Fatalf("mode %d: verdict %+v reframed %v", mode, out.Verdict, out.Reframed)
		}
		checkCanonical(t, out, opt)
		wantCanonicalFraming(t, packets(t, out.Body))
		md, err := openpgp.ReadMessage(bytes.NewReader(packets(t, out.Body)), openpgp.EntityList{e}, nil, nil)
		if err != nil {
			t.Fatalf("mode %d: go-crypto: %v", mode, err)
		}
		got, err := io.ReadAll(md.UnverifiedBody)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("mode %d: plaintext %d bytes, %v", mode, len(got), err)
		}
	}
}

// TestReframeUniform: a gpg-made and a go-crypto-made message to the same
// Curve25519 key differ in framing as sent (gpg writes legacy headers, and
// partial lengths for long bodies) and not after re-framing: the same
// header octets, each length in its shortest form.
func TestReframeUniform(t *testing.T) {
	h := gpgTest(t)
	keyring, err := openpgp.ReadKeyRing(bytes.NewReader(h.secretKey))
	if err != nil {
		t.Fatal(err)
	}
	var cv *openpgp.Entity
	for _, e := range keyring {
		if e.PrimaryKey.PubKeyAlgo == gcpacket.PubKeyAlgoEdDSA {
			cv = e
		}
	}
	gpgMsg, err := h.Output(gpgPlain, "-e", "-a", "-R", h.cv)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, []*openpgp.Entity{cv}, nil, nil, &gcpacket.Config{DefaultCipher: gcpacket.CipherAES256})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(gpgPlain)
	w.Close()
	goMsg := encode(buf.Bytes(), true)
	if fg, fo := framing(t, packets(t, gpgMsg)), framing(t, packets(t, goMsg)); fg[0] == fo[0] {
		t.Fatalf("before: gpg and go-crypto framing already equal (%q)", fg)
	}
	opt := CanonOptions{Policy: DefaultPolicy(), Anonymize: true}
	var ctbs [2][]byte
	for i, msg := range [][]byte{gpgMsg, goMsg} {
		out, err := Canonicalize(msg, opt)
		if err != nil {
			t.Fatal(err)
		}
		raw := packets(t, out.Body)
		wantCanonicalFraming(t, raw)
		for _, f := range framing(t, raw) {
			ctbs[i] = append(ctbs[i], f[0])
		}
	}
	if !bytes.Equal(ctbs[0], ctbs[1]) {
		t.Fatalf("after: header octets % x (gpg) and % x (go-crypto)", ctbs[0], ctbs[1])
	}
}
