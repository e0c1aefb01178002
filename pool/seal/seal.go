// Package seal encrypts a message for the pool: the plaintext is padded to a
// size bucket inside the encryption, the single recipient is hidden (v3 PKESK
// with an all-zero key ID), nothing names the sender's software, and the
// result is armored canonically. See docs/anonymity.md.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// MaxPlaintext bounds what Seal accepts; servers refuse far smaller articles.
const MaxPlaintext = 16 << 20

// Packet tags written here (RFC 9580 section 5).
const (
	tagLiteral = 11
	tagSEIPD   = 18
	tagPadding = 21
	tagMDC     = 19
)

// Bucket returns the size the decrypted content (literal packet plus
// padding) is padded to for content of n octets: 1, 4, 16 or 64 KiB, then
// the next multiple of 64 KiB. A gap of exactly one octet cannot be filled
// by a Padding packet, so such content goes to the next bucket.
func Bucket(n int) int {
	for _, b := range []int{1 << 10, 4 << 10, 16 << 10} {
		if fits(n, b) {
			return b
		}
	}
	b := 64 << 10
	for !fits(n, b) {
		b += 64 << 10
	}
	return b
}

func fits(n, bucket int) bool {
	gap := bucket - n
	return gap == 0 || gap >= 2
}

// headerLen is the size of a new-format packet header for a body of n octets.
func headerLen(n int) int {
	switch {
	case n < 192:
		return 2
	case n < 8384:
		return 3
	default:
		return 6
	}
}

// appendHeader appends a new-format packet header with a definite length.
func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, 0xC0|tag)
	switch {
	case n < 192:
		return append(b, byte(n))
	case n < 8384:
		n -= 192
		return append(b, byte(n>>8)+192, byte(n))
	default:
		return append(b, 0xFF, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// literalLen is the size of the literal data packet carrying n octets:
// format, empty file name, zero date, data.
func literalLen(n int) int { return headerLen(6+n) + 6 + n }

// paddingLens splits gap octets into one or two Padding packets (sizes
// including headers) whose headers use the shortest length encoding.
func paddingLens(gap int) ([]int, error) {
	one := func(total int) bool {
		for _, h := range []int{2, 3, 6} {
			if total-h >= 0 && headerLen(total-h) == h {
				return true
			}
		}
		return false
	}
	if gap == 0 {
		return nil, nil
	}
	if one(gap) {
		return []int{gap}, nil
	}
	for a := 2; a <= 193 && a < gap; a++ {
		if one(a) && one(gap-a) {
			return []int{a, gap - a}, nil
		}
	}
	return nil, fmt.Errorf("seal: cannot pad a gap of %d octets", gap)
}

func appendPadding(b []byte, total int, rnd io.Reader) ([]byte, error) {
	for _, h := range []int{2, 3, 6} {
		n := total - h
		if n >= 0 && headerLen(n) == h {
			b = appendHeader(b, tagPadding, n)
			start := len(b)
			b = append(b, make([]byte, n)...)
			if _, err := io.ReadFull(rnd, b[start:]); err != nil {
				return nil, err
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("seal: no padding packet of %d octets", total)
}

// Content builds the decrypted content of the message: a binary literal data
// packet (empty file name, date 0) followed by Padding packets, exactly
// Bucket(literal size) octets long.
func Content(plaintext []byte, rnd io.Reader) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("seal: message of %d octets is over the %d-octet limit", len(plaintext), MaxPlaintext)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	lit := literalLen(len(plaintext))
	out := make([]byte, 0, Bucket(lit))
	out = appendHeader(out, tagLiteral, 6+len(plaintext))
	out = append(out, 'b', 0, 0, 0, 0, 0)
	out = append(out, plaintext...)
	return Pad(out, rnd)
}

// Pad appends Padding packets to packets (a literal, or a signed message:
// one-pass signature, literal, signature) up to its size bucket.
func Pad(packets []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	out := packets
	bucket := Bucket(len(out))
	pads, err := paddingLens(bucket - len(out))
	if err != nil {
		return nil, err
	}
	for _, p := range pads {
		if out, err = appendPadding(out, p, rnd); err != nil {
			return nil, err
		}
	}
	if len(out) != bucket {
		return nil, fmt.Errorf("seal: internal error: content %d octets, bucket %d", len(out), bucket)
	}
	return out, nil
}

// EncryptionKey picks the key of e that messages are encrypted to.
func EncryptionKey(e *openpgp.Entity) (*packet.PublicKey, error) {
	k, ok := e.EncryptionKey(time.Now())
	if !ok {
		return nil, errors.New("seal: the key has no usable encryption subkey")
	}
	return k.PublicKey, nil
}

// Cipher picks the session cipher: the first AES the recipient's key
// prefers, AES-128 when it states no AES preference (gpg warns when a
// message uses a cipher missing from the preferences). The choice does not
// change the message length.
func Cipher(e *openpgp.Entity) packet.CipherFunction {
	if sig, _ := e.PrimarySelfSignature(); sig != nil {
		for _, c := range sig.PreferredSymmetric {
			switch packet.CipherFunction(c) {
			case packet.CipherAES256, packet.CipherAES192, packet.CipherAES128:
				return packet.CipherFunction(c)
			}
		}
	}
	return packet.CipherAES128
}

// Seal encrypts plaintext to the single recipient to and returns the binary
// OpenPGP message: one v3 PKESK with an all-zero key ID, then a SEIPD v1
// packet with a definite length whose content is the padded literal. Every
// message to the same key in the same bucket has the same length
// (Curve25519 recipients; RSA recipients vary by MPI leading zeros).
func Seal(to *openpgp.Entity, plaintext []byte, rnd io.Reader) ([]byte, error) {
	pub, err := EncryptionKey(to)
	if err != nil {
		return nil, err
	}
	return SealTo(pub, Cipher(to), plaintext, rnd)
}

// SealTo is Seal with the encryption key and session cipher given.
func SealTo(pub *packet.PublicKey, cipherFunc packet.CipherFunction, plaintext []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	// SealContent refuses a cipher other than AES.
	content, err := Content(plaintext, rnd)
	if err != nil {
		return nil, err
	}
	return SealContent(pub, cipherFunc, content, rnd)
}

// SealContent encrypts content already built and padded (Content, or Pad
// of a signed message) to pub.
func SealContent(pub *packet.PublicKey, cipherFunc packet.CipherFunction, content []byte, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch cipherFunc {
	case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
	default:
		return nil, fmt.Errorf("seal: cipher %d is not AES", cipherFunc)
	}
	key := make([]byte, cipherFunc.KeySize())
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	cfg := &packet.Config{Rand: rnd}
	if err := packet.SerializeEncryptedKeyAEADwithHiddenOption(&msg, pub, cipherFunc, false, key, true, cfg); err != nil {
		return nil, fmt.Errorf("seal: encrypting the session key: %w", err)
	}

	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	iv := make([]byte, bs)
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return nil, err
	}
	stream, prefix := packet.NewOCFBEncrypter(block, iv, packet.OCFBNoResync)
	// plain = content || MDC packet header || SHA-1(iv || iv[bs-2:] || content || MDC header)
	plain := make([]byte, 0, len(content)+22)
	plain = append(plain, content...)
	plain = append(plain, 0xC0|tagMDC, sha1.Size)
	h := sha1.New()
	h.Write(iv)
	h.Write(iv[bs-2:])
	h.Write(plain)
	plain = h.Sum(plain)

	bodyLen := 1 + len(prefix) + len(plain)
	out := msg.Bytes()
	out = appendHeader(out, tagSEIPD, bodyLen)
	out = append(out, 1)
	out = append(out, prefix...)
	start := len(out)
	out = append(out, plain...)
	stream.XORKeyStream(out[start:], out[start:])
	return out, nil
}

// Armor writes msg as a canonical armored PGP MESSAGE: no headers, 64-column
// lines, CRC-24 (as gpg 2.2 writes it; allowed before a v1 SEIPD).
func Armor(msg []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.EncodeWithChecksumOption(&b, "PGP MESSAGE", nil, true)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
