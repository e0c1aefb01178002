package keytest

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestNewAndArmored(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		e := New(t, v6)
		if got := e.PrimaryKey.Version == 6; got != v6 {
			t.Errorf("v6 %v: key version %d", v6, e.PrimaryKey.Version)
		}
		for _, secret := range []bool{false, true} {
			ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(Armored(t, e, secret)))
			if err != nil || len(ring) != 1 {
				t.Fatalf("v6 %v secret %v: %d keys, %v", v6, secret, len(ring), err)
			}
			if has := ring[0].PrivateKey != nil; has != secret {
				t.Errorf("v6 %v secret %v: private key present %v", v6, secret, has)
			}
			if ring[0].PrimaryKey.Fingerprint == nil || !bytes.Equal(ring[0].PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint) {
				t.Errorf("v6 %v secret %v: another key came back", v6, secret)
			}
		}
	}
}
