package armor

import "encoding/binary"

// A base64 decoder for whole armor lines. Go's decoder skips line breaks
// but falls back to a slow path at every one of them; decoding each line of
// a multiple-of-four width directly, fused with the scan for line breaks,
// halves the cost. Anything unusual (padding, odd widths, stray bytes) is
// left to the strict decoder and the line-by-line diagnosis.

// b64Value maps a base64 character to its 6-bit value, everything else to
// 0xFF. It is computed once and never written again.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeLine decodes src (len a multiple of 4, no padding) into dst, which
// must have len(src)/4*3 + 2 bytes of room. It reports false on any
// character outside the alphabet.
func decodeLine(dst, src []byte) bool {
	t := &b64Value
	var bad byte
	for len(src) >= 8 && len(dst) >= 8 {
		s := src[:8:8]
		a, b, c, d := t[s[0]], t[s[1]], t[s[2]], t[s[3]]
		e, f, g, h := t[s[4]], t[s[5]], t[s[6]], t[s[7]]
		bad |= a | b | c | d | e | f | g | h
		binary.BigEndian.PutUint64(dst, uint64(a)<<58|uint64(b)<<52|uint64(c)<<46|uint64(d)<<40|
			uint64(e)<<34|uint64(f)<<28|uint64(g)<<22|uint64(h)<<16)
		src = src[8:]
		dst = dst[6:]
	}
	for len(src) >= 4 && len(dst) >= 3 {
		s := src[:4:4]
		a, b, c, d := t[s[0]], t[s[1]], t[s[2]], t[s[3]]
		bad |= a | b | c | d
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
		src = src[4:]
		dst = dst[3:]
	}
	return bad&0x80 == 0 && len(src) == 0
}
