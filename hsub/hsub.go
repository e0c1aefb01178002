// Package hsub computes and checks hSub subject tags, the hashed Subject
// that nym clients used on alt.anonymous.messages: lowercase hex of
// iv || SHA-256(iv || secret), with an 8-octet random iv, truncated to 48
// (usually) to 80 hex digits. See docs/anonymity.md.
package hsub

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
)

const (
	// IVSize is the length of the random prefix in octets.
	IVSize = 8
	// MinLen and MaxLen bound a tag's length in hex digits.
	MinLen = 48
	MaxLen = 80
	// DefaultLen is what clients emit: indistinguishable from an eSub.
	DefaultLen = 48
)

// Compute returns the full 80-digit tag for secret and iv.
func Compute(secret []byte, iv [IVSize]byte) string {
	h := sha256.New()
	h.Write(iv[:])
	h.Write(secret)
	var out [IVSize + sha256.Size]byte
	copy(out[:], iv[:])
	h.Sum(out[IVSize:IVSize])
	return hex.EncodeToString(out[:])
}

// New makes a DefaultLen-digit tag for secret with a fresh random iv read
// from rnd (crypto/rand.Reader when nil).
func New(secret []byte, rnd io.Reader) (string, error) {
	var iv [IVSize]byte
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := io.ReadFull(rnd, iv[:]); err != nil {
		return "", err
	}
	return Compute(secret, iv)[:DefaultLen], nil
}

// Random makes a DefaultLen-digit tag of random hex: what a message without
// a shared secret carries, so tagged and untagged subjects look alike.
func Random(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [DefaultLen / 2]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Shaped reports whether s has the shape of a tag: 48 to 80 lowercase hex
// digits. (Uppercase is refused: every known client writes lowercase, and
// one case leaves no covert channel.)
func Shaped(s string) bool {
	if len(s) < MinLen || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Match reports whether subject is a tag made with secret.
func Match(secret []byte, subject string) bool {
	if !Shaped(subject) {
		return false
	}
	var iv [IVSize]byte
	if _, err := hex.Decode(iv[:], []byte(subject[:2*IVSize])); err != nil {
		return false
	}
	want := Compute(secret, iv)
	return subtle.ConstantTimeCompare([]byte(want[:len(subject)]), []byte(subject)) == 1
}

// Matcher checks subjects against several secrets at once.
type Matcher struct {
	secrets [][]byte
}

// NewMatcher returns a Matcher for the given secrets.
func NewMatcher(secrets ...[]byte) *Matcher {
	return &Matcher{secrets: secrets}
}

// Match returns the index of the first secret that made subject, or -1.
func (m *Matcher) Match(subject string) int {
	if !Shaped(subject) {
		return -1
	}
	for i, s := range m.secrets {
		if Match(s, subject) {
			return i
		}
	}
	return -1
}
