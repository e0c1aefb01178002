// Package trial finds, among many OpenPGP messages, the ones that local keys
// can open, quickly. Probe parses the session-key packets itself and, for
// Curve25519 recipients (ECDH algorithm 18 with the Curve25519 OID, and
// X25519 algorithm 25), does one X25519, the KDF and an AES key unwrap per
// key: the key-wrap check tells a matching key from a wrong one without
// touching the rest of the message. Only a hit goes through the full, slow
// decryption with go-crypto (Open), which also checks the MDC or AEAD tag.
// Recipients with other algorithms (RSA, ElGamal, NIST curves) and
// passphrase-encrypted messages are passed to Open as possible hits.
package trial

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	x25519lib "github.com/cloudflare/circl/dh/x25519"
	"golang.org/x/crypto/hkdf"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgpecdh "github.com/ProtonMail/go-crypto/openpgp/ecdh"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/x25519"
)

// MaxPlaintext bounds what Open returns, decompression included.
const MaxPlaintext = 64 << 20

type kind int

const (
	kindOther     kind = iota // slow path only
	kindECDH25519             // algorithm 18, Curve25519 OID
	kindX25519                // algorithm 25
)

// curve25519OID is the encoded OID field (length octet first) of the legacy
// Curve25519 ECDH curve, 1.3.6.1.4.1.3029.1.5.1.
var curve25519OID = []byte{0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01}

type subkey struct {
	entity *openpgp.Entity
	kind   kind
	algo   byte
	keyID  uint64
	fpr    []byte
	priv   *x25519lib.Key   // X25519 scalar (little-endian), both kinds
	point  []byte           // own public point (HKDF input for X25519)
	param  []byte           // ECDH KDF parameters (RFC 6637 section 8)
	kdf    func() hash.Hash // ECDH KDF hash
	kekLen int              // ECDH KEK size in octets
}

// Keys is a set of local decryption keys and passphrases, ready for Probe.
// It is safe for concurrent use.
type Keys struct {
	subs        []subkey
	entities    openpgp.EntityList
	passphrases [][]byte
	locked      int
	// Signers are the public keys signatures are verified against (the
	// contacts); the local keys count too.
	Signers openpgp.EntityList
}

// New prepares the decryption (sub)keys of entities, whose private keys must
// already be decrypted (locked ones are skipped and counted by Locked), and
// passphrases for messages encrypted with a passphrase.
func New(entities openpgp.EntityList, passphrases [][]byte) (*Keys, error) {
	k := &Keys{entities: entities, passphrases: passphrases}
	for _, key := range allDecryptionKeys(entities) {
		if key.PrivateKey == nil {
			continue
		}
		if key.PrivateKey.Encrypted {
			k.locked++
			continue
		}
		s := subkey{
			entity: key.Entity,
			algo:   byte(key.PublicKey.PubKeyAlgo),
			keyID:  key.PublicKey.KeyId,
			fpr:    key.PublicKey.Fingerprint,
		}
		var err error
		switch p := key.PrivateKey.PrivateKey.(type) {
		case *pgpecdh.PrivateKey:
			if c, cerr := key.PublicKey.Curve(); cerr == nil && c == packet.Curve25519 && len(p.D) == 32 {
				err = s.setECDH(p, key.PublicKey)
			}
		case *x25519.PrivateKey:
			s.kind = kindX25519
			s.point = append([]byte(nil), p.PublicKey.Point...)
			s.priv, err = scalar(p.Secret)
		}
		if err != nil {
			return nil, fmt.Errorf("trial: key %X: %w", key.PublicKey.Fingerprint, err)
		}
		k.subs = append(k.subs, s)
	}
	return k, nil
}

// allDecryptionKeys lists every key able to decrypt, whatever its flags say:
// a recipient wants to find every message it can read.
func allDecryptionKeys(el openpgp.EntityList) []openpgp.Key {
	var out []openpgp.Key
	for _, e := range el {
		add := func(pub *packet.PublicKey, priv *packet.PrivateKey) {
			if priv == nil || !pub.PubKeyAlgo.CanEncrypt() {
				return
			}
			out = append(out, openpgp.Key{Entity: e, PublicKey: pub, PrivateKey: priv})
		}
		add(e.PrimaryKey, e.PrivateKey)
		for _, sk := range e.Subkeys {
			add(sk.PublicKey, sk.PrivateKey)
		}
	}
	return out
}

func (s *subkey) setECDH(p *pgpecdh.PrivateKey, pub *packet.PublicKey) error {
	switch p.KDF.Hash.Id() {
	case 8:
		s.kdf = sha256.New
	case 9:
		s.kdf = sha512.New384
	case 10:
		s.kdf = sha512.New
	default:
		return nil // unusual KDF: slow path
	}
	switch p.KDF.Cipher.Id() {
	case 7, 8, 9:
		s.kekLen = p.KDF.Cipher.KeySize()
	default:
		return nil
	}
	fpr := pub.Fingerprint
	if len(fpr) > 20 {
		fpr = fpr[:20] // v5 keys use the leftmost 20 octets
	}
	// Param = curve_OID_len || curve_OID || public_key_alg_ID || 03 || 01
	//         || KDF_hash_ID || KEK_alg_ID || "Anonymous Sender    " || fingerprint
	s.param = append(append([]byte(nil), curve25519OID...), algoECDH, 3, 1, p.KDF.Hash.Id(), p.KDF.Cipher.Id())
	s.param = append(s.param, "Anonymous Sender    "...)
	s.param = append(s.param, fpr...)
	// go-crypto keeps the scalar little-endian, as X25519 wants it.
	priv, err := scalar(p.D)
	if err != nil {
		return err
	}
	s.priv = priv
	s.kind = kindECDH25519
	return nil
}

func scalar(b []byte) (*x25519lib.Key, error) {
	if len(b) != x25519lib.Size {
		return nil, fmt.Errorf("X25519 secret of %d octets", len(b))
	}
	k := new(x25519lib.Key)
	copy(k[:], b)
	return k, nil
}

// Len is the number of usable decryption keys.
func (k *Keys) Len() int { return len(k.subs) }

// Locked is the number of secret keys skipped because they are still
// protected by a passphrase.
func (k *Keys) Locked() int { return k.locked }

// Hit says how a message may be opened: by one entity, found by the fast
// path (Sure) or only possible (another algorithm, a passphrase).
type Hit struct {
	Entity    *openpgp.Entity
	Sure      bool
	Symmetric bool
}

// Probe looks at the session-key packets at the start of msg (binary
// OpenPGP) and reports whether a local key or passphrase may open it. It
// never decrypts the message body.
func (k *Keys) Probe(msg []byte) (Hit, bool) {
	var maybe *Hit
	rest := msg
	for len(rest) > 0 {
		tag, body, r, err := nextPacket(rest)
		if err != nil {
			break
		}
		rest = r
		switch tag {
		case tagMarker:
			continue
		case tagSKESK:
			if len(k.passphrases) > 0 && maybe == nil {
				maybe = &Hit{Symmetric: true}
			}
			continue
		case tagPKESK:
		default:
			// The first data packet ends the session-key packets.
			rest = nil
			continue
		}
		p, ok := parsePKESK(body)
		if !ok {
			continue
		}
		for i := range k.subs {
			s := &k.subs[i]
			if p.version == 3 && p.keyID != 0 && p.keyID != s.keyID {
				continue
			}
			if p.version == 6 && !p.anonV6 && !bytes.Equal(p.fpr, s.fpr) {
				continue
			}
			if p.algo != s.algo {
				continue
			}
			switch s.kind {
			case kindECDH25519:
				// A point that is not Curve25519 cannot be for this key.
				if p.ephemeral != nil && s.tryECDH(&p) {
					return Hit{Entity: s.entity, Sure: true}, true
				}
			case kindX25519:
				if s.tryX25519(&p) {
					return Hit{Entity: s.entity, Sure: true}, true
				}
			default:
				if maybe == nil || maybe.Symmetric {
					maybe = &Hit{Entity: s.entity}
				}
			}
		}
	}
	if maybe != nil {
		return *maybe, true
	}
	return Hit{}, false
}

// tryECDH runs RFC 6637 section 8 decryption up to the key-wrap check and the
// session key checksum.
func (s *subkey) tryECDH(p *pkesk) bool {
	if len(p.wrapped) < 24 || len(p.wrapped) > 64 || len(p.wrapped)%8 != 0 {
		return false
	}
	shared, ok := dh(s.priv, p.ephemeral)
	if !ok {
		return false
	}
	var out [56]byte
	m := out[:len(p.wrapped)-8]
	if s.unwrapECDH(shared, 0, 32, p.wrapped, m) {
		return checkSessionKey(m)
	}
	// Messages from old go-crypto (leading zeros dropped) and old
	// OpenPGP.js (trailing zeros dropped) hashed a shortened secret.
	if shared[0] == 0 {
		i := 0
		for i < 32 && shared[i] == 0 {
			i++
		}
		if s.unwrapECDH(shared, i, 32, p.wrapped, m) {
			return checkSessionKey(m)
		}
	}
	if shared[31] == 0 {
		j := 32
		for j > 0 && shared[j-1] == 0 {
			j--
		}
		if s.unwrapECDH(shared, 0, j, p.wrapped, m) {
			return checkSessionKey(m)
		}
	}
	return false
}

func (s *subkey) unwrapECDH(shared []byte, from, to int, wrapped, m []byte) bool {
	h := s.kdf()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(shared[from:to])
	h.Write(s.param)
	var sum [64]byte
	kek := h.Sum(sum[:0])[:s.kekLen]
	return unwrap(kek, wrapped, m)
}

// checkSessionKey checks m = cipher || key || checksum || PKCS#5 padding.
func checkSessionKey(m []byte) bool {
	pad := int(m[len(m)-1])
	if pad == 0 || pad > len(m) {
		return false
	}
	for _, b := range m[len(m)-pad:] {
		if int(b) != pad {
			return false
		}
	}
	m = m[:len(m)-pad]
	if len(m) < 1+16+2 {
		return false
	}
	key := m[1 : len(m)-2]
	var sum uint16
	for _, b := range key {
		sum += uint16(b)
	}
	return sum == binary.BigEndian.Uint16(m[len(m)-2:])
}

// tryX25519 runs RFC 9580 section 5.1.6 decryption up to the key-wrap check.
func (s *subkey) tryX25519(p *pkesk) bool {
	if len(p.wrapped) < 24 || len(p.wrapped) > 48 || len(p.wrapped)%8 != 0 {
		return false
	}
	shared, ok := dh(s.priv, p.ephemeral)
	if !ok {
		return false
	}
	ikm := make([]byte, 0, 96)
	ikm = append(ikm, p.ephemeral...)
	ikm = append(ikm, s.point...)
	ikm = append(ikm, shared...)
	var kek [16]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte("OpenPGP X25519")), kek[:]); err != nil {
		return false
	}
	var out [40]byte
	return unwrap(kek[:], p.wrapped, out[:len(p.wrapped)-8])
}

// dh is X25519(scalar, peer). circl's amd64/arm64 assembly ladder is about
// 30% faster here than crypto/ecdh's, and this one operation is nearly the
// whole cost of examining an article.
func dh(scalar *x25519lib.Key, peer []byte) ([]byte, bool) {
	if len(peer) != x25519lib.Size {
		return nil, false
	}
	var pub, shared x25519lib.Key
	copy(pub[:], peer)
	if !x25519lib.Shared(&shared, scalar, &pub) { // false for low-order points
		return nil, false
	}
	return shared[:], true
}

// Message is one decrypted message.
type Message struct {
	Plaintext []byte
	Entity    *openpgp.Entity // nil when opened with a passphrase
	Signed    bool            // the message carries a signature
	// SignedBy is the key whose good signature the message carries, from
	// Keys.Signers or the local keys; nil when unsigned, signed by a key
	// we do not have (SignerKeyID says which), or badly signed
	// (SignatureError).
	SignedBy       *openpgp.Entity
	SignerKeyID    uint64
	SignatureError error
}

// ErrNotOurs means no local key or passphrase opened the message.
var ErrNotOurs = errors.New("trial: not for any local key")

// Open fully decrypts msg with what Probe found, checking integrity (MDC or
// AEAD). Hits that are only possible are tried with every fitting key.
func (k *Keys) Open(msg []byte, hit Hit) (*Message, error) {
	if hit.Symmetric {
		// go-crypto gives up on the first wrong passphrase rather than
		// asking for another, so each passphrase gets its own attempt.
		var last error = ErrNotOurs
		for _, p := range k.passphrases {
			m, err := k.open(msg, nil, p)
			if err == nil {
				return m, nil
			}
			last = err
		}
		return nil, last
	}
	ring := k.entities
	if hit.Entity != nil {
		ring = openpgp.EntityList{hit.Entity}
	}
	return k.open(msg, ring, nil)
}

func (k *Keys) open(msg []byte, ring openpgp.EntityList, passphrase []byte) (*Message, error) {
	asked := false
	prompt := func(keys []openpgp.Key, symmetric bool) ([]byte, error) {
		if !symmetric || passphrase == nil || asked {
			return nil, ErrNotOurs
		}
		asked = true
		return passphrase, nil
	}
	limit := int64(MaxPlaintext)
	cfg := &packet.Config{MaxDecompressedMessageSize: &limit}
	var kr openpgp.KeyRing = ring
	if len(k.Signers) > 0 || len(ring) < len(k.entities) {
		kr = verifyRing{ring, append(append(openpgp.EntityList{}, k.Signers...), k.entities...)}
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(msg), kr, prompt, cfg)
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return nil, ErrNotOurs
		}
		return nil, fmt.Errorf("%w (%v)", ErrNotOurs, err)
	}
	if !md.IsEncrypted {
		return nil, ErrNotOurs
	}
	plain, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, MaxPlaintext+1))
	if err != nil {
		return nil, fmt.Errorf("trial: decrypting: %w", err)
	}
	if len(plain) > MaxPlaintext {
		return nil, fmt.Errorf("trial: message over %d octets", MaxPlaintext)
	}
	if md.SignatureError != nil && !md.IsSigned {
		return nil, fmt.Errorf("trial: %w", md.SignatureError)
	}
	m := &Message{Plaintext: plain, Signed: md.IsSigned, SignerKeyID: md.SignedByKeyId}
	if md.IsSigned {
		switch {
		case md.SignedBy == nil:
		case md.SignatureError != nil:
			m.SignatureError = md.SignatureError
		default:
			m.SignedBy = md.SignedBy.Entity
		}
	}
	if md.DecryptedWith.Entity != nil {
		m.Entity = md.DecryptedWith.Entity
	}
	return m, nil
}

// verifyRing decrypts with dec only and verifies signatures with dec and
// the signers.
type verifyRing struct {
	dec, verify openpgp.EntityList
}

func (r verifyRing) KeysById(id uint64) []openpgp.Key { return r.dec.KeysById(id) }
func (r verifyRing) DecryptionKeys() []openpgp.Key    { return r.dec.DecryptionKeys() }
func (r verifyRing) KeysByIdUsage(id uint64, usage byte) []openpgp.Key {
	return append(r.dec.KeysByIdUsage(id, usage), r.verify.KeysByIdUsage(id, usage)...)
}
