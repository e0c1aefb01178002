package trial

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
)

var keywrapIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// unwrap is AES key unwrap (RFC 3394) into out, which must have room for
// len(c)-8 octets. It reports whether the integrity check value matched:
// the test that tells a key that fits from one that does not, with a false
// positive rate of 2^-64.
func unwrap(kek, c, out []byte) bool {
	if len(c) < 24 || len(c)%8 != 0 || len(out) < len(c)-8 {
		return false
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return false
	}
	n := len(c)/8 - 1
	r := out[:len(c)-8]
	copy(r, c[8:])
	var a, b [16]byte
	copy(a[:8], c[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			v := binary.BigEndian.Uint64(a[:8]) ^ t
			binary.BigEndian.PutUint64(b[:8], v)
			copy(b[8:], r[(i-1)*8:i*8])
			block.Decrypt(b[:], b[:])
			copy(a[:8], b[:8])
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	return subtle.ConstantTimeCompare(a[:8], keywrapIV[:]) == 1
}
