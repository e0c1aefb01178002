package nntp

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/altcrypt/altcrypt/news"
)

// feedResponse maps a Transit error for one of the transit commands. Besides
// ResponseFor it folds codes that belong to other stages into the codes the
// command may answer: each stage has one code for "refused" and one for
// "try again later" (IHAVE's first stage 435/436, its second 437/436,
// CHECK 438/431, TAKETHIS 439/400, which closes the connection), and every
// refusal or try-again code of another stage becomes the stage's own.
func feedResponse(err error, fam CommandFamily, second bool) *Error {
	e := ResponseFor(err, fam)
	var refused, later int
	switch {
	case fam == CmdIHave && !second:
		refused, later = 435, 436
	case fam == CmdIHave:
		refused, later = 437, 436
	case fam == CmdCheck:
		refused, later = 438, 431
	case fam == CmdTakeThis:
		refused, later = 439, 400
	default:
		return e
	}
	code := e.Code
	switch code {
	case 435, 437, 438, 439, 441:
		code = refused
	case 436, 431, 400:
		code = later
	}
	if code != e.Code {
		return &Error{Code: code, Msg: e.Msg, Err: e.Err}
	}
	return e
}

// feedAllowed answers a transit command the session may not use and
// reports whether it may.
func (c *conn) feedAllowed() bool {
	if _, ok := c.feeder(); !ok {
		c.reply(502, "Transit not available")
		return false
	}
	if !c.perms.Feed {
		c.refuseUnpermitted()
		return false
	}
	return true
}

// cmdIHave serves IHAVE (RFC 3977 section 6.3.2).
func cmdIHave(c *conn, r request) error {
	if len(r.args) != 1 || !news.ValidMessageID(r.args[0]) {
		c.reply(501, "Syntax: IHAVE message-id")
		return nil
	}
	if !c.feedAllowed() {
		return nil
	}
	f, _ := c.feeder()
	id := r.args[0]
	if err := f.Wanted(c.ctx, id); err != nil {
		e := feedResponse(err, CmdIHave, false)
		c.logFault(e)
		c.reply(e.Code, e.Msg)
		return nil
	}
	c.reply(335, "Send it")
	art, ok, err := c.receiveArticle(437)
	if !ok {
		return err
	}
	if err := f.Receive(c.ctx, id, art); err != nil {
		e := feedResponse(err, CmdIHave, true)
		c.logFault(e)
		c.reply(e.Code, e.Msg)
		return nil
	}
	c.reply(235, "Article transferred OK")
	return nil
}

// The streaming commands (RFC 4644) are pipelined: the reading loop parses
// each CHECK or TAKETHIS (with its article), hands the backend call to a
// worker and goes on reading; a writer goroutine writes the responses
// strictly in command order. Up to StreamWindow commands are in flight, so
// a backend may commit many articles at once.

type future struct {
	cmd   string // CHECK or TAKETHIS, for the Observer
	ready chan struct{}
	code  int
	msg   string
	fatal bool // close the connection after writing
}

type pipeline struct {
	c           *conn
	queue       chan *future
	sem         chan struct{}
	outstanding sync.WaitGroup
	done        chan struct{}
	dead        atomic.Bool

	mu   sync.Mutex
	last map[string]*future // latest command in flight per message-id
}

func (c *conn) pipeline() *pipeline {
	if c.pipe == nil {
		n := c.srv.streamWindow()
		p := &pipeline{
			c:     c,
			queue: make(chan *future, n),
			sem:   make(chan struct{}, n),
			done:  make(chan struct{}),
			last:  map[string]*future{},
		}
		go p.writer()
		c.pipe = p
	}
	return c.pipe
}

// submit queues a response computed by fn on a worker. Commands about
// the same message-id run one after the other, in command order, so that
// a CHECK sent before a TAKETHIS of the same article sees the state before
// it; others run concurrently.
func (p *pipeline) submit(id string, fn func() (code int, msg string, fatal bool)) {
	f := &future{cmd: p.c.cmd, ready: make(chan struct{})}
	p.outstanding.Add(1)
	p.queue <- f
	p.sem <- struct{}{}
	var prev *future
	if id != "" {
		p.mu.Lock()
		prev = p.last[id]
		p.last[id] = f
		p.mu.Unlock()
	}
	go func() {
		defer func() {
			if r := recover(); r != nil {
				p.c.logPanic(r)
				f.code, f.msg, f.fatal = 403, "Internal fault", true
			}
			if id != "" {
				p.mu.Lock()
				if p.last[id] == f {
					delete(p.last, id)
				}
				p.mu.Unlock()
			}
			<-p.sem
			close(f.ready)
		}()
		if prev != nil {
			<-prev.ready
		}
		f.code, f.msg, f.fatal = fn()
	}()
}

// answer queues a response known at once.
func (p *pipeline) answer(code int, msg string) {
	p.submit("", func() (int, string, bool) { return code, msg, false })
}

// writer writes the responses in command order. It sends what it has
// written whenever the next response is not ready yet, so answers already
// known never wait behind a slower one (a peer keeps only so many
// commands in flight, and waits for these answers to send more).
func (p *pipeline) writer() {
	defer close(p.done)
	bw := p.c.bw
	for f := range p.queue {
		select {
		case <-f.ready:
		default:
			if bw.Buffered() > 0 && !p.dead.Load() {
				p.send(false)
			}
			<-f.ready
		}
		p.c.srv.observer().Response(f.cmd, f.code, f.msg)
		if !p.dead.Load() {
			writeStatus(bw, f.code, f.msg)
			if f.fatal || len(p.queue) == 0 {
				p.send(f.fatal)
			}
		}
		p.outstanding.Done()
	}
}

// send flushes what is written. The connection is closed when that fails,
// or after a fatal response (closeAfter).
func (p *pipeline) send(closeAfter bool) {
	if err := p.c.bw.Flush(); err != nil || closeAfter {
		p.dead.Store(true)
		p.c.nc.Close()
	}
}

// stop ends the writer after the queued responses.
func (p *pipeline) stop() {
	close(p.queue)
	<-p.done
}

func cmdCheck(c *conn, r request) error {
	p := c.pipeline()
	id, ok := c.streamTarget(p, r, "CHECK")
	if !ok {
		return nil
	}
	f, _ := c.feeder()
	ctx := c.ctx
	p.submit(id, func() (int, string, bool) {
		if err := f.Wanted(ctx, id); err != nil {
			e := feedResponse(err, CmdCheck, false)
			c.logFault(e)
			if e.Code == 438 || e.Code == 431 {
				return e.Code, id, false
			}
			return e.Code, e.Msg, false
		}
		return 238, id, false
	})
	return nil
}

// streamTarget returns the message-id a CHECK or TAKETHIS names, or
// answers the command and returns false: 501 for a bad argument, 480 or
// 502 when the session may not feed.
func (c *conn) streamTarget(p *pipeline, r request, verb string) (string, bool) {
	if len(r.args) != 1 || !news.ValidMessageID(r.args[0]) {
		p.answer(501, "Syntax: "+verb+" message-id")
		return "", false
	}
	if !c.canFeed() {
		if _, ok := c.feeder(); ok && c.authPossible() {
			p.answer(480, "Authentication required")
		} else {
			p.answer(502, "Transit not permitted")
		}
		return "", false
	}
	return r.args[0], true
}

// cmdTakeThis serves TAKETHIS. The article that follows is always read,
// even when the command is refused, so the stream stays in sync.
func cmdTakeThis(c *conn, r request) error {
	art, err := c.readArticle(false)
	p := c.pipeline()
	if c.drainRefusal(err) {
		id := ""
		if len(r.args) == 1 {
			id = r.args[0] + " "
		}
		p.answer(439, id+"Article too large, closing connection")
		return err
	}
	if err != nil && !errors.Is(err, errTooLarge) && !errors.Is(err, errLineTooLong) {
		return err
	}
	id, ok := c.streamTarget(p, r, "TAKETHIS")
	if !ok {
		return nil
	}
	if err != nil {
		p.answer(439, id+" "+err.Error())
		return nil
	}
	f, _ := c.feeder()
	ctx := c.ctx
	p.submit(id, func() (int, string, bool) {
		if err := f.Receive(ctx, id, art); err != nil {
			e := feedResponse(err, CmdTakeThis, true)
			c.logFault(e)
			switch e.Code {
			case 439:
				return 439, fmt.Sprintf("%s %s", id, e.Msg), false
			case 400:
				return 400, e.Msg, true
			}
			return e.Code, e.Msg, false
		}
		return 239, id, false
	})
	return nil
}
