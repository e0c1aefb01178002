package nntp

import (
	"bufio"
	"errors"
	"io"
)

// inflater decodes a raw DEFLATE stream (RFC 1951) and hands out what it
// has decoded at the end of every block. compress/flate does not: after a
// Huffman block it reads on into the next block's header before it
// returns anything, so it gives data out only at a sync flush (an empty
// stored block) or when its window is full. INN's nnrpd ends each answer
// with a partial flush (an empty fixed block, not byte-aligned), and
// compress/flate then holds the answer until more bytes arrive: a client
// waiting for it never gets it. This decoder reads a byte only when the
// symbol it is decoding needs it, and returns at every block end, so an
// answer is read as soon as its last byte has arrived, however the peer
// flushed.
type inflater struct {
	r   *bufio.Reader
	err error

	bits uint64 // read and not yet used, low bit first
	nb   uint

	hist []byte // decoded: history for back-references, then unread output
	rpos int    // hist[rpos:] is unread

	state   int // stateHeader, stateStored, stateHuffman
	final   bool
	stored  int // bytes left in a stored block
	lit     huffman
	dist    huffman
	copyLen int // a back-reference not yet copied
	copyDst int
}

const (
	stateHeader = iota
	stateStored
	stateHuffman
	stateEnd
)

const (
	windowSize = 32 << 10
	// outChunk is how much decoded output triggers a return in the
	// middle of a block: memory stays bounded, and the bomb guard above
	// sees every chunk.
	outChunk = 32 << 10
	maxBits  = 15
	fastBits = 10
)

var errCorrupt = errors.New("nntp: corrupt DEFLATE stream")

// huffman is a canonical Huffman code: a table of the codes of up to
// fastBits bits, and the counts and symbols for the longer ones.
type huffman struct {
	fast    [1 << fastBits]uint16 // symbol<<4 | length; 0: longer code
	count   [maxBits + 1]uint16
	symbols [288]uint16
	maxLen  uint
}

func newInflater(r *bufio.Reader) *inflater {
	return &inflater{r: r, hist: make([]byte, 0, 2*windowSize+outChunk+258)}
}

// build makes the code from the lengths of the symbols; it refuses
// over-subscribed codes and incomplete ones, unless incomplete is allowed
// (the fixed distance code has 30 of 32 codes).
func (h *huffman) build(lengths []uint8, incomplete bool) error {
	h.count = [maxBits + 1]uint16{}
	h.maxLen = 0
	for _, l := range lengths {
		h.count[l]++
		h.maxLen = max(h.maxLen, uint(l))
	}
	h.count[0] = 0
	left := 1
	for l := 1; l <= maxBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return errCorrupt
		}
	}
	var offs [maxBits + 2]uint16
	for l := 1; l <= maxBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	// Incomplete codes only as RFC 1951 and zlib allow them: none, or
	// one code of one bit.
	if total := offs[maxBits+1]; left > 0 && !incomplete && total > 0 && !(total == 1 && h.maxLen == 1) {
		return errCorrupt
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbols[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.fast = [1 << fastBits]uint16{}
	code := 0
	idx := 0
	for l := uint(1); l <= fastBits && l <= h.maxLen; l++ {
		for i := 0; i < int(h.count[l]); i++ {
			sym := h.symbols[idx]
			idx++
			rev := reverseBits(code, l)
			for j := rev; j < 1<<fastBits; j += 1 << l {
				h.fast[j] = sym<<4 | uint16(l)
			}
			code++
		}
		code <<= 1
	}
	return nil
}

func reverseBits(code int, n uint) int {
	r := 0
	for i := uint(0); i < n; i++ {
		r = r<<1 | code&1
		code >>= 1
	}
	return r
}

// need makes n bits available: what is buffered already, and then only
// the bytes it must wait for.
func (f *inflater) need(n uint) error {
	for f.nb <= 56 && f.r.Buffered() > 0 {
		b, _ := f.r.ReadByte()
		f.bits |= uint64(b) << f.nb
		f.nb += 8
	}
	for f.nb < n {
		b, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		f.bits |= uint64(b) << f.nb
		f.nb += 8
	}
	return nil
}

func (f *inflater) take(n uint) (int, error) {
	if err := f.need(n); err != nil {
		return 0, err
	}
	v := int(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nb -= n
	return v, nil
}

// decode reads one symbol of h, waiting for no byte it does not need.
func (f *inflater) decode(h *huffman) (int, error) {
	if f.nb < maxBits {
		if err := f.need(0); err != nil {
			return 0, err
		}
	}
	for {
		e := h.fast[f.bits&(1<<fastBits-1)]
		if n := uint(e & 15); n != 0 && n <= f.nb {
			f.bits >>= n
			f.nb -= n
			return int(e >> 4), nil
		}
		if e == 0 && f.nb >= fastBits || f.nb >= h.maxLen {
			break
		}
		if err := f.need(f.nb + 1); err != nil {
			return 0, err
		}
	}
	// A code longer than the table: canonical decoding, bit by bit.
	code, first, index := 0, 0, 0
	for l := uint(1); l <= maxBits; l++ {
		if err := f.need(l); err != nil {
			return 0, err
		}
		code |= int(f.bits>>(l-1)) & 1
		count := int(h.count[l])
		if code-first < count {
			f.bits >>= l
			f.nb -= l
			return int(h.symbols[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errCorrupt
}

var fixedLit, fixedDist huffman

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l[:], false)
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:], true)
}

var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// Read returns decoded bytes: what is decoded as soon as a block ends,
// or outChunk bytes within a long block.
func (f *inflater) Read(p []byte) (int, error) {
	for f.rpos == len(f.hist) {
		if f.err != nil {
			return 0, f.err
		}
		if f.err = f.step(); f.err == io.EOF && f.rpos < len(f.hist) {
			break
		}
	}
	n := copy(p, f.hist[f.rpos:])
	f.rpos += n
	return n, nil
}

// slide drops history that neither a back-reference nor the reader needs.
func (f *inflater) slide() {
	keep := min(f.rpos, len(f.hist)-windowSize)
	if keep <= 0 || len(f.hist)+outChunk+258 <= cap(f.hist) {
		return
	}
	n := copy(f.hist, f.hist[keep:])
	f.hist = f.hist[:n]
	f.rpos -= keep
}

// step decodes until a block ends or outChunk bytes are out, and
// returns io.EOF after the final block.
func (f *inflater) step() error {
	f.slide()
	start := len(f.hist)
	for len(f.hist)-start < outChunk {
		switch f.state {
		case stateEnd:
			return io.EOF
		case stateHeader:
			if err := f.header(); err != nil {
				return err
			}
			if f.state == stateHeader {
				return nil // an empty stored block ended: a sync flush
			}
		case stateStored:
			n := min(f.stored, outChunk)
			for range n {
				if f.nb >= 8 {
					f.hist = append(f.hist, byte(f.bits))
					f.bits >>= 8
					f.nb -= 8
					continue
				}
				b, err := f.r.ReadByte()
				if err != nil {
					return noEOF(err)
				}
				f.hist = append(f.hist, b)
			}
			f.stored -= n
			if f.stored == 0 {
				return f.endBlock()
			}
		case stateHuffman:
			done, err := f.huffmanBlock(start)
			if err != nil {
				return err
			}
			if done {
				return f.endBlock()
			}
		}
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (f *inflater) endBlock() error {
	if f.final {
		f.state = stateEnd
		return io.EOF
	}
	f.state = stateHeader
	return nil
}

func (f *inflater) header() error {
	h, err := f.take(3)
	if err != nil {
		return err
	}
	f.final = h&1 == 1
	switch h >> 1 {
	case 0:
		f.bits >>= f.nb % 8
		f.nb -= f.nb % 8
		v, err := f.take(32)
		if err != nil {
			return err
		}
		if uint16(v) != ^uint16(v>>16) {
			return errCorrupt
		}
		f.stored = v & 0xffff
		f.state = stateStored
		if f.stored == 0 {
			return f.endBlock() // an empty stored block: a sync flush
		}
	case 1:
		f.lit, f.dist = fixedLit, fixedDist
		f.state = stateHuffman
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.state = stateHuffman
	default:
		return errCorrupt
	}
	return nil
}

// dynamic reads the code lengths of a dynamic block and builds its codes.
func (f *inflater) dynamic() error {
	v, err := f.take(14)
	if err != nil {
		return err
	}
	nlit, ndist, nclen := v&31+257, v>>5&31+1, v>>10+4
	if nlit > 286 || ndist > 30 {
		return errCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		l, err := f.take(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(l)
	}
	var clh huffman
	if err := clh.build(cl[:], false); err != nil {
		return err
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlit+ndist; {
		sym, err := f.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			val = lengths[i-1]
			r, err := f.take(2)
			if err != nil {
				return err
			}
			rep = 3 + r
		case 17:
			r, err := f.take(3)
			if err != nil {
				return err
			}
			rep = 3 + r
		default:
			r, err := f.take(7)
			if err != nil {
				return err
			}
			rep = 11 + r
		}
		if i+rep > nlit+ndist {
			return errCorrupt
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errCorrupt // no end of block
	}
	if err := f.lit.build(lengths[:nlit], false); err != nil {
		return err
	}
	return f.dist.build(lengths[nlit:nlit+ndist], false)
}

// huffmanBlock decodes symbols until the block ends (done) or outChunk
// bytes since start are out.
func (f *inflater) huffmanBlock(start int) (done bool, err error) {
	for len(f.hist)-start < outChunk {
		if f.copyLen > 0 {
			f.copyBack()
			continue
		}
		sym, err := f.decode(&f.lit)
		if err != nil {
			return false, err
		}
		switch {
		case sym < 256:
			f.hist = append(f.hist, byte(sym))
			continue
		case sym == 256:
			return true, nil
		case sym > 285:
			return false, errCorrupt
		}
		sym -= 257
		e, err := f.take(uint(lenExtra[sym]))
		if err != nil {
			return false, err
		}
		length := int(lenBase[sym]) + e
		ds, err := f.decode(&f.dist)
		if err != nil {
			return false, err
		}
		if ds >= 30 {
			return false, errCorrupt
		}
		e, err = f.take(uint(distExtra[ds]))
		if err != nil {
			return false, err
		}
		dist := int(distBase[ds]) + e
		if dist > len(f.hist) || dist > windowSize {
			return false, errCorrupt
		}
		f.copyLen, f.copyDst = length, dist
	}
	return false, nil
}

// copyBack copies the pending back-reference (overlapping copies repeat).
func (f *inflater) copyBack() {
	n := f.copyLen
	from := len(f.hist) - f.copyDst
	for n > 0 {
		chunk := min(n, f.copyDst)
		f.hist = append(f.hist, f.hist[from:from+chunk]...)
		from += chunk
		n -= chunk
	}
	f.copyLen = 0
}
