package transittest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Conn is a bare NNTP client for tests: it writes exactly what it is told
// and reads status lines, so pipelining and odd sequences can be tested.
type Conn struct {
	tb testing.TB
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// Dial connects and reads the greeting.
func Dial(tb testing.TB, addr string) *Conn {
	tb.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	c := &Conn{tb: tb, nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc)}
	tb.Cleanup(func() { nc.Close() })
	if code, line := c.Read(); code/100 != 2 {
		tb.Fatalf("greeting %q", line)
	}
	return c
}

// Send writes a command line (without flushing).
func (c *Conn) Send(format string, args ...any) {
	fmt.Fprintf(c.bw, format+"\r\n", args...)
}

// SendArticle writes an article dot-stuffed and terminated (no flush).
func (c *Conn) SendArticle(raw []byte) {
	WriteDot(c.bw, raw)
}

// WriteDot writes raw (CRLF lines) dot-stuffed, then the terminating ".".
func WriteDot(w *bufio.Writer, raw []byte) {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		var line []byte
		if i < 0 {
			line, raw = raw, nil
		} else {
			line, raw = raw[:i+1], raw[i+1:]
		}
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			w.WriteString("\r\n")
		}
	}
	w.WriteString(".\r\n")
}

// Flush sends what was written.
func (c *Conn) Flush() {
	if err := c.bw.Flush(); err != nil {
		c.tb.Fatal(err)
	}
}

// Read reads one status line; code 0 means the connection ended.
func (c *Conn) Read() (int, string) {
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := c.br.ReadString('\n')
	if err != nil {
		return 0, err.Error()
	}
	line = strings.TrimRight(line, "\r\n")
	code, _ := strconv.Atoi(line[:min(3, len(line))])
	return code, line
}

// Cmd sends a command and reads its status line.
func (c *Conn) Cmd(format string, args ...any) (int, string) {
	c.Send(format, args...)
	c.Flush()
	return c.Read()
}

// IHave offers and, on 335, sends an article; it returns the final code.
func (c *Conn) IHave(id string, raw []byte) (int, string) {
	code, line := c.Cmd("IHAVE %s", id)
	if code != 335 {
		return code, line
	}
	c.SendArticle(raw)
	c.Flush()
	return c.Read()
}

// TakeThis sends one TAKETHIS and reads its answer.
func (c *Conn) TakeThis(id string, raw []byte) (int, string) {
	c.Send("TAKETHIS %s", id)
	c.SendArticle(raw)
	c.Flush()
	return c.Read()
}

// Close sends QUIT and closes.
func (c *Conn) Close() {
	c.Cmd("QUIT")
	c.nc.Close()
}
