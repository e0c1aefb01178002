package home

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
)

func open(t *testing.T) *Home {
	t.Helper()
	h, err := Open(filepath.Join(t.TempDir(), "pool"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestKeygen(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		h := open(t)
		e, err := h.Keygen(KeyOptions{V6: v6})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.PrimaryKey.Version; got != map[bool]int{false: 4, true: 6}[v6] {
			t.Fatalf("v6=%v: key version %d", v6, got)
		}
		el, err := h.SecretKeys()
		if err != nil || len(el) != 1 || el[0].PrivateKey == nil || !bytes.Equal(el[0].PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint) {
			t.Fatalf("v6=%v: stored keys %v %v", v6, el, err)
		}
		fi, _ := os.Stat(filepath.Join(h.Dir, "secret"))
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("secret directory mode %v", fi.Mode())
		}
	}
}

// TestGPGReadsOurKey: gpg 2.2 imports the public and secret key pool makes.
func TestGPGReadsOurKey(t *testing.T) {
	h := open(t)
	e, _ := h.Keygen(KeyOptions{Name: "pool user"})
	pub, _ := ArmoredPublic(e)
	g := gpgtest.New(t)
	r := g.Must(t, pub, "--import")
	if !r.OK("IMPORT_OK") {
		t.Fatalf("gpg did not import the public key:\n%s", r.Stderr)
	}
	sec, _ := os.ReadFile(filepath.Join(h.Dir, "secret", filepathName(e.PrimaryKey.Fingerprint)))
	r = g.Must(t, sec, "--import")
	if !r.OK("IMPORT_OK") {
		t.Fatalf("gpg did not import the secret key:\n%s", r.Stderr)
	}
	list := g.Must(t, nil, "--with-colons", "--list-secret-keys")
	if !bytes.Contains(list.Stdout, []byte(":cv25519:")) && !bytes.Contains(list.Stdout, []byte(":18:")) {
		t.Fatalf("no cv25519 subkey in gpg's listing:\n%s", list.Stdout)
	}
}

func filepathName(fpr []byte) string {
	const hexd = "0123456789ABCDEF"
	var b []byte
	for _, c := range fpr {
		b = append(b, hexd[c>>4], hexd[c&15])
	}
	return string(b) + ".asc"
}

func TestImportProtectedGPGKey(t *testing.T) {
	g := gpgtest.New(t)
	g.Must(t, nil, "--passphrase", "pw", "--quick-gen-key", "prot <p@example.org>", "future-default", "default", "never")
	sec := g.Must(t, nil, "--passphrase", "pw", "--armor", "--export-secret-keys")
	h := open(t)
	el, err := h.ImportSecret(bytes.NewReader(sec.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	if len(el) != 1 {
		t.Fatalf("%d keys imported", len(el))
	}
	stored, _ := h.SecretKeys()
	if n := Unlock(stored, nil); n == 0 {
		t.Fatal("protected key counted as unlocked without a passphrase")
	}
	stored, _ = h.SecretKeys()
	if n := Unlock(stored, []byte("wrong")); n == 0 {
		t.Fatal("wrong passphrase unlocked the key")
	}
	stored, _ = h.SecretKeys()
	if n := Unlock(stored, []byte("pw")); n != 0 {
		t.Fatalf("%d keys still locked with the right passphrase", n)
	}
	// A public key is not a secret key.
	pub := g.Must(t, nil, "--armor", "--export")
	if _, err := h.ImportSecret(bytes.NewReader(pub.Stdout)); err == nil {
		t.Fatal("a public key was imported as a secret key")
	}
}

func TestContacts(t *testing.T) {
	h := open(t)
	e, _ := open(t).Keygen(KeyOptions{})
	pub, _ := ArmoredPublic(e)
	if _, err := h.ImportContact("bob", bytes.NewReader(pub)); err != nil {
		t.Fatal(err)
	}
	if err := h.SetHsub("bob", []byte("s")); err != nil {
		t.Fatal(err)
	}
	if err := h.SetHsub("nym", []byte("t")); err != nil {
		t.Fatal(err)
	}
	c, err := h.Contact("bob")
	if err != nil || c.Entity == nil || string(c.Hsub) != "s" {
		t.Fatalf("bob: %+v %v", c, err)
	}
	cs, _ := h.Contacts()
	if len(cs) != 2 {
		t.Fatalf("%d contacts", len(cs))
	}
	sec, _ := h.HsubSecrets()
	if len(sec) != 2 {
		t.Fatalf("%d hsub secrets", len(sec))
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b", "x y"} {
		if _, err := h.ImportContact(bad, bytes.NewReader(pub)); err == nil {
			t.Errorf("contact name %q accepted", bad)
		}
	}
	if _, err := h.Contact("nobody"); err == nil {
		t.Error("unknown contact found")
	}
	if _, err := h.ImportContact("two", bytes.NewReader(append(append([]byte{}, pub...), pub...))); err == nil {
		t.Error("two keys accepted for one contact")
	}
}

func TestPassphrases(t *testing.T) {
	h := open(t)
	if p, err := h.Passphrases(); err != nil || p != nil {
		t.Fatal(p, err)
	}
	os.WriteFile(filepath.Join(h.Dir, "passphrases"), []byte("one\r\n\ntwo words\n"), 0o600)
	p, _ := h.Passphrases()
	if len(p) != 2 || string(p[0]) != "one" || string(p[1]) != "two words" {
		t.Fatalf("%q", p)
	}
}

// TestGPGWritesAES256ToOurKey: gpg, encrypting to a pool key, picks
// AES-256 as it does for its own keys, and reads the preferences gpg
// itself would write (so a gpg user's message to a pool user looks like
// any other gpg message).
func TestGPGWritesAES256ToOurKey(t *testing.T) {
	h := open(t)
	e, err := h.Keygen(KeyOptions{Name: "pool user"})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ArmoredPublic(e)
	sec, _ := os.ReadFile(filepath.Join(h.Dir, "secret", filepathName(e.PrimaryKey.Fingerprint)))
	g := gpgtest.New(t)
	g.Must(t, pub, "--import")
	g.Must(t, sec, "--import")
	fpr := filepathName(e.PrimaryKey.Fingerprint)
	fpr = fpr[:len(fpr)-4]
	ct := g.Must(t, []byte("hello\n"), "--trust-model", "always", "--armor", "--encrypt", "--recipient", fpr)
	r := g.Run(ct.Stdout, "--decrypt")
	if !r.OK("DECRYPTION_OKAY") {
		t.Fatalf("gpg did not decrypt:\n%s", r.Stderr)
	}
	// DECRYPTION_INFO <mdc method> <cipher>: 9 is AES-256.
	if !strings.Contains(r.Status, "[GNUPG:] DECRYPTION_INFO 2 9") {
		t.Errorf("gpg did not use AES-256:\n%s", r.Status)
	}
	el, err := readKeys(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := el[0].PrimarySelfSignature()
	if sig == nil || !bytes.Equal(sig.PreferredSymmetric, []byte{9, 8, 7, 2}) || !bytes.Equal(sig.PreferredCompression, []byte{2, 3, 1, 0}) {
		t.Errorf("preferences are not gpg's: %+v", sig)
	}
}
