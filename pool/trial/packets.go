package trial

import (
	"encoding/binary"
	"errors"
)

// OpenPGP packet tags the probe looks at.
const (
	tagPKESK  = 1
	tagSKESK  = 3
	tagMarker = 10
)

var errTruncated = errors.New("trial: truncated packet")

// nextPacket splits the first packet off msg. It understands both header
// formats but only definite lengths: ESK packets never need partial lengths,
// and anything else ends the probe anyway. It returns the tag, the body and
// the rest of msg.
func nextPacket(msg []byte) (tag byte, body, rest []byte, err error) {
	if len(msg) < 2 || msg[0]&0x80 == 0 {
		return 0, nil, nil, errTruncated
	}
	var n, hdr int
	if msg[0]&0x40 != 0 { // OpenPGP (new) format
		tag = msg[0] & 0x3f
		switch l := msg[1]; {
		case l < 192:
			n, hdr = int(l), 2
		case l < 224:
			if len(msg) < 3 {
				return 0, nil, nil, errTruncated
			}
			n, hdr = (int(l)-192)<<8+int(msg[2])+192, 3
		case l == 255:
			if len(msg) < 6 {
				return 0, nil, nil, errTruncated
			}
			v := binary.BigEndian.Uint32(msg[2:6])
			if v > 1<<30 {
				return 0, nil, nil, errTruncated
			}
			n, hdr = int(v), 6
		default: // partial length
			return tag, nil, nil, errPartial
		}
	} else { // legacy format
		tag = (msg[0] >> 2) & 0x0f
		switch msg[0] & 3 {
		case 0:
			n, hdr = int(msg[1]), 2
		case 1:
			if len(msg) < 3 {
				return 0, nil, nil, errTruncated
			}
			n, hdr = int(binary.BigEndian.Uint16(msg[1:3])), 3
		case 2:
			if len(msg) < 5 {
				return 0, nil, nil, errTruncated
			}
			v := binary.BigEndian.Uint32(msg[1:5])
			if v > 1<<30 {
				return 0, nil, nil, errTruncated
			}
			n, hdr = int(v), 5
		default: // indeterminate length
			return tag, nil, nil, errPartial
		}
	}
	if len(msg)-hdr < n {
		return 0, nil, nil, errTruncated
	}
	return tag, msg[hdr : hdr+n], msg[hdr+n:], nil
}

var errPartial = errors.New("trial: partial or indeterminate length")

// pkesk is the part of a public-key encrypted session key packet the fast
// path needs.
type pkesk struct {
	version int
	keyID   uint64 // v3 only; 0 = anonymous
	anonV6  bool   // v6 with no fingerprint
	fpr     []byte // v6 with a fingerprint
	algo    byte
	// ECDH (18): ephemeral point without the 0x40 prefix, wrapped key.
	// X25519 (25): ephemeral public key, cipher (v3), wrapped key.
	ephemeral []byte
	wrapped   []byte
	cipher    byte
}

const (
	algoECDH   = 18
	algoX25519 = 25
)

// parsePKESK reads the fields of a PKESK body. Unknown algorithms are
// returned with only the header fields set.
func parsePKESK(b []byte) (p pkesk, ok bool) {
	if len(b) < 1 {
		return p, false
	}
	p.version = int(b[0])
	b = b[1:]
	switch p.version {
	case 3:
		if len(b) < 9 {
			return p, false
		}
		p.keyID = binary.BigEndian.Uint64(b[:8])
		b = b[8:]
	case 6:
		if len(b) < 1 {
			return p, false
		}
		n := int(b[0])
		b = b[1:]
		if n == 0 {
			p.anonV6 = true
		} else {
			if len(b) < n || n < 1 {
				return p, false
			}
			p.fpr = b[1:n]
			b = b[n:]
		}
	default:
		return p, false
	}
	if len(b) < 1 {
		return p, false
	}
	p.algo = b[0]
	b = b[1:]
	switch p.algo {
	case algoECDH:
		// MPI: two-octet bit count, then the point 0x40 || 32 octets.
		if len(b) < 2 {
			return p, false
		}
		bits := int(binary.BigEndian.Uint16(b))
		n := (bits + 7) / 8
		b = b[2:]
		if len(b) < n+1 {
			return p, false
		}
		point := b[:n]
		b = b[n:]
		if n != 33 || point[0] != 0x40 {
			// Not a Curve25519 point: leave it to the slow path.
			return p, true
		}
		p.ephemeral = point[1:]
		n = int(b[0])
		b = b[1:]
		if len(b) < n {
			return p, false
		}
		p.wrapped = b[:n]
	case algoX25519:
		if len(b) < 33 {
			return p, false
		}
		p.ephemeral = b[:32]
		n := int(b[32])
		b = b[33:]
		if len(b) < n {
			return p, false
		}
		b = b[:n]
		if p.version == 3 {
			if len(b) < 1 {
				return p, false
			}
			p.cipher = b[0]
			b = b[1:]
		}
		p.wrapped = b
	}
	return p, true
}
