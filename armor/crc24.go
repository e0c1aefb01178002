package armor

// CRC24 of RFC 9580 §6.1 (init 0xB704CE, generator 0x864CFB), computed
// slicing-by-16 so that the checksum costs a fraction of the base64 decoding.
// The register is kept left-aligned in 32 bits (crc << 8).

const (
	crc24Init = 0xB704CE
	crc24Poly = 0x1864CFB
)

// crc24Tables[k][b] is the left-aligned contribution of byte b followed by k
// zero bytes. It is computed once and never written again.
var crc24Tables = makeCRC24Tables()

func makeCRC24Tables() *[16][256]uint32 {
	var t [16][256]uint32
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
	for k := 1; k < 16; k++ {
		for i := 0; i < 256; i++ {
			prev := t[k-1][i]
			t[k][i] = (prev << 8) ^ t[0][prev>>24]
		}
	}
	return &t
}

// crc24 returns the OpenPGP armor checksum of data.
func crc24(data []byte) uint32 {
	return crc24Update(crc24Start, data) >> 8
}

// crc24Start is the left-aligned initial register; crc24Update continues a
// left-aligned register over data (the result >> 8 is the checksum).
const crc24Start = uint32(crc24Init) << 8

func crc24Update(c uint32, data []byte) uint32 {
	t := crc24Tables
	for len(data) >= 16 {
		d := data[:16:16]
		c ^= uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
		c = t[15][c>>24] ^ t[14][(c>>16)&0xff] ^ t[13][(c>>8)&0xff] ^ t[12][c&0xff] ^
			t[11][d[4]] ^ t[10][d[5]] ^ t[9][d[6]] ^ t[8][d[7]] ^
			t[7][d[8]] ^ t[6][d[9]] ^ t[5][d[10]] ^ t[4][d[11]] ^
			t[3][d[12]] ^ t[2][d[13]] ^ t[1][d[14]] ^ t[0][d[15]]
		data = data[16:]
	}
	for _, b := range data {
		c = (c << 8) ^ t[0][byte(c>>24)^b]
	}
	return c
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
