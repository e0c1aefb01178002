package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/altcrypt/altcrypt/nntp"
)

// DefaultWindow is how many commands a pipelined sync keeps in flight on
// each connection: enough to fill a 100 Mbit/s link with a 200 ms round
// trip with pool articles of a few KiB.
const DefaultWindow = 512

// windowBytes bounds the answers a pipelined connection has asked for and
// not read. They wait in the kernel's buffers and the server's, not ours.
const windowBytes = 16 << 20

// aheadBytes bounds the bodies one connection has read and the sync has
// not stored yet: with several connections, the ones ahead of the article
// being stored wait here.
const aheadBytes = 8 << 20

// overLineSize is what one overview line is counted as in the window.
const overLineSize = 256

// listError is a failed OVER.
type listError struct{ err error }

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// fetchPlan is what a pipelined fetch covers and how it hands results on.
type fetchPlan struct {
	from, high, chunk int64
	window            int
	// pick keeps the articles of an OVER answer to fetch; it may be
	// called from several goroutines at once.
	pick func(lo, hi int64, list []*nntp.Overview) []*nntp.Overview
	// consume gets the bodies in article order (missing: listed but
	// gone when fetched).
	consume func(o *nntp.Overview, body []byte, missing bool) error
	// covered(hi) says every article up to hi is consumed or skipped.
	covered func(hi int64) error
}

// overChunk is one OVER range, the connection that lists and fetches it,
// and what of it to fetch.
type overChunk struct {
	lo, hi int64
	w      *fetchWorker
	listed chan struct{} // closed once todo or err is set
	todo   []*nntp.Overview
	err    error
}

// fetchRun shares the range among the connections. Chunks are claimed in
// order, each by one connection, and stored in order: a connection that
// runs ahead waits (aheadBytes) for the article being stored.
//
// When ctx is cancelled the cut is fixed: the chunk with the highest
// number whose bodies have started going out is stopped where it is, the
// chunks before it are fetched whole and no later one is begun. So what
// was fetched is exactly a prefix of the range, and it is all stored: a
// later sync resumes after it and fetches nothing twice.
type fetchRun struct {
	fetchPlan
	ctx     context.Context
	nChunks int64

	mu      sync.Mutex
	chunks  []*overChunk // claimed, by number
	started int64        // the highest chunk whose bodies began to go out
	stopped bool         // ctx was cancelled: cut is fixed
	cut     int64
	halted  bool          // failed or over: nothing more is sent
	changed chan struct{} // closed (and replaced) when chunks or the state change
	workers []*fetchWorker
	wg      sync.WaitGroup
}

// fetchWorker is one connection's pipeline: a sender that lists chunks
// and asks for their bodies, and a receiver that hands the bodies on.
type fetchWorker struct {
	run   *fetchRun
	cl    *nntp.Client
	p     *nntp.Pipeline
	out   chan *nntp.Response // bodies, in the order asked
	ahead byteBudget
	ended chan struct{} // closed after out, when the receiver stops
	err   error         // why the receiver stopped (nil: end of answers); set before ended
}

// dialFunc opens one more connection ready to fetch (group selected).
type dialFunc func(ctx context.Context) (*nntp.Client, error)

// fetchPipelined fetches the range of plan on first and on up to extra
// more connections from dial (opened while first is already fetching,
// used only if chunks are left for them), each pipelined: the OVER of a
// connection's next chunk goes out before the bodies of its current one,
// so the link never waits for a list. When ctx is cancelled it stops at
// a cut (see fetchRun), stores everything fetched, and returns stopped.
// first stays open for the caller; the extra connections are closed.
func fetchPipelined(ctx, netCtx context.Context, first *nntp.Client, extra int, dial dialFunc, plan fetchPlan) (stopped bool, err error) {
	if plan.window <= 0 {
		plan.window = DefaultWindow
	}
	r := &fetchRun{fetchPlan: plan, ctx: ctx, started: -1, changed: make(chan struct{})}
	r.nChunks = (plan.high-plan.from)/plan.chunk + 1
	stopWatch := context.AfterFunc(ctx, r.stop)
	defer stopWatch()
	if err := r.add(netCtx, first); err != nil {
		return false, &listError{err}
	}
	dialCtx, cancelDial := context.WithCancel(netCtx)
	var dialing sync.WaitGroup
	var extraMu sync.Mutex
	var extras []*nntp.Client
	for range min(int64(extra), r.nChunks-1) {
		dialing.Add(1)
		go func() {
			defer dialing.Done()
			cl, err := dial(dialCtx)
			if err != nil {
				return // a server may limit connections: go on with fewer
			}
			extraMu.Lock()
			extras = append(extras, cl)
			extraMu.Unlock()
			r.add(netCtx, cl)
		}()
	}
	stopped, err = r.consumeAll()
	cancelDial()
	r.halt()
	dialing.Wait()
	for _, w := range r.snapshotWorkers() {
		w.drain()
	}
	r.wg.Wait()
	for _, w := range r.snapshotWorkers() {
		w.p.Close()
	}
	for _, cl := range extras {
		if err == nil && !stopped {
			_ = cl.Quit(netCtx)
		}
		cl.Close()
	}
	return stopped, err
}

func (r *fetchRun) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *fetchRun) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped, r.cut = true, r.started
		r.signalLocked()
	}
}

func (r *fetchRun) halt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.halted = true
	r.signalLocked()
}

func (r *fetchRun) snapshotWorkers() []*fetchWorker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*fetchWorker(nil), r.workers...)
}

// add starts fetching on cl, unless every chunk is claimed already.
func (r *fetchRun) add(netCtx context.Context, cl *nntp.Client) error {
	r.mu.Lock()
	if r.halted || int64(len(r.chunks)) >= r.nChunks || r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	p, err := cl.Pipeline(netCtx, &nntp.PipelineOptions{MaxCommands: r.window, MaxBytes: windowBytes})
	if err != nil {
		return err
	}
	w := &fetchWorker{run: r, cl: cl, p: p, out: make(chan *nntp.Response, r.window), ended: make(chan struct{})}
	w.ahead.init(aheadBytes)
	r.mu.Lock()
	if r.halted {
		r.mu.Unlock()
		p.Close()
		return nil
	}
	r.workers = append(r.workers, w)
	r.wg.Add(2)
	r.mu.Unlock()
	go w.send()
	go w.receive()
	return nil
}

// claim gives w the next chunk, if there is one to begin.
func (r *fetchRun) claim(w *fetchWorker) *overChunk {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := int64(len(r.chunks))
	if r.halted || k >= r.nChunks || (r.stopped && k > r.cut) {
		return nil
	}
	lo := r.from + k*r.chunk
	ch := &overChunk{lo: lo, hi: min(lo+r.chunk-1, r.high), w: w, listed: make(chan struct{})}
	r.chunks = append(r.chunks, ch)
	r.signalLocked()
	return ch
}

// begin reports whether the bodies of chunk k may go out, and notes that
// they do.
func (r *fetchRun) begin(k int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.halted || (r.stopped && k > r.cut) {
		return false
	}
	r.started = max(r.started, k)
	return true
}

// stopAt reports whether chunk k, begun, must send no more bodies.
func (r *fetchRun) stopAt(k int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halted || (r.stopped && k >= r.cut)
}

func (r *fetchRun) index(ch *overChunk) int64 { return (ch.lo - r.from) / r.chunk }

func (r *fetchRun) overRequest(ch *overChunk) nntp.Request {
	return nntp.Request{Verb: "OVER", Spec: fmt.Sprintf("%d-%d", ch.lo, ch.hi), Size: (ch.hi - ch.lo + 1) * overLineSize}
}

// send lists w's chunks and asks for their bodies.
func (w *fetchWorker) send() {
	defer w.run.wg.Done()
	defer w.p.CloseSend()
	r := w.run
	ch := r.claim(w)
	if ch == nil {
		return
	}
	if w.p.Send(r.overRequest(ch)) != nil || w.p.Flush() != nil {
		return
	}
	for ch != nil {
		select {
		case <-ch.listed:
		case <-w.ended:
			return
		}
		if ch.err != nil {
			return
		}
		next := r.claim(w)
		if next != nil && w.p.Send(r.overRequest(next)) != nil {
			return
		}
		k := r.index(ch)
		if !r.begin(k) {
			return
		}
		for _, o := range ch.todo {
			if r.stopAt(k) {
				return
			}
			// The answer: the body and its status line.
			if w.p.Send(nntp.Request{Verb: "BODY", Spec: bodySpec(o), Size: o.Bytes + 64}) != nil {
				return
			}
		}
		if w.p.Flush() != nil {
			return
		}
		ch = next
	}
}

// receive reads w's answers: it lists the chunks (so that send can ask
// for their bodies) and hands the bodies on in order.
func (w *fetchWorker) receive() {
	defer w.run.wg.Done()
	r := w.run
	var err error
	defer func() {
		w.err = err
		close(w.out)
		close(w.ended)
		r.mu.Lock()
		r.signalLocked()
		r.mu.Unlock()
	}()
	for {
		var res *nntp.Response
		res, err = w.p.Recv()
		if err == io.EOF {
			err = nil
			return
		}
		if err != nil {
			return
		}
		if res.Request.Verb != "OVER" {
			w.ahead.take(int64(len(res.Data)))
			w.out <- res
			continue
		}
		var lo, hi int64
		fmt.Sscanf(res.Request.Spec, "%d-%d", &lo, &hi)
		r.mu.Lock()
		ch := r.chunks[(lo-r.from)/r.chunk]
		r.mu.Unlock()
		var list []*nntp.Overview
		switch {
		case res.Err != nil && !isNoArticles(res.Err):
			ch.err = &listError{res.Err}
		default:
			if perr := parseOver(res.Data, lo, hi, &list); perr != nil {
				ch.err = &listError{perr}
			} else {
				ch.todo = r.pick(lo, hi, list)
			}
		}
		close(ch.listed)
	}
}

// drain reads and drops what w still hands on, until it stops.
func (w *fetchWorker) drain() {
	for res := range w.out {
		w.ahead.give(int64(len(res.Data)))
	}
}

// waitChunk waits until chunk k is claimed; nil if it never will be.
func (r *fetchRun) waitChunk(k int64) *overChunk {
	for {
		r.mu.Lock()
		if k < int64(len(r.chunks)) {
			ch := r.chunks[k]
			r.mu.Unlock()
			return ch
		}
		if r.halted || (r.stopped && k > r.cut) {
			r.mu.Unlock()
			return nil
		}
		// Every connection may have stopped without claiming it.
		allEnded := true
		for _, w := range r.workers {
			select {
			case <-w.ended:
			default:
				allEnded = false
			}
		}
		changed := r.changed
		r.mu.Unlock()
		if allEnded {
			return nil
		}
		<-changed
	}
}

// consumeAll stores the chunks in order as their bodies arrive.
func (r *fetchRun) consumeAll() (stopped bool, err error) {
	ended := func(w *fetchWorker, number int64) (bool, error) {
		switch {
		case w != nil && w.err != nil && number > 0:
			return false, &fetchError{number: number, err: w.err}
		case w != nil && w.err != nil:
			return false, &listError{w.err}
		case r.ctx.Err() != nil:
			return true, nil
		}
		return false, errors.New("pool: fetching stopped early")
	}
	for k := int64(0); k < r.nChunks; k++ {
		ch := r.waitChunk(k)
		if ch == nil {
			if r.ctx.Err() != nil {
				return true, nil
			}
			var failed *fetchWorker
			for _, w := range r.snapshotWorkers() {
				select {
				case <-w.ended:
					if w.err != nil && failed == nil {
						failed = w
					}
				default:
				}
			}
			return ended(failed, 0)
		}
		select {
		case <-ch.listed:
		case <-ch.w.ended:
			select {
			case <-ch.listed:
			default:
				return ended(ch.w, 0)
			}
		}
		if ch.err != nil {
			return false, ch.err
		}
		for _, o := range ch.todo {
			res, ok := <-ch.w.out
			if !ok {
				return ended(ch.w, o.Number)
			}
			ch.w.ahead.give(int64(len(res.Data)))
			if res.Request.Spec != bodySpec(o) {
				return false, fmt.Errorf("pool: answer to BODY %s out of order", res.Request.Spec)
			}
			if res.Err != nil && !isGone(res.Err) {
				return false, &fetchError{number: o.Number, err: res.Err}
			}
			if err := r.consume(o, res.Data, res.Err != nil); err != nil {
				return false, err
			}
		}
		if err := r.covered(ch.hi); err != nil {
			return false, err
		}
	}
	return false, nil
}

// byteBudget bounds bytes held between a producer and a consumer; one
// item is always let through, whatever its size.
type byteBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	max  int64
	used int64
}

func (b *byteBudget) init(max int64) { b.max, b.cond = max, sync.NewCond(&b.mu) }

func (b *byteBudget) take(n int64) {
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.max {
		b.cond.Wait()
	}
	b.used += n
	b.mu.Unlock()
}

func (b *byteBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.cond.Broadcast()
	b.mu.Unlock()
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
