// Package armor is the ciphertext gate of alt.crypt.messages: it decides
// whether an article body is exactly one ASCII-armored OpenPGP message that
// carries nothing but encrypted data (docs/gate.md), and, for
// injection only, rewrites what real clients send into one canonical armor.
//
// The parser is written here on purpose: go-crypto's readers are lenient by
// design (they serve decryption) and accept most of what the gate must refuse.
// Check never needs a key, never panics, refuses oversized bodies before
// looking at them, and runs in linear time with a handful of allocations.
package armor

import "fmt"

// Policy holds the knobs a server may turn. The zero value of MaxBodySize and
// MaxESKs means "use the default"; start from DefaultPolicy for the booleans.
type Policy struct {
	// MaxBodySize caps the body in bytes (R-A8); larger bodies are refused
	// before any parsing.
	MaxBodySize int
	// AllowVisibleRecipients admits PKESKs that name their recipient (a
	// non-zero v3 key ID or a v6 fingerprint). Off means "anonymous
	// recipients only", which rejects most real gpg traffic.
	AllowVisibleRecipients bool
	// AllowLibrePGPAEAD admits the LibrePGP AEAD packet (tag 20) that GnuPG
	// 2.3+ and RNP write; RFC 9580 lists the tag as reserved.
	AllowLibrePGPAEAD bool
	// MaxESKs caps the number of PKESK plus SKESK packets.
	MaxESKs int
}

// Default limits.
const (
	DefaultMaxBodySize = 256 << 10
	DefaultMaxESKs     = 16
)

// DefaultPolicy returns the policy of a default server.
func DefaultPolicy() Policy {
	return Policy{
		MaxBodySize:            DefaultMaxBodySize,
		AllowVisibleRecipients: true,
		AllowLibrePGPAEAD:      true,
		MaxESKs:                DefaultMaxESKs,
	}
}

func (p Policy) maxBody() int {
	if p.MaxBodySize <= 0 {
		return DefaultMaxBodySize
	}
	return p.MaxBodySize
}

func (p Policy) maxESKs() int {
	if p.MaxESKs <= 0 {
		return DefaultMaxESKs
	}
	return p.MaxESKs
}

// Error is a rejection: Code is a stable kebab-case reason (see Codes), Msg a
// sentence for people.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

func reject(code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Msg: format}
	}
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Verdict describes an accepted message: what a carrier can see without a key.
type Verdict struct {
	// Container is "seipd-v1", "seipd-v2" or "aead-librepgp".
	Container string
	// ESKs lists the PKESK and SKESK packets in order.
	ESKs []ESK
	// Markers counts Marker packets (tag 10) before the ESKs.
	Markers int
	// Cipher, AEAD and ChunkSizeByte are the data packet's clear fields
	// (v2 SEIPD and tag 20 only; zero for v1 SEIPD).
	Cipher        int
	AEAD          int
	ChunkSizeByte int
	// PartialLengths reports whether the data packet uses partial body lengths.
	PartialLengths bool
	// Checksum reports whether the armor carried a CRC24 line.
	Checksum bool
	// LineWidth is the length of the first base64 line.
	LineWidth int
	// PacketBytes is the length of the decoded packet stream.
	PacketBytes int
	// BodyBytes is the length of the body as given.
	BodyBytes int
}

// ESK is one encrypted session key packet.
type ESK struct {
	// Kind is "pkesk" or "skesk".
	Kind    string
	Version int
	// Algorithm is the public-key algorithm of a PKESK or the symmetric
	// cipher of a SKESK.
	Algorithm int
	// Anonymous is true for a PKESK with a wildcard recipient (v3 key ID of
	// zeros, v6 without fingerprint); always false for a SKESK.
	Anonymous bool
	// KeyID is the recipient key ID in hex: the v3 key ID, or the key ID
	// derived from a v6 PKESK's fingerprint (v4: last 8 octets, v6: first 8).
	// Empty when anonymous and for SKESKs.
	KeyID string
	// Fingerprint is the hex fingerprint of a non-anonymous v6 PKESK.
	Fingerprint string
	// AEAD is the AEAD mode of a v5/v6 SKESK; S2K its string-to-key type.
	AEAD int
	S2K  int
}
