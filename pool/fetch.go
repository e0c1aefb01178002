package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/altcrypt/altcrypt/nntp"
)

// DefaultWindow is how many commands a pipelined sync keeps in flight:
// enough to fill a 100 Mbit/s link with a 200 ms round trip with pool
// articles of a few KiB.
const DefaultWindow = 512

// windowBytes bounds the answers a pipelined sync has asked for and not
// read. They wait in the kernel's buffers and the server's, not ours: the
// client holds one article at a time.
const windowBytes = 16 << 20

// overLineSize is what one overview line is counted as in the window.
const overLineSize = 256

// listError is a failed OVER.
type listError struct{ err error }

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// overChunk is one OVER range and the articles of it to fetch.
type overChunk struct {
	lo, hi int64
	todo   []*nntp.Overview
	next   int // todo[:next] are consumed
}

func (ch *overChunk) complete() bool { return ch.next == len(ch.todo) }

// fetchPipelined lists [from, high] with OVER, chunk numbers at a time,
// and fetches the bodies that pick keeps, all pipelined on one
// connection: the OVER of the next chunk goes out before the bodies of
// this one, so the link never waits for a list. consume gets the bodies
// in article order (missing: listed but gone); covered(hi) says every
// article up to hi is consumed or skipped. When ctx is cancelled nothing
// more is sent and what is in flight is still consumed, so stopped is true
// and what was fetched is exactly what was consumed.
func fetchPipelined(ctx, netCtx context.Context, cl *nntp.Client, from, high, chunk int64, window int,
	pick func(lo, hi int64, list []*nntp.Overview) []*nntp.Overview,
	consume func(o *nntp.Overview, body []byte, missing bool) error,
	covered func(hi int64) error) (stopped bool, err error) {
	if window <= 0 {
		window = DefaultWindow
	}
	p, err := cl.Pipeline(netCtx, &nntp.PipelineOptions{MaxCommands: window, MaxBytes: windowBytes})
	if err != nil {
		return false, &listError{err}
	}
	defer p.Close()

	overFor := func(lo int64) nntp.Request {
		hi := min(lo+chunk-1, high)
		return nntp.Request{Verb: "OVER", Spec: fmt.Sprintf("%d-%d", lo, hi), Size: (hi - lo + 1) * overLineSize}
	}
	nChunks := (high-from)/chunk + 1
	lists := make(chan *overChunk, nChunks+1) // never blocks the reader
	var halt atomic.Bool
	quit := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		sent <- func() error {
			defer p.CloseSend()
			if err := p.Send(overFor(from)); err != nil {
				return err
			}
			if err := p.Flush(); err != nil {
				return err
			}
			for {
				var ch *overChunk
				select {
				case ch = <-lists:
				case <-quit:
					return nil
				}
				stop := func() bool { return halt.Load() || ctx.Err() != nil }
				if stop() {
					return nil
				}
				if ch.hi < high {
					if err := p.Send(overFor(ch.hi + 1)); err != nil {
						return err
					}
				}
				for _, o := range ch.todo {
					if stop() {
						return nil
					}
					// The answer: the body and its status line.
					if err := p.Send(nntp.Request{Verb: "BODY", Spec: bodySpec(o), Size: o.Bytes + 64}); err != nil {
						return err
					}
				}
				if err := p.Flush(); err != nil {
					return err
				}
				if ch.hi >= high {
					return nil
				}
			}
		}()
	}()

	var chunks []*overChunk // listed and not yet covered, in order
	lastHi := from - 1      // covered up to here
	var ferr error          // the first failure; then answers are only read
	fail := func(err error) {
		if ferr == nil {
			ferr = err
			halt.Store(true)
		}
	}
	settle := func() {
		for ferr == nil && len(chunks) > 0 && chunks[0].complete() {
			if err := covered(chunks[0].hi); err != nil {
				fail(err)
				return
			}
			lastHi = chunks[0].hi
			chunks = chunks[1:]
		}
	}
	for {
		res, err := p.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(chunks) > 0 && !chunks[0].complete() {
				fail(&fetchError{number: chunks[0].todo[chunks[0].next].Number, err: err})
			} else {
				fail(&listError{err})
			}
			break
		}
		if ferr != nil {
			continue // drained, not stored
		}
		if res.Request.Verb == "OVER" {
			var lo, hi int64
			fmt.Sscanf(res.Request.Spec, "%d-%d", &lo, &hi)
			var list []*nntp.Overview
			if res.Err != nil && !isNoArticles(res.Err) {
				fail(&listError{res.Err})
				continue
			}
			if ferr = parseOver(res.Data, lo, hi, &list); ferr != nil {
				ferr = &listError{ferr}
				halt.Store(true)
				continue
			}
			ch := &overChunk{lo: lo, hi: hi, todo: pick(lo, hi, list)}
			chunks = append(chunks, ch)
			lists <- ch
			settle()
			continue
		}
		var ch *overChunk
		if len(chunks) > 0 {
			ch = chunks[0]
		}
		if ch == nil || ch.complete() || res.Request.Spec != bodySpec(ch.todo[ch.next]) {
			fail(fmt.Errorf("pool: answer to BODY %s out of order", res.Request.Spec))
			continue
		}
		o := ch.todo[ch.next]
		if res.Err != nil && !isGone(res.Err) {
			fail(&fetchError{number: o.Number, err: res.Err})
			continue
		}
		ch.next++
		if err := consume(o, res.Data, res.Err != nil); err != nil {
			fail(err)
			continue
		}
		settle()
	}
	close(quit)
	serr := <-sent
	switch {
	case ferr != nil:
		return false, ferr
	case lastHi >= high:
		return false, nil
	case ctx.Err() != nil:
		return true, nil
	case serr != nil:
		return false, &fetchError{number: lastHi + 1, err: serr}
	}
	return false, errors.New("pool: fetching stopped early")
}

// bodySpec names the article to fetch: by message-id where the overview
// gives a valid one. INN finds an article by message-id in its history
// file, in process; by number it asks the overview server first, which
// makes BODY by number about half as fast (measured on INN 2.7).
func bodySpec(o *nntp.Overview) string {
	if nntp.IsMessageID(o.MessageID) {
		return o.MessageID
	}
	return strconv.FormatInt(o.Number, 10)
}

// parseOver reads the lines of an OVER answer within [lo, hi].
func parseOver(data []byte, lo, hi int64, list *[]*nntp.Overview) error {
	for len(data) > 0 {
		i := indexCRLF(data)
		line := data[:i]
		data = data[min(i+2, len(data)):]
		o, err := nntp.ParseOverview(string(line))
		if err != nil {
			return err
		}
		if o.Number >= lo && o.Number <= hi {
			*list = append(*list, o)
		}
	}
	return nil
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return len(b)
}
