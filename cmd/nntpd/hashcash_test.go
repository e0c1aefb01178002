package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
)

func TestOptionsHashcash(t *testing.T) {
	o, err := parseOptions([]string{"--name", "news.example"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.hashcashBits != 0 || o.hashcash() != nil || o.hashcashResource != "news.example" {
		t.Errorf("hashcash must be off by default, resource the name: %d %q", o.hashcashBits, o.hashcashResource)
	}
	o, err = parseOptions([]string{"--name", "news.example"}, env(map[string]string{
		"ALTCRYPT_HASHCASH_BITS": "20", "ALTCRYPT_HASHCASH_RESOURCE": "post.example",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if h := o.hashcash(); h == nil || h.Bits != 20 || h.Resource != "post.example" {
		t.Errorf("from env: %+v", h)
	}
	for _, args := range [][]string{
		{"--hashcash-bits", "-1"},
		{"--hashcash-bits", "65"},
		{"--hashcash-bits", "x"},
		{"--hashcash-bits", "20", "--hashcash-resource", "a:b"},
		{"--hashcash-bits", "20", "--hashcash-resource", "a b"},
	} {
		if _, err := parseOptions(args, env(nil), io.Discard); err == nil {
			t.Errorf("accepted %q", args)
		}
	}
}

var listeningAt = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startRun runs nntpd in-process (run, as main does) on 127.0.0.1 with a
// sqlite store and returns its address.
func startRun(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append([]string{"--listen", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "news.db"),
		"--release-interval", "0", "--name", "news.test"}, extra...)
	go func() {
		code := run(ctx, args, nil, io.Discard, pw)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("nntpd exited %d", code)
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listeningAt.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("nntpd did not start listening")
		return ""
	}
}

func article(body []byte, stamp string) []byte {
	var b strings.Builder
	if stamp != "" {
		b.WriteString("X-Hashcash: " + stamp + "\r\n")
	}
	b.WriteString("Newsgroups: alt.crypt.messages\r\nSubject: x\r\nFrom: a@b.example\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// TestRunHashcash posts to nntpd started with and without --hashcash-bits.
func TestRunHashcash(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	post := func(addr string, raw []byte) error {
		c, err := nntp.Dial(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Post(ctx, raw)
	}
	want441 := func(err error, reason string) {
		t.Helper()
		var ne *nntp.Error
		if !errors.As(err, &ne) || ne.Code != 441 || !strings.HasPrefix(ne.Msg, reason+": ") {
			t.Errorf("got %v; want 441 %s", err, reason)
		}
	}

	off := startRun(t)
	if err := post(off, article(gpg.EncryptText(t, "no stamp needed"), "")); err != nil {
		t.Errorf("hashcash off: %v", err)
	}

	on := startRun(t, "--hashcash-bits", "10")
	want441(post(on, article(gpg.EncryptText(t, "no stamp"), "")), hashcash.ReasonMissing)
	weak, _ := hashcash.Mint("news.test", 2, time.Now())
	want441(post(on, article(gpg.EncryptText(t, "weak"), weak)), hashcash.ReasonTooWeak)
	other, _ := hashcash.Mint("other.test", 10, time.Now())
	want441(post(on, article(gpg.EncryptText(t, "other"), other)), hashcash.ReasonWrongResource)
	good, _ := hashcash.Mint("news.test", 10, time.Now())
	if err := post(on, article(gpg.EncryptText(t, "stamped"), good)); err != nil {
		t.Errorf("valid stamp: %v", err)
	}
	want441(post(on, article(gpg.EncryptText(t, "again"), good)), hashcash.ReasonSpent)
}
