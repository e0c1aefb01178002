package armor

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
)

// The R-H1 screen: cheap tests that catch bytes which sit where ciphertext
// goes but are obviously not random. It is a screen, not a proof: what it
// cannot close is in docs/gate.md ("screen, not a proof").
//
// The run tests look at every byte but probe only one position in runLen:
// any run of L equal-class bytes covers exactly one index ≡ L-1 (mod L), so
// probing those indices and extending around a hit finds every run of length
// ≥ L in about n/L steps. The byte-frequency test (chi-square over 256 bins)
// catches low-entropy data without long runs (UTF-16 text, short text lines,
// sparse tables) and runs on a bounded sample so its cost does not grow with
// the message.

const (
	printableRun = 32 // P(random run) ≈ (95/256)^32 ≈ 2·10⁻¹⁴ per offset
	identicalRun = 16 // P ≈ 256^-15 per offset
	// chiMinBytes is the smallest sample the frequency test is run on, and
	// chiSampleBytes the largest (taken as chiStripes stripes spread over
	// the body).
	chiMinBytes    = 512
	chiSampleBytes = 2048
	chiStripes     = 8
	// chiLimit: for 255 degrees of freedom the statistic has mean 255 and
	// standard deviation ≈ 22.6; 560 is ≈ 13 standard deviations out, where
	// the Wilson-Hilferty tail probability is below 10⁻²⁰. Low-entropy data
	// scores in the thousands (see TestScreen).
	chiLimit = 560
	// Below chiMinBytes the sample is too small for 256 bins; a region of
	// at least nibbleMinBytes gets the same test over the 16 values of the
	// high nibble instead. For 64 uniform bytes the statistic exceeds
	// nibbleLimit with probability below 10⁻¹⁸ (computed exactly over the
	// multinomial); text scores 300 and more at 64 bytes, thousands at 400.
	nibbleMinBytes = 64
	nibbleLimit    = 200
	// minModulusBits: an RSA or ElGamal value is uniform below a modulus
	// of at least 1024 bits, so it has fewer than 992 bits with
	// probability below 2⁻³⁰.
	minModulusBits = 992
	// maxInflate bounds the output read from a compressed stream found
	// where ciphertext goes.
	maxInflate = 16 << 20
)

func isPrintable(c byte) bool { return c-0x20 < 0x5f }

// screen returns a reason sentence when data does not look like ciphertext,
// or "" when it passes. freq enables the byte-frequency test.
func screen(data []byte, freq bool) string {
	if i := findPrintableRun(data); i >= 0 {
		return "the encrypted data contains a run of at least 32 printable ASCII characters; it is not ciphertext"
	}
	if i := findIdenticalRun(data); i >= 0 {
		return "the encrypted data contains a run of at least 16 identical bytes; it is not ciphertext"
	}
	if freq && len(data) >= chiMinBytes && chiSquare(data) > chiLimit {
		return "the byte frequencies of the encrypted data are far from uniform; it is not ciphertext"
	}
	if freq && len(data) >= nibbleMinBytes && len(data) < chiMinBytes && nibbleChi(data) > nibbleLimit {
		return "the byte frequencies of the encrypted data are far from uniform; it is not ciphertext"
	}
	if freq && compressedStart(data) {
		return "the encrypted data starts with a complete compressed stream (zlib, gzip, bzip2, xz or zstd); it is not ciphertext"
	}
	return ""
}

// nibbleChi returns Pearson's statistic for a uniform distribution of the
// high nibbles of s (16 bins), the frequency test for short regions.
func nibbleChi(s []byte) float64 {
	var h [16]int
	for _, c := range s {
		h[c>>4]++
	}
	sum := 0
	for _, c := range h {
		sum += c * c
	}
	return float64(sum)*16/float64(len(s)) - float64(len(s))
}

// compressedStart reports whether s starts with a compressed stream: a
// zlib or gzip stream that decompresses completely with a valid checksum
// (chance for random bytes below 2⁻⁴⁰), or the magic of bzip2 (10 octets),
// xz (6) or zstd (4 and a reserved bit). Compressed text has high entropy
// and would pass the other tests. Only the start is looked at: a stream
// anywhere else is a limit of the screen (docs/gate.md).
func compressedStart(s []byte) bool {
	switch {
	case len(s) >= 10 && string(s[:3]) == "BZh" && s[3] >= '1' && s[3] <= '9' &&
		(string(s[4:10]) == "\x31\x41\x59\x26\x53\x59" || string(s[4:10]) == "\x17\x72\x45\x38\x50\x90"):
		return true
	case len(s) >= 6 && string(s[:6]) == "\xfd7zXZ\x00":
		return true
	case len(s) >= 5 && string(s[:4]) == "\x28\xb5\x2f\xfd" && s[4]&0x08 == 0:
		return true
	case len(s) >= 2 && s[0]&0x0f == 8 && s[0]>>4 <= 7 && s[1]&0x20 == 0 && (int(s[0])<<8|int(s[1]))%31 == 0:
		zr, err := zlib.NewReader(bytes.NewReader(s))
		return err == nil && inflates(zr)
	case len(s) >= 3 && s[0] == 0x1f && s[1] == 0x8b && s[2] == 8:
		zr, err := gzip.NewReader(bytes.NewReader(s))
		if err != nil {
			return false
		}
		zr.Multistream(false)
		return inflates(zr)
	}
	return false
}

// inflates reports whether r decompresses to its end (checksum verified)
// or to maxInflate octets.
func inflates(r io.Reader) bool {
	_, err := io.Copy(io.Discard, io.LimitReader(r, maxInflate))
	return err == nil
}

func findPrintableRun(s []byte) int {
	for i := printableRun - 1; i < len(s); i += printableRun {
		if !isPrintable(s[i]) {
			continue
		}
		lo := i
		for lo > 0 && isPrintable(s[lo-1]) {
			lo--
		}
		hi := i + 1
		for hi < len(s) && hi-lo < printableRun && isPrintable(s[hi]) {
			hi++
		}
		if hi-lo >= printableRun {
			return lo
		}
	}
	return -1
}

func findIdenticalRun(s []byte) int {
	for i := identicalRun - 1; i < len(s); i += identicalRun {
		c := s[i]
		lo := i
		for lo > 0 && s[lo-1] == c {
			lo--
		}
		hi := i + 1
		for hi < len(s) && hi-lo < identicalRun && s[hi] == c {
			hi++
		}
		if hi-lo >= identicalRun {
			return lo
		}
	}
	return -1
}

// chiSquare returns Pearson's statistic for a uniform byte distribution over
// a sample of at most chiSampleBytes bytes of s.
func chiSquare(s []byte) float64 {
	var h [4][256]uint16
	n := 0
	add := func(p []byte) {
		for len(p) >= 4 {
			h[0][p[0]]++
			h[1][p[1]]++
			h[2][p[2]]++
			h[3][p[3]]++
			p = p[4:]
		}
		for _, c := range p {
			h[0][c]++
		}
	}
	if len(s) <= chiSampleBytes {
		add(s)
		n = len(s)
	} else {
		stripe := chiSampleBytes / chiStripes
		step := (len(s) - stripe) / (chiStripes - 1)
		for k := 0; k < chiStripes; k++ {
			add(s[k*step : k*step+stripe])
		}
		n = chiSampleBytes
	}
	var sum uint64
	for i := 0; i < 256; i++ {
		c := uint64(h[0][i]) + uint64(h[1][i]) + uint64(h[2][i]) + uint64(h[3][i])
		sum += c * c
	}
	// Σ (c-E)²/E = (256/n)·Σc² − n
	return float64(sum)*256/float64(n) - float64(n)
}
