package nntp_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
)

// TestCompress: COMPRESS DEFLATE between our client and server: offered
// until active, then commands, pipelined and lock-step, give the same
// answers; a second COMPRESS and STARTTLS afterwards are refused.
func TestCompress(t *testing.T) {
	cert := testcert.New(t)
	_, addr := startServer(t, pipeMem(t, 120), func(s *nntp.Server) { s.TLSConfig = cert.Server })
	ctx := context.Background()
	plain, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps, _ := c.Capabilities(ctx)
	if !slices.Contains(caps, "COMPRESS DEFLATE") {
		t.Fatalf("COMPRESS not offered: %q", caps)
	}
	if err := c.Compress(ctx); err != nil || !c.Compressed() {
		t.Fatalf("compress: %v", err)
	}
	caps, _ = c.Capabilities(ctx)
	if slices.Contains(caps, "COMPRESS DEFLATE") || slices.Contains(caps, "STARTTLS") {
		t.Fatalf("offered after COMPRESS: %q", caps)
	}
	code, _, err := c.Command(ctx, "COMPRESS DEFLATE")
	if err != nil || code != 502 {
		t.Fatalf("second COMPRESS: %d %v", code, err)
	}
	code, _, err = c.Command(ctx, "STARTTLS")
	if err != nil || code != 502 {
		t.Fatalf("STARTTLS after COMPRESS: %d %v", code, err)
	}
	for _, cl := range []*nntp.Client{c, plain} {
		if _, err := cl.Group(ctx, "alt.test"); err != nil {
			t.Fatal(err)
		}
	}
	var reqs []nntp.Request
	for i := 1; i <= 120; i++ {
		reqs = append(reqs, nntp.Request{Verb: "ARTICLE", Spec: fmt.Sprint(i)})
	}
	var got [][]byte
	if err := c.Fetch(ctx, reqs, &nntp.PipelineOptions{MaxCommands: 10}, func(r *nntp.Response) error {
		got = append(got, r.Data)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		_, _, want, _ := plain.Article(ctx, r.Spec)
		_, _, again, _ := c.Article(ctx, r.Spec)
		if !bytes.Equal(got[i], want) || !bytes.Equal(again, want) {
			t.Fatalf("article %s differs compressed", r.Spec)
		}
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCompressRefusals: the answers of RFC 8054 to a malformed or
// unsupported COMPRESS, and 403 past the server's limit.
func TestCompressRefusals(t *testing.T) {
	_, addr := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxCompressed = 1 })
	tc := dial(t, addr)
	tc.cmd("COMPRESS", "501")
	tc.cmd("COMPRESS DEFLATE EXTRA", "501")
	tc.cmd("COMPRESS GZIP", "503")
	tc.cmd("COMPRESS deflate", "206")
	other := dial(t, addr)
	other.cmd("COMPRESS DEFLATE", "403")
	other.cmd("DATE", "111")

	_, noComp := startServer(t, newMem(t), func(s *nntp.Server) { s.MaxCompressed = -1 })
	tc = dial(t, noComp)
	tc.send("CAPABILITIES\r\n")
	tc.line()
	if caps := tc.block(); slices.Contains(caps, "COMPRESS DEFLATE") {
		t.Fatalf("offered while off: %q", caps)
	}
	tc.cmd("COMPRESS DEFLATE", "502")
}

// TestCompressBomb: a server whose compressed answer inflates without
// bound is cut off by the client, which keeps its memory.
func TestCompressBomb(t *testing.T) {
	addr := nntptest.Fake(t, func(c net.Conn, br *bufio.Reader) {
		if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "COMPRESS") {
			return
		}
		fmt.Fprintf(c, "206 Compression active\r\n")
		zw, _ := flate.NewWriter(c, flate.BestCompression)
		zr := flate.NewReader(br)
		zbr := bufio.NewReader(zr)
		if _, err := zbr.ReadString('\n'); err != nil {
			return
		}
		fmt.Fprintf(zw, "222 1 <bomb@x>\r\n")
		line := bytes.Repeat([]byte("A"), 998)
		line = append(line, '\r', '\n')
		for i := 0; i < 40_000; i++ { // 40 MB inflated
			if _, err := zw.Write(line); err != nil {
				return
			}
		}
		zw.Write([]byte(".\r\n"))
		zw.Flush()
	})
	ctx := context.Background()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Compress(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, body, err := c.Body(ctx, "1")
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") || body != nil {
		t.Fatalf("bomb: %d bytes, %v", len(body), err)
	}
	if _, _, err := c.Stat(ctx, "1"); err == nil {
		t.Fatal("client usable after a bomb")
	}
	var ne *nntp.Error
	if errors.As(err, &ne) {
		t.Fatalf("bomb reported as a server answer: %v", err)
	}
}
