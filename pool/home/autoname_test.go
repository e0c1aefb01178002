package home

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func newKey(t *testing.T, name, comment, email string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, comment, email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func publicArmor(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	b, err := ArmoredPublic(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContactName(t *testing.T) {
	for _, c := range []struct {
		name, comment, email, want string
	}{
		{"Alice Example", "", "Alice@Example.ORG", "alice@example.org"},
		{"bob", "", "", "bob"},
		{"j.r.r. tolkien", "", "", "j.r.r.-tolkien"},
		{"Carol van der Berg", "work", "", "Carol-van-der-Berg"},
		{"Zoë Ünal", "", "", "Zo-nal"},
		{"mallory/../../etc", "", "", "mallory-etc"},
		{strings.Repeat("x", 100), "", "", strings.Repeat("x", 64)},
	} {
		got, uid, err := ContactName(newKey(t, c.name, c.comment, c.email))
		if err != nil || got != c.want {
			t.Errorf("%q %q: %q, %v; want %q", c.name, c.email, got, err, c.want)
		}
		if !strings.Contains(uid, strings.TrimSpace(c.name)[:1]) {
			t.Errorf("%q: user ID %q", c.name, uid)
		}
	}
	if _, _, err := ContactName(newKey(t, "ää", "", "")); err == nil || !strings.Contains(err.Error(), "--contact") {
		t.Errorf("no usable name: %v", err)
	}
}

func TestImportNamesContact(t *testing.T) {
	h := open(t)
	alice := newKey(t, "Alice", "", "alice@example.org")
	imp, err := h.Import(bytes.NewReader(publicArmor(t, alice)))
	if err != nil {
		t.Fatal(err)
	}
	if imp.Contact != "alice@example.org" || imp.UserID != "Alice <alice@example.org>" || len(imp.Secret) != 0 {
		t.Fatalf("import: %+v", imp)
	}
	c, err := h.Contact("alice@example.org")
	if err != nil || !bytes.Equal(c.Entity.PrimaryKey.Fingerprint, alice.PrimaryKey.Fingerprint) {
		t.Fatalf("contact: %+v %v", c, err)
	}
	// The same key again is fine; another key under the same user ID is
	// refused and the stored one stays.
	if _, err := h.Import(bytes.NewReader(publicArmor(t, alice))); err != nil {
		t.Errorf("re-import: %v", err)
	}
	other := newKey(t, "Alice", "", "alice@example.org")
	if _, err := h.Import(bytes.NewReader(publicArmor(t, other))); err == nil || !strings.Contains(err.Error(), "already holds key") {
		t.Errorf("other key, same name: %v", err)
	}
	c, _ = h.Contact("alice@example.org")
	if !bytes.Equal(c.Entity.PrimaryKey.Fingerprint, alice.PrimaryKey.Fingerprint) {
		t.Error("the stored key was replaced")
	}
	// A contact known only by its hsub secret takes the key.
	if err := h.SetHsub("bob", []byte("s")); err != nil {
		t.Fatal(err)
	}
	if imp, err := h.Import(bytes.NewReader(publicArmor(t, newKey(t, "bob", "", "")))); err != nil || imp.Contact != "bob" {
		t.Errorf("hsub-only contact: %+v %v", imp, err)
	}
}

func TestImportSecretStillWorks(t *testing.T) {
	h := open(t)
	e := newKey(t, "me", "", "")
	var buf bytes.Buffer
	if err := e.SerializePrivate(&buf, nil); err != nil {
		t.Fatal(err)
	}
	imp, err := h.Import(&buf)
	if err != nil || len(imp.Secret) != 1 || imp.Contact != "" {
		t.Fatalf("%+v %v", imp, err)
	}
}
