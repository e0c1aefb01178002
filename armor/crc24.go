package armor

// CRC24 of RFC 9580 §6.1 (init 0xB704CE, generator 0x864CFB), computed
// slicing-by-8 so that the checksum costs a fraction of the base64 decoding.
// The register is kept left-aligned in 32 bits (crc << 8).

const (
	crc24Init = 0xB704CE
	crc24Poly = 0x1864CFB
)

// crc24Tables[k][b] is the left-aligned contribution of byte b followed by k
// zero bytes. It is computed once and never written again.
var crc24Tables = makeCRC24Tables()

func makeCRC24Tables() *[8][256]uint32 {
	var t [8][256]uint32
	for i := 0; i < 256; i++ {
		crc := uint32(i) << 16
		for j := 0; j < 8; j++ {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= crc24Poly
			}
		}
		t[0][i] = crc << 8
	}
	for k := 1; k < 8; k++ {
		for i := 0; i < 256; i++ {
			prev := t[k-1][i]
			t[k][i] = (prev << 8) ^ t[0][prev>>24]
		}
	}
	return &t
}

// crc24 returns the OpenPGP armor checksum of data.
func crc24(data []byte) uint32 {
	t := crc24Tables
	c := uint32(crc24Init) << 8
	for len(data) >= 8 {
		c ^= uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3])
		c = t[7][c>>24] ^ t[6][(c>>16)&0xff] ^ t[5][(c>>8)&0xff] ^ t[4][c&0xff] ^
			t[3][data[4]] ^ t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]]
		data = data[8:]
	}
	for _, b := range data {
		c = (c << 8) ^ t[0][byte(c>>24)^b]
	}
	return c >> 8
}

// crc24Simple is the bitwise definition, kept for tests.
func crc24Simple(data []byte) uint32 {
	crc := uint32(crc24Init)
	for _, b := range data {
		crc ^= uint32(b) << 16
		for i := 0; i < 8; i++ {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= crc24Poly
			}
		}
	}
	return crc & 0xFFFFFF
}
