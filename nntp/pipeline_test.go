package nntp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

// pipeMem is an nntpmem backend with n articles in alt.test, numbered 1..n,
// of which every tenth is expired (a gap: 423 by number).
func pipeMem(t testing.TB, n int) *nntpmem.Backend {
	t.Helper()
	mem := nntpmem.New("alt.test")
	for i := 1; i <= n; i++ {
		body := strings.Repeat(fmt.Sprintf("line %d of article %d\n", i, i), i%7+1) + ".dot-stuffed line\n"
		id, err := mem.Add(crlf(fmt.Sprintf("From: a@b.invalid\nNewsgroups: alt.test\nSubject: s%d\nMessage-ID: <p%d@test>\n\n%s", i, i, body)))
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			mem.Expire(id)
		}
	}
	return mem
}

// TestPipelineAgainstServer: a window of BODY/ARTICLE/HEAD/STAT/OVER
// commands, smaller than the request list, gets every answer in order,
// refusals included, the same as lock-step commands give.
func TestPipelineAgainstServer(t *testing.T) {
	const n = 300
	_, addr := startServer(t, pipeMem(t, n), nil)
	ctx := context.Background()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Group(ctx, "alt.test"); err != nil {
		t.Fatal(err)
	}
	verbs := []string{"BODY", "ARTICLE", "HEAD", "STAT"}
	var reqs []nntp.Request
	reqs = append(reqs, nntp.Request{Verb: "OVER", Spec: fmt.Sprintf("1-%d", n)})
	for i := 1; i <= n; i++ {
		reqs = append(reqs, nntp.Request{Verb: verbs[i%4], Spec: fmt.Sprint(i), Size: 200})
	}
	reqs = append(reqs, nntp.Request{Verb: "BODY", Spec: "<p5@test>"}, nntp.Request{Verb: "BODY", Spec: "<nosuch@test>"})
	var got []*nntp.Response
	opts := &nntp.PipelineOptions{MaxCommands: 16, MaxBytes: 2000}
	if err := c.Fetch(ctx, reqs, opts, func(r *nntp.Response) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reqs) {
		t.Fatalf("%d answers to %d commands", len(got), len(reqs))
	}
	// Lock-step, the same commands on the same connection.
	for i, r := range got {
		if r.Request != reqs[i] {
			t.Fatalf("answer %d is for %+v, want %+v", i, r.Request, reqs[i])
		}
		if r.Request.Verb == "OVER" {
			var lines []string
			c.Over(ctx, r.Request.Spec, func(o *nntp.Overview) error {
				lines = append(lines, fmt.Sprint(o.Number, o.MessageID))
				return nil
			})
			if strings.Count(string(r.Data), "\r\n") != len(lines) || len(lines) != n-n/10 {
				t.Fatalf("OVER: %d lines pipelined, %d in lock-step", strings.Count(string(r.Data), "\r\n"), len(lines))
			}
			continue
		}
		num, id, data, err := nntptest.LockStep(ctx, c, r.Request)
		if fmt.Sprint(err) != fmt.Sprint(r.Err) || num != r.Number || id != r.MessageID || string(data) != string(r.Data) {
			t.Fatalf("%s %s: pipelined %d %s %q %v, lock-step %d %s %q %v", r.Request.Verb, r.Request.Spec,
				r.Number, r.MessageID, r.Data, r.Err, num, id, data, err)
		}
	}
	wantCode(t, got[10].Err, 423)
	wantCode(t, got[len(got)-1].Err, 430)
	if !strings.Contains(string(got[len(got)-2].Data), "\r\n.dot-stuffed line\r\n") {
		t.Fatalf("dot-stuffing: %q", got[len(got)-2].Data)
	}
	// The connection is still in step.
	if _, _, err := c.Stat(ctx, "1"); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineWindow: the client never has more than MaxCommands
// unanswered, nor more than MaxBytes of expected answers (beyond one).
func TestPipelineWindow(t *testing.T) {
	var mu sync.Mutex
	maxOut := 0
	addr := nntptest.Fake(t, func(c net.Conn, br *bufio.Reader) {
		received, answered := 0, 0
		var pending []string
		for {
			// Take every command that has arrived before answering.
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			received++
			pending = append(pending, strings.Fields(line)[1])
			if br.Buffered() > 0 {
				continue
			}
			time.Sleep(2 * time.Millisecond)
			if br.Buffered() > 0 {
				continue
			}
			mu.Lock()
			maxOut = max(maxOut, received-answered)
			mu.Unlock()
			for _, n := range pending {
				fmt.Fprintf(c, "222 %s <%s@x>\r\nbody %s\r\n.\r\n", n, n, n)
				answered++
			}
			pending = pending[:0]
		}
	})
	for _, tc := range []struct {
		opts nntp.PipelineOptions
		size int64
		want int
	}{
		{nntp.PipelineOptions{MaxCommands: 5}, 10, 5},
		{nntp.PipelineOptions{MaxCommands: 100, MaxBytes: 1000}, 300, 3},
		{nntp.PipelineOptions{MaxCommands: 100, MaxBytes: 100}, 300, 1},
	} {
		mu.Lock()
		maxOut = 0
		mu.Unlock()
		c, err := nntp.Dial(context.Background(), addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		var reqs []nntp.Request
		for i := 1; i <= 60; i++ {
			reqs = append(reqs, nntp.Request{Verb: "BODY", Spec: fmt.Sprint(i), Size: tc.size})
		}
		next := 1
		err = c.Fetch(context.Background(), reqs, &tc.opts, func(r *nntp.Response) error {
			if r.Number != int64(next) || string(r.Data) != fmt.Sprintf("body %d\r\n", next) {
				return fmt.Errorf("answer %d: %+v", next, r)
			}
			next++
			return nil
		})
		c.Close()
		if err != nil || next != 61 {
			t.Fatalf("%+v: %v after %d", tc.opts, err, next-1)
		}
		mu.Lock()
		if maxOut > tc.want || maxOut == 0 {
			t.Errorf("%+v: %d commands in flight, want at most %d", tc.opts, maxOut, tc.want)
		}
		mu.Unlock()
	}
}

// TestPipelineServerDies: a server that answers part of the window and
// then closes, or stops answering, ends the pipeline with an error that
// says so; the answers before it were delivered in order.
func TestPipelineServerDies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		silent bool
		check  func(error) bool
	}{
		{"closes", false, func(err error) bool {
			return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
		}},
		{"stops answering", true, func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hold := make(chan struct{})
			defer close(hold)
			addr := nntptest.Fake(t, func(c net.Conn, br *bufio.Reader) {
				for i := 1; ; i++ {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					n := strings.Fields(line)[1]
					if i == 7 {
						// Half an answer, then nothing.
						fmt.Fprintf(c, "222 %s <%s@x>\r\npart", n, n)
						if tc.silent {
							<-hold
						}
						return
					}
					fmt.Fprintf(c, "222 %s <%s@x>\r\nbody\r\n.\r\n", n, n)
				}
			})
			c, err := nntp.Dial(context.Background(), addr, &nntp.ClientOptions{Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var reqs []nntp.Request
			for i := 1; i <= 50; i++ {
				reqs = append(reqs, nntp.Request{Verb: "BODY", Spec: fmt.Sprint(i)})
			}
			got := 0
			err = c.Fetch(context.Background(), reqs, &nntp.PipelineOptions{MaxCommands: 20}, func(r *nntp.Response) error {
				got++
				if r.Number != int64(got) {
					return fmt.Errorf("answer %d for article %d", got, r.Number)
				}
				return nil
			})
			if !tc.check(err) || got != 6 {
				t.Fatalf("%d answers, then %v", got, err)
			}
			// The client is unusable afterwards, and says why.
			if _, _, err := c.Stat(context.Background(), "1"); err == nil {
				t.Fatal("client usable after a failed pipeline")
			}
		})
	}
}

// TestPipelineOutOfStep: an answer that does not match its command (a
// server that dropped one) stops the pipeline rather than misfiling.
func TestPipelineOutOfStep(t *testing.T) {
	addr := nntptest.Fake(t, func(c net.Conn, br *bufio.Reader) {
		for i := 1; ; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if i == 3 {
				continue // never answered
			}
			n := strings.Fields(line)[1]
			fmt.Fprintf(c, "222 %s <%s@x>\r\nbody\r\n.\r\n", n, n)
		}
	})
	c, err := nntp.Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reqs := []nntp.Request{{Verb: "BODY", Spec: "1"}, {Verb: "BODY", Spec: "2"}, {Verb: "BODY", Spec: "3"}, {Verb: "BODY", Spec: "4"}}
	got := 0
	err = c.Fetch(context.Background(), reqs, nil, func(*nntp.Response) error { got++; return nil })
	if err == nil || !strings.Contains(err.Error(), "to BODY 3") || got != 2 {
		t.Fatalf("%d answers, then %v", got, err)
	}
}

// TestPipelineStopsEarly: an error from the callback stops sending, the
// answers due are read, and the connection stays usable.
func TestPipelineStopsEarly(t *testing.T) {
	_, addr := startServer(t, pipeMem(t, 200), nil)
	ctx := context.Background()
	c, err := nntp.Dial(ctx, addr, &nntp.ClientOptions{MaxArticleSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Group(ctx, "alt.test"); err != nil {
		t.Fatal(err)
	}
	var reqs []nntp.Request
	for i := 1; i <= 200; i++ {
		reqs = append(reqs, nntp.Request{Verb: "BODY", Spec: fmt.Sprint(i)})
	}
	stop := errors.New("enough")
	tooLarge := 0
	err = c.Fetch(ctx, reqs, &nntp.PipelineOptions{MaxCommands: 32}, func(r *nntp.Response) error {
		if r.Err != nil && strings.Contains(r.Err.Error(), "larger than") {
			tooLarge++
		}
		if r.Number == 51 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || tooLarge == 0 {
		t.Fatalf("%v, %d too large", err, tooLarge)
	}
	if n, _, err := c.Stat(ctx, "77"); err != nil || n != 77 {
		t.Fatalf("after an early stop: %d %v", n, err)
	}
}
