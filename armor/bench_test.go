package armor

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchMessage builds a valid armored message (LF lines, 64 columns, CRC, as
// gpg writes it) of about size bytes: a v3 ECDH PKESK and a v1 SEIPD of
// random octets, with gpg-like 8 KiB partial chunks when it is large.
func benchMessage(size int) []byte {
	r := rand.New(rand.NewPCG(uint64(size), 7))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	var raw []byte
	// PKESK: v3, key ID, ECDH, MPI of 263 bits (0x40 || 32 octets), 48-octet wrapped key.
	pk := append([]byte{3}, rnd(8)...)
	pk = append(pk, 18, 0x01, 0x07, 0x40)
	pk = append(pk, rnd(32)...)
	pk = append(pk, 48)
	pk = append(pk, rnd(48)...)
	raw = append(raw, 0x84, byte(len(pk)))
	raw = append(raw, pk...)
	n := size*3/4 - len(raw) - 200 // leave room for the armor
	body := append([]byte{1}, rnd(n)...)
	if len(body) < 8192+512 {
		raw = appendHeader(raw, false, tagSEIPD, len(body))
		raw = append(raw, body...)
	} else {
		raw = append(raw, 0xC0|tagSEIPD)
		for len(body) > 8192 {
			raw = append(raw, 0xE0|13) // partial chunk of 8192 octets
			raw = append(raw, body[:8192]...)
			body = body[8192:]
		}
		// The last chunk has a definite length: the header without its tag octet.
		raw = append(raw, appendHeader(nil, false, tagSEIPD, len(body))[1:]...)
		raw = append(raw, body...)
	}
	return bytes.ReplaceAll(encode(raw, true), []byte("\r\n"), []byte("\n"))
}

var benchSizes = []int{4 << 10, 64 << 10, 1 << 20}

func benchPolicy() Policy {
	p := DefaultPolicy()
	p.MaxBodySize = 2 << 20
	return p
}

func TestBenchMessagesValid(t *testing.T) {
	for _, size := range benchSizes {
		msg := benchMessage(size)
		v, err := Check(msg, benchPolicy())
		if err != nil {
			t.Fatalf("%d: %v", size, err)
		}
		if size > 8192 && !v.PartialLengths {
			t.Fatalf("%d: no partial lengths", size)
		}
		if _, err := Canonicalize(msg, CanonOptions{Policy: benchPolicy()}); err != nil {
			t.Fatalf("%d: %v", size, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, size := range benchSizes {
		msg := benchMessage(size)
		p := benchPolicy()
		b.Run(fmt.Sprintf("%dK", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Check(msg, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBase64 is the baseline: Go's decoder alone over the same inputs,
// once over the armored data lines as they are (the decoder skips the line
// breaks, as Check uses it) and once over the same base64 without breaks.
func BenchmarkBase64(b *testing.B) {
	for _, size := range benchSizes {
		msg := benchMessage(size)
		start := bytes.Index(msg, []byte("\n\n")) + 2
		end := bytes.Index(msg, []byte("\n=")) + 1
		lines := msg[start:end]
		flat := bytes.ReplaceAll(lines, []byte("\n"), nil)
		dst := make([]byte, len(lines))
		for _, in := range []struct {
			name string
			src  []byte
		}{{"lines", lines}, {"flat", flat}} {
			b.Run(fmt.Sprintf("%dK/%s", size>>10, in.name), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := base64.StdEncoding.Decode(dst, in.src); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	msg := benchMessage(64 << 10)
	opt := CanonOptions{Policy: benchPolicy(), Anonymize: true}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(msg, opt); err != nil {
			b.Fatal(err)
		}
	}
}
