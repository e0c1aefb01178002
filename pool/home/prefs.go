package home

import (
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// gpgPreferences gives e the algorithm preferences gpg writes into a new
// key (AES-256 first; SHA-512 first; ZLIB, BZIP2, ZIP, none), instead of
// go-crypto's shorter lists, and signs them again. A gpg user who writes
// to a pool key then encrypts with AES-256, as to any gpg key, and the
// message does not stand out in the pool (docs/anonymity.md).
func gpgPreferences(e *openpgp.Entity, cfg *packet.Config) error {
	set := func(sig *packet.Signature) {
		sig.PreferredSymmetric = []uint8{uint8(packet.CipherAES256), uint8(packet.CipherAES192), uint8(packet.CipherAES128), uint8(packet.Cipher3DES)}
		sig.PreferredHash = []uint8{10, 9, 8, 11, 2} // SHA512, SHA384, SHA256, SHA224, SHA1
		sig.PreferredCompression = []uint8{uint8(packet.CompressionZLIB), 3 /* BZIP2 */, uint8(packet.CompressionZIP), uint8(packet.CompressionNone)}
	}
	if cfg.V6() {
		// v6 keys carry their preferences in the direct-key signature.
		sig := e.SelfSignature
		if sig == nil {
			return fmt.Errorf("home: the v6 key has no direct-key signature")
		}
		set(sig)
		if err := sig.SignDirectKeyBinding(e.PrimaryKey, e.PrivateKey, cfg); err != nil {
			return fmt.Errorf("home: signing the key preferences: %w", err)
		}
		return nil
	}
	for name, id := range e.Identities {
		set(id.SelfSignature)
		if err := id.SelfSignature.SignUserId(name, e.PrimaryKey, e.PrivateKey, cfg); err != nil {
			return fmt.Errorf("home: signing the key preferences: %w", err)
		}
	}
	return nil
}
