package nntp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"io"
	"math/rand"
	"testing"
	"time"
)

// inflateAll decodes a whole stream with our inflater.
func inflateAll(data []byte) ([]byte, error) {
	return io.ReadAll(newInflater(bufio.NewReader(bytes.NewReader(data))))
}

// deflated compresses parts with compress/flate at level, flushing (a
// sync flush) after each part.
func deflated(t testing.TB, level int, parts ...[]byte) []byte {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		zw.Write(p)
		zw.Flush()
	}
	zw.Close()
	return buf.Bytes()
}

func TestInflaterMatchesFlate(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	random := make([]byte, 200<<10)
	rnd.Read(random)
	armor := []byte(base64.StdEncoding.EncodeToString(random[:100<<10]))
	repeats := bytes.Repeat([]byte("222 0 <a@b> body\r\nabcabcabc\r\n.\r\n"), 5000)
	inputs := map[string][]byte{
		"empty": {}, "one": {'x'}, "random": random, "armor": armor, "repeats": repeats,
	}
	for name, in := range inputs {
		for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
			// Whole, and in parts of odd sizes with a flush after each.
			var parts [][]byte
			for rest := in; len(rest) > 0; {
				n := min(len(rest), 1+rnd.Intn(40<<10))
				parts, rest = append(parts, rest[:n]), rest[n:]
			}
			for _, stream := range [][]byte{deflated(t, level, in), deflated(t, level, parts...)} {
				got, err := inflateAll(stream)
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%s at level %d: %d bytes of %d, %v", name, level, len(got), len(in), err)
				}
			}
		}
	}
}

// bitWriter writes DEFLATE bits, low bit first.
type bitWriter struct {
	out  []byte
	bits uint64
	nb   uint
}

func (w *bitWriter) put(v uint64, n uint) {
	w.bits |= v << w.nb
	w.nb += n
	for w.nb >= 8 {
		w.out = append(w.out, byte(w.bits))
		w.bits >>= 8
		w.nb -= 8
	}
}

// putCode writes a Huffman code, most significant bit first.
func (w *bitWriter) putCode(code uint64, n uint) {
	w.put(uint64(reverseBits(int(code), n)), n)
}

// fixedBlock writes text (bytes below 144) as a fixed Huffman block, then
// an empty fixed block as zlib's partial flush (Z_PARTIAL_FLUSH) does:
// the data block's end is then in whole bytes, the empty block's last
// bits are not.
func (w *bitWriter) fixedBlock(text string) {
	w.put(0b010, 3) // not final, fixed
	for _, c := range []byte(text) {
		w.putCode(0x30+uint64(c), 8)
	}
	w.putCode(0, 7) // end of block
	w.put(0b010, 3)
	w.putCode(0, 7)
}

// take returns the whole bytes written so far.
func (w *bitWriter) take() []byte {
	b := w.out
	w.out = nil
	return b
}

// TestInflaterPartialFlush: an answer ended by a partial flush (as INN's
// nnrpd sends) is handed out before any more bytes arrive; compress/flate
// would wait for them.
func TestInflaterPartialFlush(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	zr := newInflater(bufio.NewReader(pr))
	var w bitWriter
	for _, answer := range []string{"111 20261204180721\r\n", "211 3 1 3 alt.crypt.messages\r\n", "205 Bye\r\n"} {
		w.fixedBlock(answer)
		go pw.Write(w.take())
		got := make([]byte, len(answer))
		done := make(chan error, 1)
		go func() { _, err := io.ReadFull(zr, got); done <- err }()
		select {
		case err := <-done:
			if err != nil || string(got) != answer {
				t.Fatalf("got %q, %v; want %q", got, err, answer)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("answer %q not handed out after its block ended", answer)
		}
	}
}

func TestInflaterRefusesCorrupt(t *testing.T) {
	good := deflated(t, flate.BestSpeed, []byte("hello, hello, hello"))
	var far bitWriter // fixed: a copy of 3 bytes from before the start
	far.put(0b011, 3)
	far.putCode(1, 7)
	far.putCode(0, 5)
	far.putCode(0, 7)
	far.put(0, 7)
	for name, data := range map[string][]byte{
		"reserved block type": {0b111},
		"stored length":       {0b001, 5, 0, 5, 0},
		"truncated":           good[:len(good)/2],
		"far back-reference":  far.take(),
	} {
		if _, err := inflateAll(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzInflater: on any input, what our inflater decodes is what
// compress/flate decodes, and a stream compress/flate decodes whole, ours
// does too.
func FuzzInflater(f *testing.F) {
	f.Add(deflated(f, flate.BestSpeed, []byte("222 0 <a@b>\r\nbody\r\n.\r\n")))
	f.Add(deflated(f, flate.HuffmanOnly, []byte("AAAABBBC")))
	f.Add(deflated(f, flate.NoCompression, []byte("stored")))
	f.Add(deflated(f, flate.BestCompression, bytes.Repeat([]byte("abc"), 300)))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), 1<<20))
		got, gerr := io.ReadAll(io.LimitReader(newInflater(bufio.NewReader(bytes.NewReader(data))), 1<<20))
		if werr == nil && (gerr != nil || !bytes.Equal(got, want)) {
			t.Fatalf("compress/flate: %d bytes; ours: %d bytes, %v", len(want), len(got), gerr)
		}
		if gerr == nil && len(got) < 1<<20 && !bytes.Equal(got, want) {
			t.Fatalf("ours decoded %d bytes, compress/flate %d (%v)", len(got), len(want), werr)
		}
		if gerr != nil && !errors.Is(gerr, errCorrupt) && !errors.Is(gerr, io.ErrUnexpectedEOF) {
			t.Fatalf("unexpected error %v", gerr)
		}
	})
}

// BenchmarkInflate decodes armor-like text (base64 lines) compressed at
// the server's level, with our inflater and with compress/flate:
//
//	go test -run '^$' -bench Inflate ./nntp/
func BenchmarkInflate(b *testing.B) {
	rnd := rand.New(rand.NewSource(1))
	raw := make([]byte, 3<<20)
	rnd.Read(raw)
	var text bytes.Buffer
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 0 {
		n := min(64, len(enc))
		text.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	stream := deflated(b, compressLevel, text.Bytes())
	for _, r := range []struct {
		name string
		new  func(io.Reader) io.Reader
	}{
		{"ours", func(r io.Reader) io.Reader { return newInflater(bufio.NewReader(r)) }},
		{"compress-flate", func(r io.Reader) io.Reader { return flate.NewReader(r) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(text.Len()))
			for i := 0; i < b.N; i++ {
				if _, err := io.Copy(io.Discard, r.new(bytes.NewReader(stream))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
