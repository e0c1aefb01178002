package armor

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// Synthetic packet streams for the rules the corpus does not reach.

type gen struct{ r *rand.Rand }

func newGen() *gen { return &gen{rand.New(rand.NewPCG(11, 13))} }

func (g *gen) rnd(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func pkt(tag int, body []byte) []byte {
	return append(appendHeader(nil, false, tag, len(body)), body...)
}

func legacy(tag int, body []byte) []byte {
	return append(appendHeader(nil, true, tag, len(body)), body...)
}

func (g *gen) pkeskV3() []byte { // ECDH
	return cat([]byte{3}, g.rnd(8), []byte{18, 0x01, 0x07, 0x40}, g.rnd(32), []byte{48}, g.rnd(48))
}

func (g *gen) pkeskV3X25519(sym byte) []byte {
	return cat([]byte{3}, g.rnd(8), []byte{25}, g.rnd(32), []byte{33, sym}, g.rnd(32))
}

func (g *gen) pkeskV6(anon bool) []byte {
	head := []byte{6, 33, 6}
	head = append(head, g.rnd(32)...)
	if anon {
		head = []byte{6, 0}
	}
	return cat(head, []byte{25}, g.rnd(32), []byte{32}, g.rnd(32))
}

func (g *gen) skeskV4() []byte { return cat([]byte{4, 9, 3, 8}, g.rnd(8), []byte{0xE0}) }

func (g *gen) argon2() []byte { return cat([]byte{4}, g.rnd(16), []byte{1, 4, 21}) }

func (g *gen) skeskV6() []byte {
	return cat([]byte{6, 3 + 20 + 15, 9, 2, 20}, g.argon2(), g.rnd(15), g.rnd(48))
}

func (g *gen) skeskV5() []byte {
	return cat([]byte{5, 9, 2, 3, 8}, g.rnd(8), []byte{0xE0}, g.rnd(15), g.rnd(48))
}

func (g *gen) seipd1(n int) []byte { return cat([]byte{1}, g.rnd(n)) }

func aeadLen(p, c int) int {
	size := 1 << (c + 6)
	return p + 16*((p+size-1)/size+1)
}

func (g *gen) seipd2(p, c int) []byte {
	return cat([]byte{2, 9, 2, byte(c)}, g.rnd(32), g.rnd(aeadLen(p, c)))
}

func (g *gen) aead20(p, c int) []byte {
	return cat([]byte{1, 9, 2, byte(c)}, g.rnd(15), g.rnd(aeadLen(p, c)))
}

// nulEvery31 is n octets of text with a NUL every 31, so that no run of
// printable characters reaches 32.
func nulEvery31(n int) []byte {
	text := []byte(strings.Repeat("Meet me at the old mill at nine, bring the papers and tell no one. ", 1+n/60))
	for i := 30; i < len(text); i += 31 {
		text[i] = 0
	}
	return text[:n]
}

// zlibbed is text compressed with zlib, padded with random octets to n
// octets when n is larger.
func zlibbed(t *testing.T, n int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	for i := 0; i < 6; i++ {
		fmt.Fprintf(w, "Line %d: the shipment leaves pier %d at %d:%02d.\n", i, i*7%13, i%24, i*17%60)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n > 0 && b.Len() > n {
		t.Fatalf("zlib stream of %d octets, want at most %d", b.Len(), n)
	}
	return append(b.Bytes(), newGen().rnd(max(0, n-b.Len()))...)
}

func gzipped(t *testing.T) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, strings.Repeat("all of this is plain text, compressed; ", 20))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rsaPKESK is a v3 anonymous RSA PKESK whose 2048-bit value is 0xC5 then
// the 255 octets v.
func rsaPKESK(v []byte) []byte {
	return cat([]byte{3}, make([]byte, 8), []byte{1, 8, 0, 0xC5}, v)
}

// x25519Text is an anonymous v3 X25519 PKESK whose key and wrapped key
// are text (part i of a message).
func x25519Text(i int) []byte {
	text := nulEvery31(31 + 32 + 72)[i*63:]
	key := append(text[:31:31], 0x41)
	return cat([]byte{3}, make([]byte, 8), []byte{25}, key, []byte{33, 9}, text[31:63])
}

func TestPacketRules(t *testing.T) {
	g := newGen()
	data := pkt(18, g.seipd1(100))
	pk := pkt(1, g.pkeskV3())
	cases := []struct {
		name string
		raw  []byte
		code string
	}{
		{"v3-pkesk-seipd1", cat(pk, data), ""},
		{"legacy-headers", cat(legacy(1, g.pkeskV3()), legacy(3, g.skeskV4()), data), ""},
		{"five-octet-length", cat(pk, []byte{0xC0 | 18, 0xFF, 0, 0, 0, 101}, g.seipd1(100)), ""},
		{"two-octet-length", cat(pk, pkt(18, g.seipd1(1000))), ""},
		{"x25519-v3", cat(pkt(1, g.pkeskV3X25519(9)), data), ""},
		{"x25519-v3-bad-sym", cat(pkt(1, g.pkeskV3X25519(3)), data), CodeBadPKESK},
		{"v6-seipd2", cat(pkt(1, g.pkeskV6(false)), pkt(3, g.skeskV6()), pkt(18, g.seipd2(500, 4))), ""},
		{"v6-anon-seipd2", cat(pkt(1, g.pkeskV6(true)), pkt(18, g.seipd2(100, 0))), ""},
		{"seipd2-multi-chunk", cat(pkt(1, g.pkeskV6(true)), pkt(18, g.seipd2(64*5+1, 0))), ""},
		{"tag20-v5-skesk", cat(pkt(3, g.skeskV5()), pkt(20, g.aead20(300, 2))), ""},
		{"tag20-v4-skesk", cat(pkt(3, g.skeskV4()), pkt(20, g.aead20(300, 2))), ""},
		// R-P
		{"legacy-indeterminate", cat([]byte{0x80 | 1<<2 | 3}, g.pkeskV3(), data), CodeIndeterminate},
		{"partial-on-pkesk", cat([]byte{0xC1, 0xE9}, g.rnd(512), []byte{0}, data), CodePartialLength},
		{"partial-ok", cat(pk, []byte{0xC0 | 18, 0xE9}, g.seipd1(511), []byte{0xE0}, g.rnd(1), []byte{10}, g.rnd(10)), ""},
		{"partial-truncated", cat(pk, []byte{0xC0 | 18, 0xE9}, g.seipd1(511)), CodeTruncated},
		{"length-past-end", cat(pk, []byte{0xC0 | 18, 0xFF, 0, 1, 0, 0}, g.seipd1(100)), CodeTruncated},
		{"header-cut", cat(pk, []byte{0xC0 | 18, 0xFF, 0}), CodeTruncated},
		{"reserved-tag-0", cat([]byte{0xC0, 1, 0}, pk, data), CodeUnknownPacket},
		{"trust-tag-12", cat(pkt(12, []byte{1}), pk, data), CodeUnknownPacket},
		{"mdc-tag-19", cat(pk, pkt(19, g.rnd(20)), data), CodeUnknownPacket},
		{"literal", cat(pk, data, pkt(11, []byte("b\x00\x00\x00\x00\x00hello"))), CodeTrailingData},
		{"literal-first", cat(pkt(11, []byte("b\x00\x00\x00\x00\x00hello")), pk, data), CodeLiteral},
		// R-S
		{"no-esk", data, CodeNoESK},
		{"empty", nil, CodeNoDataPacket},
		{"two-data", cat(pk, data, data), CodeTrailingData},
		{"esk-after-data", cat(pk, data, pk), CodeTrailingData},
		{"marker-after-data", cat(pk, data, pkt(10, []byte("PGP"))), CodeTrailingData},
		{"marker-wrong", cat(pkt(10, []byte("PGQ")), pk, data), CodeBadMarker},
		{"two-markers", cat(pkt(10, []byte("PGP")), pkt(10, []byte("PGP")), pk, data), CodeTooManyMarkers},
		{"v6-pkesk-seipd1", cat(pkt(1, g.pkeskV6(false)), data), CodeVersionMismatch},
		{"v3-pkesk-seipd2", cat(pk, pkt(18, g.seipd2(100, 0))), CodeVersionMismatch},
		{"v4-skesk-seipd2", cat(pkt(3, g.skeskV4()), pkt(18, g.seipd2(100, 0))), CodeVersionMismatch},
		{"v5-skesk-seipd1", cat(pkt(3, g.skeskV5()), data), CodeVersionMismatch},
		{"v6-skesk-tag20", cat(pkt(3, g.skeskV6()), pkt(20, g.aead20(100, 0))), CodeVersionMismatch},
		// R-F
		{"pkesk-v4", cat(pkt(1, append([]byte{4}, g.pkeskV3()[1:]...)), data), CodeBadPKESK},
		{"pkesk-sign-only-algo", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{17, 0, 8, 0x80})), data), CodeBadPKESK},
		{"pkesk-trailing-octet", cat(pkt(1, append(g.pkeskV3(), 0)), data), CodeBadPKESK},
		{"pkesk-ecdh-size-ff", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{18, 0, 8, 0x40, 0xFF})), data), CodeBadPKESK},
		{"pkesk-mpi-zero-bits", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{1, 0, 0})), data), CodeBadPKESK},
		{"pkesk-mpi-overlong", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{1, 0, 9, 0xFF, 0xFF})), data), CodeBadPKESK},
		{"pkesk-v6-bad-fp-len", cat(pkt(1, cat([]byte{6, 20, 4}, g.rnd(19), []byte{25}, g.rnd(32), []byte{32}, g.rnd(32))), pkt(18, g.seipd2(100, 0))), CodeBadPKESK},
		{"pkesk-v6-elgamal", cat(pkt(1, cat([]byte{6, 0, 16, 0, 8, 0x80, 0, 8, 0x80})), pkt(18, g.seipd2(100, 0))), CodeBadPKESK},
		{"pkesk-rsa-text", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{1, 8, 0, 0xC5}, g.rnd(200), []byte(strings.Repeat("plain text in an MPI", 3)[:55]))), data), CodeFake},
		{"pkesk-rsa-2048", cat(pkt(1, rsaPKESK(g.rnd(255))), data), ""},
		{"pkesk-rsa-short-value", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{1, 1, 0}, g.rnd(32))), data), CodeBadPKESK},
		{"pkesk-elgamal-short-value", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{16, 0, 8, 0x80, 0, 8, 0x80})), data), CodeBadPKESK},
		{"pkesk-ecdh-no-curve", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{18, 0x01, 0x07, 0x04}, g.rnd(32), []byte{48}, g.rnd(48))), data), CodeBadPKESK},
		{"pkesk-ecdh-p256", cat(pkt(1, cat([]byte{3}, g.rnd(8), []byte{18, 0x02, 0x03, 0x04}, g.rnd(64), []byte{48}, g.rnd(48))), data), ""},
		// Issue 14: text with a NUL every 31 octets, under every run
		// limit and under the 512 octets of the byte-frequency test.
		{"pkesk-rsa-text-nul-every-31", cat(pkt(1, rsaPKESK(nulEvery31(255))), data), CodeFake},
		{"pkesk-x25519-text-pieces", cat(pkt(1, x25519Text(0)), pkt(1, x25519Text(1)), data), CodeFake},
		{"pkesk-x25519-two-random", cat(pkt(1, g.pkeskV3X25519(9)), pkt(1, g.pkeskV3X25519(9)), data), ""},
		{"pkesk-rsa-zlib", cat(pkt(1, rsaPKESK(zlibbed(t, 255))), data), CodeFake},
		{"skesk-v4-unknown-cipher", cat(pkt(3, []byte{4, 5, 3, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0xE0}), data), CodeBadSKESK},
		{"skesk-v4-gnu-dummy", cat(pkt(3, []byte{4, 9, 101, 2, 'G', 'N', 'U', 1}), data), CodeBadSKESK},
		{"skesk-v4-simple-with-key", cat(pkt(3, cat([]byte{4, 9, 0, 8}, g.rnd(33))), data), CodeBadSKESK},
		{"skesk-v4-simple", cat(pkt(3, []byte{4, 9, 0, 8}), data), ""},
		{"skesk-v4-short-key", cat(pkt(3, cat(g.skeskV4(), g.rnd(5))), data), CodeBadSKESK},
		{"skesk-v4-unknown-hash", cat(pkt(3, cat([]byte{4, 9, 3, 99}, g.rnd(8), []byte{0xE0})), data), CodeBadSKESK},
		{"skesk-v6-bad-count", cat(pkt(3, func() []byte { b := g.skeskV6(); b[1]++; return b }()), pkt(18, g.seipd2(100, 0))), CodeBadSKESK},
		{"skesk-v6-cast5", cat(pkt(3, func() []byte { b := g.skeskV6(); b[2] = 3; return b }()), pkt(18, g.seipd2(100, 0))), CodeBadSKESK},
		{"skesk-v6-argon2-p0", cat(pkt(3, func() []byte { b := g.skeskV6(); b[5+18] = 0; return b }()), pkt(18, g.seipd2(100, 0))), CodeBadSKESK},
		{"skesk-v7", cat(pkt(3, []byte{7, 9}), data), CodeBadSKESK},
		{"seipd1-too-short", cat(pk, pkt(18, g.seipd1(20))), CodeBadSEIPD},
		{"seipd-empty", cat(pk, pkt(18, nil)), CodeBadSEIPD},
		{"seipd2-bad-length", cat(pkt(1, g.pkeskV6(true)), pkt(18, cat([]byte{2, 9, 2, 0}, g.rnd(32), g.rnd(100)))), CodeBadSEIPD},
		{"seipd2-chunk-17", cat(pkt(1, g.pkeskV6(true)), pkt(18, func() []byte { b := g.seipd2(100, 0); b[3] = 17; return b }())), CodeBadSEIPD},
		{"seipd2-cast5", cat(pkt(1, g.pkeskV6(true)), pkt(18, func() []byte { b := g.seipd2(100, 0); b[1] = 3; return b }())), CodeBadSEIPD},
		{"seipd2-short-header", cat(pkt(1, g.pkeskV6(true)), pkt(18, []byte{2, 9, 2, 0})), CodeBadSEIPD},
		{"tag20-version-7", cat(pk, pkt(20, func() []byte { b := g.aead20(100, 0); b[0] = 7; return b }())), CodeBadAEADPacket},
		{"tag20-gcm", cat(pk, pkt(20, func() []byte { b := g.aead20(100, 0); b[2] = 3; return b }())), CodeBadAEADPacket},
		{"tag20-bad-length", cat(pk, pkt(20, cat([]byte{1, 9, 2, 0}, g.rnd(15), g.rnd(100)))), CodeBadAEADPacket},
		// R-H1
		{"seipd1-text", cat(pk, pkt(18, cat([]byte{1}, []byte(strings.Repeat("This is not ciphertext at all. ", 4))))), CodeFake},
		{"seipd1-utf16", cat(pk, pkt(18, cat([]byte{1}, bytes.Repeat([]byte{'a', 0, 'b', 0, '\n', 0, 0xe9, 0}, 100)))), CodeFake},
		{"seipd1-text-nul-every-31", cat(pk, pkt(18, cat([]byte{1}, nulEvery31(388)))), CodeFake},
		{"seipd1-text-64", cat(pk, pkt(18, cat([]byte{1}, nulEvery31(64)))), CodeFake},
		{"seipd1-random-64", cat(pk, pkt(18, g.seipd1(64))), ""},
		{"seipd1-zlib-text", cat(pk, pkt(18, cat([]byte{1}, zlibbed(t, 0), g.rnd(20)))), CodeFake},
		{"seipd1-gzip-text", cat(pk, pkt(18, cat([]byte{1}, gzipped(t)))), CodeFake},
		{"seipd1-zstd-magic", cat(pk, pkt(18, cat([]byte{1, 0x28, 0xb5, 0x2f, 0xfd, 0x20}, g.rnd(100)))), CodeFake},
		{"seipd1-xz-magic", cat(pk, pkt(18, cat([]byte{1, 0xfd, '7', 'z', 'X', 'Z', 0}, g.rnd(100)))), CodeFake},
		{"seipd1-bzip2-magic", cat(pk, pkt(18, cat([]byte{1}, []byte("BZh91AY&SY"), g.rnd(100)))), CodeFake},
		{"seipd1-zlib-header-random", cat(pk, pkt(18, cat([]byte{1, 0x78, 0x9c}, g.rnd(200)))), ""},
		{"seipd2-zeros", cat(pkt(1, g.pkeskV6(true)), pkt(18, cat([]byte{2, 9, 2, 0}, g.rnd(32), make([]byte, aeadLen(100, 0))))), CodeFake},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := encode(c.raw, true)
			wantCode(t, body, DefaultPolicy(), c.code)
			// Canonicalize applies the same packet rules.
			_, err := Canonicalize(body, CanonOptions{Policy: DefaultPolicy(), Anonymize: true})
			if (err == nil) != (c.code == "") {
				t.Fatalf("Canonicalize: %v", err)
			}
		})
	}
}

func TestArmorRules(t *testing.T) {
	g := newGen()
	good := string(bytes.ReplaceAll(encode(cat(pkt(1, g.pkeskV3()), pkt(18, g.seipd1(200))), true), []byte("\r\n"), []byte("\n")))
	lines := strings.Split(good, "\n") // BEGIN, "", data..., =CRC, END, ""
	n := len(lines)
	with := func(f func(l []string) []string) string {
		l := append([]string{}, lines...)
		return strings.Join(f(l), "\n")
	}
	cases := []struct {
		name, body, code string
	}{
		{"good", good, ""},
		{"leading-blank-lines", "\n\r\n" + good, ""},
		{"no-final-newline", strings.TrimSuffix(good, "\n"), ""},
		{"no-crc", with(func(l []string) []string { return append(l[:n-3], l[n-2:]...) }), ""},
		{"mixed-line-endings", strings.Replace(good, "\n", "\r\n", 3), ""},
		{"varying-widths", with(func(l []string) []string {
			return append(l[:2], append([]string{l[2][:30], l[2][30:]}, l[3:]...)...)
		}), ""},
		{"bare-cr-in-data", with(func(l []string) []string { l[3] = l[3][:10] + "\r" + l[3][11:]; return l }), CodeBareCR},
		{"bare-cr-begin", strings.Replace(good, "MESSAGE-----\n\n", "MESSAGE-----\rX\n\n", 1), CodeBareCR},
		{"tab", with(func(l []string) []string { l[3] = l[3][:10] + "\t" + l[3][11:]; return l }), CodeNonASCII},
		{"nul", with(func(l []string) []string { l[3] = l[3][:10] + "\x00" + l[3][11:]; return l }), CodeNonASCII},
		{"two-blank-lines", strings.Replace(good, "-----\n\n", "-----\n\n\n", 1), CodeBlankLine},
		{"blank-line-in-data", with(func(l []string) []string { return append(l[:4], append([]string{""}, l[4:]...)...) }), CodeBlankLine},
		{"whitespace-blank-line", strings.Replace(good, "-----\n\n", "-----\n \n", 1), CodeWhitespace},
		{"trailing-space", with(func(l []string) []string { l[3] += " "; return l }), CodeWhitespace},
		{"trailing-space-end", with(func(l []string) []string { l[n-2] += " "; return l }), CodeWhitespace},
		{"header-version", strings.Replace(good, "-----\n\n", "-----\nVersion: x\n\n", 1), CodeArmorHeader},
		{"begin-suffix", strings.Replace(good, "MESSAGE-----\n\n", "MESSAGE----- please\n\n", 1), CodeArmorLabel},
		{"line-77", with(func(l []string) []string { l[2] = l[2] + l[3][:13]; l[3] = l[3][13:]; return l }), CodeLineLength},
		{"bad-crc", with(func(l []string) []string { l[n-3] = "=AAAA"; return l }), CodeChecksum},
		{"crc-wrong-length", with(func(l []string) []string { l[n-3] += "A"; return l }), CodeChecksum},
		{"crc-bad-chars", with(func(l []string) []string { l[n-3] = "=AA*A"; return l }), CodeChecksum},
		{"text-after-crc", with(func(l []string) []string { l[n-2] = "sent from my phone"; return l }), CodeArmorEnd},
		{"mismatched-end", with(func(l []string) []string { l[n-2] = "-----END PGP SIGNATURE-----"; return l }), CodeArmorEnd},
		{"missing-end", with(func(l []string) []string { return l[:n-2] }), CodeArmorEnd},
		{"missing-end-no-crc", with(func(l []string) []string { return l[:n-3] }), CodeArmorEnd},
		{"only-begin", "-----BEGIN PGP MESSAGE-----\n", CodeArmorEnd},
		{"no-data", "-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n", CodeNoDataPacket},
		{"padding-mid-stream", with(func(l []string) []string { l[3] = l[3][:62] + "=="; return l }), CodeBase64},
		{"spaces-only-after", good + "  \n", CodeWhitespace},
		{"only-blank-lines", "\n\n\r\n", CodeEmptyBody},
		{"no-armor-at-all", "Hi Bob,\n\nsee you at noon.\n", CodeNoArmor},
		{"text-then-armor", "Hi Bob,\n" + good, CodeTextBefore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, []byte(c.body), DefaultPolicy(), c.code)
		})
	}
}

// TestScreenLimits: what the screen cannot close without a key passes it
// (docs/gate.md, "Screen, not a proof"). If one of these is refused one
// day, move it to TestPacketRules and update the document.
func TestScreenLimits(t *testing.T) {
	g := newGen()
	pk := pkt(1, g.pkeskV3())
	text := []byte(strings.Repeat("This is the plain text of a message. ", 20))
	key := g.rnd(len(text))
	xored := make([]byte, len(text))
	for i := range text {
		xored[i] = text[i] ^ key[i]
	}
	for name, data := range map[string][]byte{
		"text-xor-public-keystream": xored,
		"zlib-after-one-octet":      cat([]byte{0x17}, zlibbed(t, 0), g.rnd(64)),
		"short-text-under-64":       cat([]byte("attack at dawn, bring the maps"), g.rnd(20)),
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, encode(cat(pk, pkt(18, cat([]byte{1}, data))), true), DefaultPolicy(), "")
		})
	}
}

// TestScreenRandomShortRegions: random regions of every short size pass
// the frequency tests (the false-positive side of the nibble test).
func TestScreenRandomShortRegions(t *testing.T) {
	g := newGen()
	for n := nibbleMinBytes; n < chiMinBytes; n++ {
		for k := 0; k < 40; k++ {
			if why := screen(g.rnd(n), true); why != "" {
				t.Fatalf("%d random octets: %s", n, why)
			}
		}
	}
}
