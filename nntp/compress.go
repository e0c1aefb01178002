package nntp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
)

// COMPRESS DEFLATE (RFC 8054): after 206 both directions carry one raw
// DEFLATE stream each, flushed (a sync flush) whenever the writer flushes,
// so every response and command batch can be decoded as it arrives. Pool
// articles are base64 armor: DEFLATE gives back about a quarter of it.

// DefaultMaxCompressed is how many connections may have COMPRESS active
// at once when Server.MaxCompressed is zero: each holds about 1 MiB of
// compressor state.
const DefaultMaxCompressed = 64

// compressLevel trades CPU for bytes. On pool articles (base64 armor and
// the lines around it) compress/flate's level 1 is no better than Huffman
// coding alone (0.79 of the bytes); level 2 finds the repeats (0.73, and
// 0.78 of the body bytes with OVER and status lines on a sync), and
// higher levels find nothing more for twice the CPU.
const compressLevel = 2

// syncFlushWriter compresses into w and flushes the DEFLATE stream after
// every write: the bufio.Writer above it writes only when it is full or
// flushed, and what it flushes must reach the peer whole.
type syncFlushWriter struct{ zw *flate.Writer }

func (s syncFlushWriter) Write(p []byte) (int, error) {
	n, err := s.zw.Write(p)
	if err == nil {
		err = s.zw.Flush()
	}
	return n, err
}

// inflateAfter returns a reader of the DEFLATE stream that starts with
// what br has already buffered (the peer may have sent it right after the
// command) and goes on with r. It hands out each answer as soon as its
// block ends (see inflater).
func inflateAfter(br *bufio.Reader, r io.Reader) io.Reader {
	rest, _ := br.Peek(br.Buffered())
	return newInflater(bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(rest)), r), 16<<10))
}

func (s *Server) compressAvailable() bool { return s.MaxCompressed >= 0 }

func (s *Server) maxCompressed() int64 {
	return int64(orInt(s.MaxCompressed, DefaultMaxCompressed))
}

// cmdCompress serves COMPRESS (RFC 8054 section 2.2).
func cmdCompress(c *conn, r request) error {
	switch {
	case len(r.args) != 1:
		c.reply(501, "Syntax: COMPRESS DEFLATE")
		return nil
	case !c.srv.compressAvailable():
		c.reply(502, "COMPRESS not available")
		return nil
	case c.compressed:
		// Go's TLS never negotiates TLS-level compression, so this is
		// the one way compression can already be active.
		c.reply(502, "Compression already active")
		return nil
	case !strings.EqualFold(r.args[0], "DEFLATE"):
		c.reply(503, "Only DEFLATE is supported")
		return nil
	}
	if c.srv.compressedConns.Add(1) > c.srv.maxCompressed() {
		c.srv.compressedConns.Add(-1)
		c.reply(403, "Unable to activate compression: too many compressed connections")
		return nil
	}
	c.compressed = true
	c.reply(206, "Compression active")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	zw, err := flate.NewWriter(c.dc, compressLevel)
	if err != nil {
		return err
	}
	c.br = bufio.NewReaderSize(inflateAfter(c.br, c.dc), 8<<10)
	c.bw.Reset(syncFlushWriter{zw})
	return nil
}

// errBomb is a compressed stream that inflates far beyond any real answer.
var errBomb = errors.New("nntp: decompression bomb")

// Limits of the client's inflation of one answer: bombSlack bytes, then
// bombRatio times what arrived compressed. Base64 armor inflates by about
// 1.3, text by up to 10; only a crafted stream comes near 100.
const (
	bombSlack = 1 << 20
	bombRatio = 100
)

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bombGuard fails a read once the inflated bytes of the current answer
// pass the limits. reset starts a new answer.
type bombGuard struct {
	zr       io.Reader
	in       *countingReader
	out      int64
	inAtZero int64
}

func (g *bombGuard) reset() { g.out, g.inAtZero = 0, g.in.n }

func (g *bombGuard) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	g.out += int64(n)
	if in := g.in.n - g.inAtZero; g.out > bombSlack+bombRatio*in {
		return n, fmt.Errorf("%w: %d bytes from %d compressed", errBomb, g.out, in)
	}
	return n, err
}
