package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/store"
)

// Benchmarks of the whole server over TCP on 127.0.0.1, on both stores:
//
//	go test -run XXX -bench . -benchtime 2000x ./e2e
//
// They report articles/s or lines/s; they never assert a speed.

// cipherMaker encrypts many distinct messages fast (go-crypto in
// process; gpg would take 10 ms a message). The gate judges them like
// any other OpenPGP message.
type cipherMaker struct {
	to  []*openpgp.Entity
	cfg *packet.Config
}

func newCipherMaker(b testing.TB) *cipherMaker {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	e, err := openpgp.NewEntity("Bench", "", "bench@example.test", cfg)
	if err != nil {
		b.Fatal(err)
	}
	return &cipherMaker{to: []*openpgp.Entity{e}, cfg: cfg}
}

// make returns n armored messages of about size octets of plaintext each.
func (m *cipherMaker) make(b testing.TB, n, size int) [][]byte {
	out := make([][]byte, n)
	plain := make([]byte, size)
	for i := range out {
		rand.Read(plain)
		var buf bytes.Buffer
		aw, err := pgparmor.Encode(&buf, "PGP MESSAGE", nil)
		if err != nil {
			b.Fatal(err)
		}
		w, err := openpgp.Encrypt(aw, m.to, nil, nil, m.cfg)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		aw.Close()
		buf.WriteString("\n")
		out[i] = buf.Bytes()
	}
	return out
}

func BenchmarkPost(b *testing.B) {
	cm := newCipherMaker(b)
	for _, k := range storeKinds() {
		for _, mode := range []string{"batched", "immediate"} {
			for _, conns := range []int{1, 8} {
				b.Run(fmt.Sprintf("%s/%s/conns=%d", k.name, mode, conns), func(b *testing.B) {
					benchPost(b, k, cm, mode, conns)
				})
			}
		}
	}
}

func benchPost(b *testing.B, k storeKind, cm *cipherMaker, mode string, conns int) {
	interval := time.Hour // batched: POST stores a pending post only
	if mode == "immediate" {
		interval = 0 // each POST also releases (numbering, overview)
	}
	srv := startServerManual(b, k.open(b), func(c *node.Config) { c.ReleaseInterval = interval })
	arts := make([][]byte, b.N)
	for i, body := range cm.make(b, b.N, 3000) {
		arts[i] = postArticle("x", body)
	}
	clients := make([]*nntp.Client, conns)
	for i := range clients {
		clients[i] = dial(b, srv.Addr)
	}
	b.ResetTimer()
	start := time.Now()
	shareOut(b, clients, len(arts), func(c *nntp.Client, i int) error {
		return c.Post(context.Background(), arts[i])
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "posts/s")
}

// shareOut runs do(c, i) for every i below n on all the clients at once,
// each client taking the next i when it is done with its last, as a
// server's many readers or posters do. A client stops at its first error,
// which fails b.
func shareOut(b *testing.B, clients []*nntp.Client, n int, do func(c *nntp.Client, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(c, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// populate stores n articles of about 3.5 KB straight into the store.
func populate(b testing.TB, st store.Store, n int) {
	ctx := context.Background()
	body := make([]byte, 2600)
	now := time.Now()
	for done := 0; done < n; {
		var arts []*store.NewArticle
		for i := 0; i < 1000 && done < n; i++ {
			rand.Read(body)
			b64 := base64.StdEncoding.EncodeToString(body)
			var bb bytes.Buffer
			bb.WriteString("-----BEGIN PGP MESSAGE-----\r\n\r\n")
			for len(b64) > 64 {
				bb.WriteString(b64[:64] + "\r\n")
				b64 = b64[64:]
			}
			bb.WriteString(b64 + "\r\n-----END PGP MESSAGE-----\r\n")
			id := fmt.Sprintf("<bench%d@id.news.example>", done)
			subj := fmt.Sprintf("%048x", done)
			date := now.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000")
			hdr := fmt.Sprintf("Path: news.example!not-for-mail\r\nFrom: %s\r\nNewsgroups: %s\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\nInjection-Date: %s\r\nInjection-Info: news.example\r\n",
				inject.DefaultFrom, group, subj, id, date, date)
			arts = append(arts, &store.NewArticle{
				MessageID: id, Groups: []string{group}, Header: []byte(hdr), Body: bb.Bytes(),
				Arrived: now, Expires: now.Add(30 * 24 * time.Hour),
				Subject: subj, From: inject.DefaultFrom, Date: date,
				Bytes: int64(len(hdr) + 2 + bb.Len()), Lines: int64(bytes.Count(bb.Bytes(), []byte("\n"))),
			})
			done++
		}
		if _, err := st.Insert(ctx, arts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

const readArticles = 10000

// BenchmarkRead measures OVER over a group of 10,000 articles and ARTICLE
// by number on 1 and 8 connections.
func BenchmarkRead(b *testing.B) {
	for _, k := range storeKinds() {
		b.Run(k.name, func(b *testing.B) {
			st := k.open(b)
			srv := startServerManual(b, st, nil)
			populate(b, st, readArticles)
			ctx := context.Background()

			b.Run("over-10000", func(b *testing.B) {
				c := dial(b, srv.Addr)
				if _, err := c.Group(ctx, group); err != nil {
					b.Fatal(err)
				}
				lines, octets := 0, 0
				b.ResetTimer()
				for range b.N {
					err := c.Over(ctx, "1-", func(o *nntp.Overview) error {
						lines++
						octets += len(o.Subject) + len(o.From) + len(o.Date) + len(o.MessageID) + len(o.Xref) + 40
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
				b.ReportMetric(float64(octets)/b.Elapsed().Seconds()/1e6, "MB/s")
			})
			for _, conns := range []int{1, 8} {
				b.Run(fmt.Sprintf("article/conns=%d", conns), func(b *testing.B) {
					clients := make([]*nntp.Client, conns)
					for i := range clients {
						clients[i] = dial(b, srv.Addr)
						if _, err := clients[i].Group(ctx, group); err != nil {
							b.Fatal(err)
						}
					}
					var octets atomic.Int64
					b.ResetTimer()
					shareOut(b, clients, b.N, func(c *nntp.Client, i int) error {
						_, _, raw, err := c.Article(ctx, fmt.Sprint(i%readArticles+1))
						if err != nil {
							return err
						}
						octets.Add(int64(len(raw)))
						return nil
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
					b.ReportMetric(float64(octets.Load())/b.Elapsed().Seconds()/1e6, "MB/s")
				})
			}
		})
	}
}
