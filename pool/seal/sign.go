package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// SignedContent builds the decrypted content of a signed message: a
// one-pass signature, the literal data (binary, no file name, date 0) and
// the signature by signer, padded to its bucket like Content. The
// signature, and with it the signer's key ID and the signing time, is
// inside the encryption: only the recipient sees who signed.
func SignedContent(signer *openpgp.Entity, plaintext []byte, rnd io.Reader) ([]byte, error) {
	if signer == nil || signer.PrivateKey == nil {
		return nil, errors.New("seal: no secret key to sign with")
	}
	if signer.PrivateKey.Encrypted {
		return nil, errors.New("seal: the signing key is locked by a passphrase")
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("seal: message of %d octets is over the %d-octet limit", len(plaintext), MaxPlaintext)
	}
	var b bytes.Buffer
	cfg := &packet.Config{Rand: rnd}
	w, err := openpgp.Sign(&b, signer, &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		return nil, fmt.Errorf("seal: signing: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: signing: %w", err)
	}
	return Pad(b.Bytes(), rnd)
}

// SealSigned is Seal of a message signed by signer.
func SealSigned(to, signer *openpgp.Entity, plaintext []byte, rnd io.Reader) ([]byte, error) {
	pub, err := EncryptionKey(to)
	if err != nil {
		return nil, err
	}
	content, err := SignedContent(signer, plaintext, rnd)
	if err != nil {
		return nil, err
	}
	return SealContent(pub, Cipher(to), content, rnd)
}
