package e2e

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"strings"
	"testing"

	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
)

// pgpPacket frames body as a new-format OpenPGP packet of tag (RFC 9580 §4.2).
func pgpPacket(tag byte, body []byte) []byte {
	out := []byte{0xC0 | tag}
	switch n := len(body); {
	case n < 192:
		out = append(out, byte(n))
	case n < 8384:
		n -= 192
		out = append(out, byte(n>>8)+192, byte(n))
	default:
		out = append(out, 0xFF, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}

func randomOctets(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// armored is the packets in an armored PGP MESSAGE.
func armored(t *testing.T, packets ...[]byte) []byte {
	var b bytes.Buffer
	w, err := pgparmor.Encode(&b, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		w.Write(p)
	}
	w.Close()
	b.WriteString("\n")
	return b.Bytes()
}

// TestPostSmallPlaintextRefused: the small plaintexts of issue 14, which
// the screen let through into the store, are refused at POST on every
// store (docs/gate.md, "Screen, not a proof").
func TestPostSmallPlaintextRefused(t *testing.T) {
	text := []byte(strings.Repeat("Meet me at the old mill at nine, bring the papers and tell no one. ", 7))
	for i := 30; i < len(text); i += 31 {
		text[i] = 0 // no run of 32 printable characters
	}
	text = text[:388]
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(strings.Repeat("the shipment leaves pier 7 at nine; ask for Marek.\n", 8)))
	zw.Close()
	x25519 := pgpPacket(1, append(append(append([]byte{3}, make([]byte, 8)...), 25), append(append(randomOctets(32), 33, 9), randomOctets(32)...)...))
	cases := map[string][]byte{
		"text with a NUL every 31 octets": armored(t, x25519, pgpPacket(18, append([]byte{1}, text...))),
		"zlib-compressed text":            armored(t, x25519, pgpPacket(18, append(append([]byte{1}, z.Bytes()...), randomOctets(40)...))),
		"text in an RSA session key":      armored(t, pgpPacket(1, append(append(append([]byte{3}, make([]byte, 8)...), 1, 8, 0, 0xC5), text[:255]...)), pgpPacket(18, append([]byte{1}, randomOctets(200)...))),
		"random stand-in for ciphertext":  armored(t, x25519, pgpPacket(18, append([]byte{1}, randomOctets(388)...))),
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		srv := startServer(t, k.open(t), nil)
		c := dial(t, srv.Addr)
		ctx := context.Background()
		for name, body := range cases {
			err := c.Post(ctx, postArticle("x", body))
			if name == "random stand-in for ciphertext" {
				if err != nil {
					t.Errorf("%s: %v (the screen cannot tell it from ciphertext)", name, err)
				}
				continue
			}
			if nntpCode(err) != 441 || !strings.Contains(err.Error(), "fake-ciphertext") && !strings.Contains(err.Error(), "bad-pkesk") {
				t.Errorf("%s: %v, want 441 fake-ciphertext or bad-pkesk", name, err)
			}
		}
		waitCount(t, srv.Store, 1)
		if g, err := c.Group(ctx, group); err != nil || g.Count != 1 {
			t.Errorf("group after the posts: %+v %v", g, err)
		}
	})
}
