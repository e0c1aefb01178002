package nntp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

// Pipelining (RFC 3977 section 3.5): a client may send commands without
// waiting for their answers, which the server gives in order. Over a long
// round trip this is what fills the link; lock-step costs one round trip
// per article, and against a server that writes without TCP_NODELAY (INN's
// nnrpd) a delayed ACK as well.

// PipelineOptions bound what a Pipeline keeps in flight. The zero value
// (or nil) gives the defaults.
type PipelineOptions struct {
	// MaxCommands bounds the commands sent and not yet answered
	// (default 256).
	MaxCommands int
	// MaxBytes bounds the sum of the Size of those commands (default
	// 4 MiB): what the server may be sending ahead of the reader. One
	// command is always allowed, whatever its size.
	MaxBytes int64
}

func (o *PipelineOptions) withDefaults() PipelineOptions {
	var r PipelineOptions
	if o != nil {
		r = *o
	}
	r.MaxCommands = orInt(r.MaxCommands, 256)
	if r.MaxBytes <= 0 {
		r.MaxBytes = 4 << 20
	}
	return r
}

// DefaultRequestSize is what a Request without a Size counts for in the
// window.
const DefaultRequestSize = 16 << 10

// Request is one pipelined command.
type Request struct {
	Verb string // ARTICLE, HEAD, BODY, STAT or OVER
	Spec string // its argument: an article number or message-id (OVER: a range)
	// Size is the expected size of the answer (an overview's byte count),
	// for the window; DefaultRequestSize when zero.
	Size int64
}

// want returns the success code of the verb and whether it carries a
// data block.
func (r Request) want() (code int, block bool, ok bool) {
	switch r.Verb {
	case "ARTICLE":
		return 220, true, true
	case "HEAD":
		return 221, true, true
	case "BODY":
		return 222, true, true
	case "STAT":
		return 223, false, true
	case "OVER":
		return 224, true, true
	}
	return 0, false, false
}

func (r Request) size() int64 {
	if r.Size > 0 {
		return r.Size
	}
	return DefaultRequestSize
}

// Response is the answer to one Request.
type Response struct {
	Request   Request
	Code      int
	Msg       string
	Number    int64  // ARTICLE, HEAD, BODY, STAT: from the status line (0 by message-id)
	MessageID string // likewise
	// Data is the data block with CRLF line endings, dot-unstuffed (nil
	// for STAT and refusals).
	Data []byte
	// Err is the server's refusal as *Error (423, 430...), or a block
	// larger than MaxArticleSize. The pipeline goes on after it.
	Err error
}

// Pipeline sends commands on a Client without waiting for their answers
// and reads the answers in order, keeping a bounded window in flight.
// One goroutine may Send (and Flush) while another calls Recv; the
// Client runs nothing else until Close.
type Pipeline struct {
	c    *Client
	end  func()
	opts PipelineOptions

	wmu sync.Mutex // the sending side: Send, Flush

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []Request // sent and not yet answered, oldest first
	bytes  int64     // the sum of their sizes
	err    error     // the pipeline failed: every later call returns it
	werr   error     // sending failed; the answers already sent may still be read
	noMore bool      // CloseSend was called
	closed bool
}

// errPipelineClosed is what Send and Recv return after Close.
var errPipelineClosed = errors.New("nntp: pipeline closed")

// Pipeline starts pipelining on c. ctx bounds the whole pipeline:
// cancelling it aborts the commands in flight and leaves c unusable.
func (c *Client) Pipeline(ctx context.Context, opts *PipelineOptions) (*Pipeline, error) {
	end := c.begin(ctx)
	if c.broken != nil {
		err := c.broken
		end()
		return nil, err
	}
	p := &Pipeline{c: c, end: end, opts: opts.withDefaults()}
	p.cond = sync.NewCond(&p.mu)
	return p, nil
}

// Send queues one command. It waits while the window is full (first
// sending what is buffered). Commands are buffered: call Flush before
// waiting on anything but Recv.
func (p *Pipeline) Send(r Request) error {
	if _, _, ok := r.want(); !ok {
		return fmt.Errorf("nntp: %q cannot be pipelined", r.Verb)
	}
	line := r.Verb
	if r.Spec != "" {
		line += " " + r.Spec
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return errors.New("nntp: command contains CR, LF or NUL")
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	for p.err == nil && !p.closed && !p.noMore && len(p.queue) > 0 &&
		(len(p.queue) >= p.opts.MaxCommands || p.bytes+r.size() > p.opts.MaxBytes) {
		// About to wait for answers: the server must have the commands.
		if p.c.bw.Buffered() > 0 {
			p.mu.Unlock()
			err := p.c.bw.Flush()
			p.mu.Lock()
			if err != nil {
				p.sendFailedLocked(err)
				break
			}
			continue
		}
		p.cond.Wait()
	}
	if err := p.stateLocked(); err != nil {
		p.mu.Unlock()
		return err
	}
	p.queue = append(p.queue, r)
	p.bytes += r.size()
	p.cond.Broadcast() // a Recv may wait for a command
	p.mu.Unlock()
	p.c.bw.WriteString(line)
	if _, err := p.c.bw.WriteString("\r\n"); err != nil {
		return p.sendFailed(err)
	}
	return nil
}

// Flush sends the buffered commands.
func (p *Pipeline) Flush() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	err := p.err
	if err == nil {
		err = p.werr
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.c.bw.Flush(); err != nil {
		return p.sendFailed(err)
	}
	return nil
}

// InFlight returns how many commands are sent and not yet answered.
func (p *Pipeline) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// CloseSend says no command will follow: it sends what is buffered, and
// Recv returns io.EOF once every answer has been read.
func (p *Pipeline) CloseSend() error {
	err := p.Flush()
	p.mu.Lock()
	p.noMore = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return err
}

// Recv reads the answer to the oldest command in flight, waiting for one
// to be sent if there is none; io.EOF after CloseSend and the last
// answer. A refusal is in Response.Err; any other error means the
// connection failed (or answered out of step) and the pipeline is over.
func (p *Pipeline) Recv() (*Response, error) {
	p.mu.Lock()
	for p.err == nil && !p.closed && !p.noMore && len(p.queue) == 0 {
		p.cond.Wait()
	}
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return nil, err
	}
	if len(p.queue) == 0 {
		p.mu.Unlock()
		if p.noMore {
			return nil, io.EOF
		}
		return nil, errPipelineClosed
	}
	req := p.queue[0]
	p.mu.Unlock()

	res, err := p.read(req)
	if err != nil {
		return nil, p.fail(err)
	}
	p.mu.Lock()
	p.queue = p.queue[1:]
	p.bytes -= req.size()
	p.cond.Broadcast()
	p.mu.Unlock()
	return res, nil
}

// read reads one answer. An error leaves the stream out of step.
func (p *Pipeline) read(req Request) (*Response, error) {
	c := p.c
	code, msg, err := c.readStatus()
	if err != nil {
		return nil, err
	}
	res := &Response{Request: req, Code: code, Msg: msg}
	want, block, _ := req.want()
	if code != want {
		if code < 400 {
			// A success we did not ask for: the stream is out of step.
			return nil, fmt.Errorf("nntp: answer %d %q to %s %s", code, msg, req.Verb, req.Spec)
		}
		res.Err = &Error{Code: code, Msg: msg}
		return res, nil
	}
	if req.Verb != "OVER" {
		n, id, err := parseArticleStatus(msg)
		if err != nil {
			return nil, err
		}
		if !answers(req.Spec, n, id) {
			return nil, fmt.Errorf("nntp: answer %d %q to %s %s", code, msg, req.Verb, req.Spec)
		}
		res.Number, res.MessageID = n, id
	}
	if block {
		res.Data, err = c.readData()
		if err != nil {
			if c.broken != nil {
				return nil, err
			}
			res.Err = err // too large, read to its end
		}
	}
	return res, nil
}

// answers reports whether a status line's number and message-id fit the
// command's argument: a check that the answers are still in step.
func answers(spec string, n int64, id string) bool {
	if spec == "" {
		return true
	}
	if news.ValidMessageID(spec) {
		return id == spec
	}
	want, ok := parseNumber(spec)
	return !ok || want == n
}

func (p *Pipeline) stateLocked() error {
	if p.err != nil {
		return p.err
	}
	if p.werr != nil {
		return p.werr
	}
	if p.closed || p.noMore {
		return errPipelineClosed
	}
	return nil
}

func (p *Pipeline) state() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

// sendFailed stops sending after a write error. Reading goes on: the
// server may have answered what it got before it closed, and the read
// side then reports how the connection ended.
func (p *Pipeline) sendFailed(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sendFailedLocked(err)
}

func (p *Pipeline) sendFailedLocked(err error) error {
	if p.werr == nil {
		// The Client learns of it in Close: the reading goroutine may be
		// using the Client's error state now.
		p.werr = err
		p.cond.Broadcast()
	}
	return p.werr
}

// fail ends the pipeline: the stream is unusable, and a Send or Recv
// blocked on the connection is woken.
func (p *Pipeline) fail(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failLocked(err)
}

func (p *Pipeline) failLocked(err error) error {
	if p.err == nil {
		p.err = err
		p.c.fail(err)
		cc := p.c.cc
		cc.canceled.Store(true)
		cc.Conn.SetDeadline(time.Unix(1, 0))
		p.cond.Broadcast()
	}
	return p.err
}

// Close ends the pipeline and gives the Client back. Answers still due
// are read and dropped, so the connection stays usable; call it after
// the goroutines using Send and Recv are done with them.
func (p *Pipeline) Close() error {
	err := p.CloseSend()
	for err == nil {
		_, err = p.Recv()
	}
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	if p.werr != nil {
		p.c.fail(p.werr) // the stream is unusable once a write failed
	}
	p.mu.Unlock()
	p.end()
	if err == io.EOF {
		err = nil
	}
	return err
}

// Fetch sends reqs pipelined and calls fn with each answer in order. An
// error from fn stops sending; the answers still due are read and dropped
// and fn's error returned.
func (c *Client) Fetch(ctx context.Context, reqs []Request, opts *PipelineOptions, fn func(*Response) error) error {
	p, err := c.Pipeline(ctx, opts)
	if err != nil {
		return err
	}
	var stop atomic.Bool
	sent := make(chan error, 1)
	go func() {
		for _, r := range reqs {
			if stop.Load() {
				break
			}
			if err := p.Send(r); err != nil {
				p.CloseSend()
				sent <- err
				return
			}
		}
		sent <- p.CloseSend()
	}()
	var ferr error
	for {
		res, err := p.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			ferr = err
			break
		}
		if ferr == nil {
			if ferr = fn(res); ferr != nil {
				stop.Store(true) // and read on what is in flight
			}
		}
	}
	serr := <-sent
	cerr := p.Close()
	switch {
	case ferr != nil:
		return ferr
	case serr != nil:
		return serr
	}
	return cerr
}
