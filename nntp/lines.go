package nntp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Errors of the bounded readers. errLineTooLong and errTooLarge leave the
// stream in sync (the offending line or block was consumed); errDrainLimit
// means the peer sent so much that we stopped reading and the connection
// must be closed.
var (
	errLineTooLong = errors.New("nntp: line too long")
	errTooLarge    = errors.New("nntp: article too large")
	errDrainLimit  = errors.New("nntp: too much data while draining")
)

// readLine reads one line ending in LF (CRLF or bare LF) and returns it
// without the terminator. A line longer than max bytes is consumed up to its
// end and reported as errLineTooLong, so the next read starts on a fresh
// line; if the end does not come within drainMax bytes, errDrainLimit.
// The returned slice is valid until the next call with the same buf.
func readLine(br *bufio.Reader, max, drainMax int, buf []byte) ([]byte, error) {
	line := buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) > max+2 {
			return nil, drainLine(br, drainMax)
		}
	}
	line = trimEOL(line)
	if len(line) > max {
		return nil, errLineTooLong
	}
	return line, nil
}

// drainLine discards input up to and including the next LF.
func drainLine(br *bufio.Reader, drainMax int) error {
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if err == nil {
			return errLineTooLong
		}
		if err != bufio.ErrBufferFull {
			return err
		}
		if n > drainMax {
			return errDrainLimit
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// articleStartCap is readDot's first allocation: a pool message with its
// header fits.
const articleStartCap = 8 << 10

// readDot reads a dot-terminated block (an article after POST, IHAVE or
// TAKETHIS) and returns it dot-unstuffed with CRLF line endings. When the
// block is larger than maxSize, or a line longer than maxLine, it still
// reads and discards everything up to the terminating "." line, so the
// session stays in sync, and returns errTooLarge or errLineTooLong. After
// drainMax bytes in total it gives up with errDrainLimit.
func readDot(br *bufio.Reader, maxSize, maxLine int, drainMax int64) ([]byte, error) {
	var (
		// Room for a usual article at once, so it is not grown (and
		// copied) a dozen times on the way.
		out       = make([]byte, 0, max(0, min(maxSize, articleStartCap)))
		failure   error
		lineStart = true
		lineLen   int
		total     int64
		// pendingCR: the line so far (read in pieces because it is longer
		// than the reader's buffer) ends in CR, so a lone LF completes a
		// CRLF that is already in out.
		pendingCR bool
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		total += int64(len(chunk))
		if total > drainMax {
			return nil, errDrainLimit
		}
		complete := err == nil
		if lineStart {
			if complete && (string(chunk) == ".\r\n" || string(chunk) == ".\n") {
				if failure != nil {
					return nil, failure
				}
				if out == nil {
					out = []byte{}
				}
				return out, nil
			}
			if len(chunk) > 0 && chunk[0] == '.' {
				chunk = chunk[1:]
			}
		}
		lineLen += len(chunk)
		if failure == nil && lineLen > maxLine+2 {
			failure, out = errLineTooLong, nil
		}
		if failure == nil {
			hasCR := len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' || len(chunk) == 1 && pendingCR
			if complete && !hasCR {
				out = append(out, chunk[:len(chunk)-1]...)
				out = append(out, '\r', '\n')
			} else {
				out = append(out, chunk...)
			}
			if len(out) > maxSize {
				failure, out = errTooLarge, nil
			}
		}
		lineStart = complete
		pendingCR = !complete && len(chunk) > 0 && chunk[len(chunk)-1] == '\r'
		if complete {
			if failure == nil && lineLen > maxLine+2 {
				failure, out = errLineTooLong, nil
			}
			lineLen = 0
		}
	}
}

// dotWriter writes the data block of a multi-line response: it adds
// dot-stuffing, CRLF line endings and the terminating ".".
type dotWriter struct {
	bw *bufio.Writer
}

// line writes one line of text (without terminator).
func (w dotWriter) line(s string) {
	if len(s) > 0 && s[0] == '.' {
		w.bw.WriteByte('.')
	}
	w.bw.WriteString(s)
	w.bw.WriteString("\r\n")
}

// lineBytes is line for a byte slice.
func (w dotWriter) lineBytes(b []byte) {
	if len(b) > 0 && b[0] == '.' {
		w.bw.WriteByte('.')
	}
	w.bw.Write(b)
	w.bw.WriteString("\r\n")
}

// numberLine writes "n rest".
func (w dotWriter) numberLine(n int64, rest string) {
	var buf [24]byte
	w.bw.Write(strconv.AppendInt(buf[:0], n, 10))
	w.bw.WriteByte(' ')
	w.bw.WriteString(rest)
	w.bw.WriteString("\r\n")
}

// text writes a block of lines (header or body). Lines may end in CRLF or
// a bare LF; a missing final line ending is added.
func (w dotWriter) text(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		w.lineBytes(bytes.TrimSuffix(line, []byte{'\r'}))
	}
}

// end writes the terminating line.
func (w dotWriter) end() {
	w.bw.WriteString(".\r\n")
}
