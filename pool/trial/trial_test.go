package trial_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/pool/internal/keytest"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/pool/trial"
)

func dearmor(t testing.TB, b []byte) []byte {
	t.Helper()
	raw, err := trial.Dearmor(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return raw
}

func mustKeys(t testing.TB, el openpgp.EntityList, pass [][]byte) *trial.Keys {
	t.Helper()
	k, err := trial.New(el, pass)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPoolToPool(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		me, other := keytest.New(t, v6), keytest.New(t, v6)
		mine := mustKeys(t, openpgp.EntityList{me}, nil)
		theirs := mustKeys(t, openpgp.EntityList{other}, nil)
		if mine.Len() != 1 {
			t.Fatalf("v6=%v: %d usable keys, want 1", v6, mine.Len())
		}
		pt := []byte("meet at noon")
		msg, err := seal.Seal(me, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		hit, ok := mine.Probe(msg)
		if !ok || !hit.Sure || hit.Entity != me {
			t.Fatalf("v6=%v: probe missed our message: %+v %v", v6, hit, ok)
		}
		if _, ok := theirs.Probe(msg); ok {
			t.Fatalf("v6=%v: another key's probe claims the message", v6)
		}
		m, err := mine.Open(msg, hit)
		if err != nil || !bytes.Equal(m.Plaintext, pt) {
			t.Fatalf("v6=%v: open: %v %v", v6, m, err)
		}
	}
}

func TestManyKeys(t *testing.T) {
	var el openpgp.EntityList
	for i := 0; i < 10; i++ {
		el = append(el, keytest.New(t, i%2 == 1))
	}
	k := mustKeys(t, el, nil)
	for i, e := range el {
		msg, _ := seal.Seal(e, []byte{byte(i)}, nil)
		hit, ok := k.Probe(msg)
		if !ok || hit.Entity != e {
			t.Fatalf("key %d: probe gave %v %v", i, hit.Entity, ok)
		}
	}
	stranger := keytest.New(t, false)
	msg, _ := seal.Seal(stranger, []byte("x"), nil)
	if _, ok := k.Probe(msg); ok {
		t.Fatal("probe claims a stranger's message")
	}
}

// TestGPGToPool: messages gpg makes with -R, --throw-keyids or a visible key
// ID, compressed as gpg does by default, are found and opened.
func TestGPGToPool(t *testing.T) {
	me := keytest.New(t, false)
	g := gpgtest.New(t)
	g.Must(t, keytest.Armored(t, me, true), "--import")
	uid := "test"
	k := mustKeys(t, openpgp.EntityList{me}, nil)
	for _, args := range [][]string{
		{"-R", uid},
		{"-r", uid, "--throw-keyids"},
		{"-r", uid},
		{"-r", uid, "--compress-algo", "none"},
		{"-r", uid, "--sign", "--local-user", uid},
	} {
		pt := []byte("from gpg " + strings.Join(args, " "))
		r := g.Must(t, pt, append([]string{"--trust-model", "always", "--armor", "-e"}, args...)...)
		msg := dearmor(t, r.Stdout)
		hit, ok := k.Probe(msg)
		if !ok || !hit.Sure {
			t.Fatalf("%v: probe missed", args)
		}
		m, err := k.Open(msg, hit)
		if err != nil || !bytes.Equal(m.Plaintext, pt) {
			t.Fatalf("%v: open: %v", args, err)
		}
	}
}

// TestGPGKeyImported: a key made by gpg and exported from it finds the
// messages gpg encrypts to it anonymously.
func TestGPGKeyImported(t *testing.T) {
	g := gpgtest.New(t)
	g.Must(t, nil, "--quick-gen-key", "gpg user <g@example.org>", "future-default", "default", "never")
	sec := g.Must(t, nil, "--armor", "--export-secret-keys")
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(sec.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	k := mustKeys(t, el, nil)
	if k.Len() != 1 {
		t.Fatalf("%d usable keys from gpg's export, want 1", k.Len())
	}
	pt := []byte("gpg to gpg-made key")
	r := g.Must(t, pt, "--armor", "-e", "-R", "g@example.org")
	msg := dearmor(t, r.Stdout)
	hit, ok := k.Probe(msg)
	if !ok || !hit.Sure {
		t.Fatal("probe missed")
	}
	m, err := k.Open(msg, hit)
	if err != nil || !bytes.Equal(m.Plaintext, pt) {
		t.Fatalf("open: %v", err)
	}
}

func TestSymmetricAndRSA(t *testing.T) {
	g := gpgtest.New(t)
	pt := []byte("symmetric")
	r := g.Must(t, pt, "--armor", "-c", "--passphrase", "correct horse")
	msg := dearmor(t, r.Stdout)
	if _, ok := mustKeys(t, nil, nil).Probe(msg); ok {
		t.Fatal("probe without passphrases claims a symmetric message")
	}
	k := mustKeys(t, nil, [][]byte{[]byte("wrong"), []byte("correct horse")})
	hit, ok := k.Probe(msg)
	if !ok || !hit.Symmetric {
		t.Fatal("probe with passphrases ignores a symmetric message")
	}
	m, err := k.Open(msg, hit)
	if err != nil || !bytes.Equal(m.Plaintext, pt) {
		t.Fatalf("open symmetric: %v", err)
	}
	if _, err := mustKeys(t, nil, [][]byte{[]byte("wrong")}).Open(msg, hit); err == nil {
		t.Fatal("wrong passphrase opened the message")
	}

	// RSA, hidden recipient: the slow path.
	g.Must(t, nil, "--quick-gen-key", "rsa user", "rsa2048", "default", "never")
	var fpr string
	for _, l := range strings.Split(string(g.Must(t, nil, "--with-colons", "--list-keys", "rsa user").Stdout), "\n") {
		if f := strings.Split(l, ":"); f[0] == "fpr" && fpr == "" {
			fpr = f[9]
		}
	}
	g.Must(t, nil, "--quick-add-key", fpr, "rsa2048", "encr", "never")
	sec := g.Must(t, nil, "--armor", "--export-secret-keys", "rsa user")
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(sec.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	k = mustKeys(t, el, nil)
	r = g.Must(t, []byte("rsa"), "--armor", "-e", "-R", "rsa user")
	msg = dearmor(t, r.Stdout)
	hit, ok = k.Probe(msg)
	if !ok || hit.Sure {
		t.Fatalf("RSA: probe %+v %v, want a possible hit", hit, ok)
	}
	if m, err := k.Open(msg, hit); err != nil || string(m.Plaintext) != "rsa" {
		t.Fatalf("RSA open: %v", err)
	}
}

func TestDearmor(t *testing.T) {
	raw := make([]byte, 300)
	rand.Read(raw)
	arm, _ := seal.Armor(raw)
	for name, in := range map[string][]byte{
		"plain":   arm,
		"crlf":    bytes.ReplaceAll(arm, []byte("\n"), []byte("\r\n")),
		"headers": bytes.Replace(arm, []byte("-----\n\n"), []byte("-----\nVersion: x\nComment: y\n\n"), 1),
		"nocrc":   removeCRC(arm),
		"before":  append([]byte("hello\n\n"), arm...),
	} {
		got, err := trial.Dearmor(in)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, in := range map[string]string{
		"empty":  "",
		"noend":  "-----BEGIN PGP MESSAGE-----\n\nAAAA\n",
		"bad64":  "-----BEGIN PGP MESSAGE-----\n\nA*AA\n-----END PGP MESSAGE-----\n",
		"pubkey": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
	} {
		if _, err := trial.Dearmor([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func removeCRC(arm []byte) []byte {
	lines := strings.Split(string(arm), "\n")
	var out []string
	for _, l := range lines {
		if len(l) == 5 && l[0] == '=' {
			continue
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

func FuzzProbe(f *testing.F) {
	e := keytest.New(f, false)
	msg, _ := seal.Seal(e, []byte("seed"), nil)
	f.Add(msg)
	f.Add(msg[:40])
	f.Add([]byte{0xc1, 0x05, 3, 0, 0, 0, 0})
	k := mustKeys(f, openpgp.EntityList{e, keytest.New(f, true)}, [][]byte{[]byte("p")})
	f.Fuzz(func(t *testing.T, b []byte) {
		hit, ok := k.Probe(b)
		if ok {
			_, _ = k.Open(b, hit)
		}
	})
}

func FuzzDearmor(f *testing.F) {
	arm, _ := seal.Armor([]byte("some bytes"))
	f.Add(arm)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = trial.Dearmor(b)
	})
}
