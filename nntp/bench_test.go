package nntp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

func benchServer(b *testing.B, articles int) (*nntpmem.Backend, *nntp.Client) {
	mem := nntpmem.New("alt.bench")
	for i := 0; i < articles; i++ {
		if _, err := mem.Add(crlf(fmt.Sprintf("From: bench@example.invalid\nNewsgroups: alt.bench\nSubject: article %d\nDate: Wed, 25 Nov 2026 10:00:00 +0000\nMessage-ID: <%d@bench>\n\nbody\n", i, i))); err != nil {
			b.Fatal(err)
		}
	}
	_, addr := startServer(b, mem, nil)
	c, err := nntp.Dial(context.Background(), addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return mem, c
}

// BenchmarkOver measures OVER over 10,000 articles from nntpmem, through
// the server and the client's parser.
func BenchmarkOver(b *testing.B) {
	_, c := benchServer(b, 10000)
	ctx := context.Background()
	if _, err := c.Group(ctx, "alt.bench"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	lines := 0
	for i := 0; i < b.N; i++ {
		err := c.Over(ctx, "1-", func(*nntp.Overview) error { lines++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// benchBody is a body of about 2 KiB of 64-character lines.
func benchBody() []byte {
	body := make([]byte, 0, 2048)
	for len(body) < 2000 {
		body = append(body, "0123456789012345678901234567890123456789012345678901234567890123\r\n"...)
	}
	return body
}

// BenchmarkPost measures POST round trips of a 2 KiB article.
func BenchmarkPost(b *testing.B) {
	_, c := benchServer(b, 0)
	ctx := context.Background()
	body := benchBody()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		art := append([]byte(fmt.Sprintf("Newsgroups: alt.bench\r\nSubject: p\r\nMessage-ID: <p%d@bench>\r\n\r\n", i)), body...)
		if err := c.Post(ctx, art); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchmarkTakeThis measures pipelined TAKETHIS of 2 KiB articles, 500
// per Stream call.
func BenchmarkTakeThis(b *testing.B) {
	_, c := benchServer(b, 0)
	ctx := context.Background()
	body := benchBody()
	b.ResetTimer()
	sent := 0
	for i := 0; i < b.N; i++ {
		cmds := make([]nntp.StreamCommand, 500)
		for j := range cmds {
			id := fmt.Sprintf("<t%d.%d@bench>", i, j)
			cmds[j] = nntp.StreamCommand{MessageID: id, TakeThis: true,
				Article: append([]byte("Newsgroups: alt.bench\r\nMessage-ID: "+id+"\r\n\r\n"), body...)}
		}
		res, err := c.Stream(ctx, cmds)
		if err != nil || len(res) != len(cmds) {
			b.Fatal(err)
		}
		sent += len(cmds)
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "articles/s")
}
