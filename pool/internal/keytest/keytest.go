// Package keytest makes OpenPGP keys with go-crypto for the pool's tests,
// where a key made in process is enough (gpg-made ones: internal/gpgtest).
package keytest

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// New makes a key without passphrase named "test": a v4 EdDSA key with a
// Curve25519 encryption subkey, or with v6 a v6 Ed25519 key with an X25519
// encryption subkey.
func New(t testing.TB, v6 bool) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	if v6 {
		cfg = &packet.Config{Algorithm: packet.PubKeyAlgoEd25519, V6Keys: true}
	}
	e, err := openpgp.NewEntity("test", "", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Armored returns the key ASCII-armored: its secret key when secret, else
// its public key.
func Armored(t testing.TB, e *openpgp.Entity, secret bool) []byte {
	t.Helper()
	var b bytes.Buffer
	typ := openpgp.PublicKeyType
	if secret {
		typ = openpgp.PrivateKeyType
	}
	w, err := armor.Encode(&b, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret {
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.Serialize(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
