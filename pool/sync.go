package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/dial"
	"github.com/altcrypt/altcrypt/pool/spool"
	"github.com/altcrypt/altcrypt/pool/trial"
)

// SyncOptions tune Sync.
type SyncOptions struct {
	// OnlyMatches fetches only the articles whose Subject matches a
	// contact's hsub secret. It is faster and tells the server which
	// articles are yours; OnlyMatchesWarning says so.
	OnlyMatches bool
	// Timeout bounds each NNTP command (60 s when zero).
	Timeout time.Duration
	// OverChunk is how many article numbers one OVER asks for (when
	// zero: 1000, less on several connections so each gets a share).
	OverChunk int64
	// LockStep sends one BODY and waits for its answer, on Connections
	// connections at once, instead of pipelining: for a server that
	// mishandles pipelining, and the baseline of the sync benchmark.
	LockStep bool
	// Connections is how many connections fetch at once: in lock-step
	// (DefaultConnections when zero), or pipelined, each with its share
	// of the OVER chunks (DefaultPipelinedConnections when zero; the
	// extra ones only when there are chunks left for them).
	Connections int
	// Compress asks for COMPRESS DEFLATE (RFC 8054; refused: the sync
	// goes on uncompressed). It saves about a fifth of the bytes and
	// costs CPU at both ends: worth it on a slow link only.
	Compress bool
	// Window bounds the commands in flight on each pipelined connection
	// (DefaultWindow when zero).
	Window int
}

// DefaultConnections is the number of connections a lock-step sync uses.
const DefaultConnections = 4

// DefaultPipelinedConnections is the number of connections a pipelined
// sync uses. One fills a long link. More help only against a server that
// limits what one connection gets: against INN on loopback (a process
// per connection) four were slower than one on a busy 2-core machine,
// since each new nnrpd takes 0.4-0.9 s to start there and the processes
// share the same CPU (scripts/bench-sync; README).
const DefaultPipelinedConnections = 1

// OnlyMatchesWarning is what --only-matches reveals.
const OnlyMatchesWarning = "pool sync --only-matches: the server (and anyone watching the connection) sees which articles you fetch, " +
	"so it learns which messages are yours, links them to your address and to each other, and learns that you use hsub tags. " +
	"Messages without a matching tag (from senders who do not know your hsub secret) are not downloaded and will not be found."

// SyncStats sums up a Sync.
type SyncStats struct {
	Server     string
	From, To   int64 // article numbers covered (From > To: nothing new)
	Listed     int64 // articles the overview listed
	Fetched    int64 // bodies downloaded and stored
	Missing    int64 // listed but gone when fetched
	Expired    int64 // new articles that had expired before this sync
	Bytes      int64
	Elapsed    time.Duration
	Stopped    bool // interrupted; what was fetched is stored
	OnlyTagged bool
	Compressed bool // COMPRESS DEFLATE was active
}

// commit thresholds: a sync makes its progress durable at least this often.
const (
	commitEvery = time.Second
	commitBytes = 8 << 20
)

// Sync downloads every article of the group that is new since the last
// sync from server into the local store for that server. By default it
// fetches every body (OVER for the list, then BODY for each), so the server
// cannot tell which articles matter. The commands are pipelined on one
// connection (RFC 3977 section 3.5), so a far server costs one round trip
// per sync, not per article. Progress is committed as it goes; when ctx is
// cancelled, Sync sends nothing more, stores the articles in flight,
// commits, and returns with Stopped set and ctx's error, so a later Sync
// resumes with the next article and no article is fetched twice.
func (c *Client) Sync(ctx context.Context, server string, opt SyncOptions) (SyncStats, error) {
	start := time.Now()
	st := SyncStats{Server: server, OnlyTagged: opt.OnlyMatches}
	var matcher *hsub.Matcher
	if opt.OnlyMatches {
		secrets, err := c.Home.HsubSecrets()
		if err != nil {
			return st, err
		}
		if len(secrets) == 0 {
			return st, errors.New("pool: --only-matches needs hsub secrets (pool import --contact NAME --hsub SECRET)")
		}
		matcher = hsub.NewMatcher(secrets...)
	}
	dir := filepath.Join(c.Home.SpoolDir(), spool.DirName(server))
	w, err := spool.OpenWriter(dir, server, c.group())
	if err != nil {
		return st, err
	}
	defer w.Close()

	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	// Network commands run on a context that a stop request does not
	// cancel, so the article in flight is completed and stored.
	netCtx := context.WithoutCancel(ctx)
	copts := &nntp.ClientOptions{Timeout: timeout, DialTimeout: timeout, MaxArticleSize: spool.MaxBody}
	iso := dial.Isolation(dial.Sync) // one circuit for this sync, none shared with posts
	cl, _, err := c.dialReader(ctx, server, iso, copts)
	if err != nil {
		return st, err
	}
	defer cl.Close()
	if !opt.LockStep && opt.Compress {
		if st.Compressed, err = startCompress(netCtx, cl); err != nil {
			return st, serverError(server, "start compression on", err)
		}
	}
	g, err := cl.Group(netCtx, c.group())
	if err != nil {
		return st, serverError(server, "select "+c.group()+" on", err)
	}
	high := w.High()
	if g.High < high && g.Count > 0 {
		return st, fmt.Errorf("pool: %s says the last article of %s is %d, but this store already holds up to %d: "+
			"the server was renumbered or is another server; sync it under another name (e.g. its IP address)", server, c.group(), g.High, high)
	}
	from := high + 1
	if g.Count > 0 && g.Low > from {
		if high > 0 {
			st.Expired = g.Low - from
		}
		from = g.Low
	}
	st.From, st.To = from, g.High
	if g.Count == 0 || from > g.High {
		st.Elapsed = time.Since(start)
		_ = cl.Quit(netCtx)
		return st, nil
	}

	// In lock-step, more connections hide the round trip per article.
	// Servers may limit connections per address: use as many as they take.
	clients := []*nntp.Client{cl}
	want := opt.Connections
	if want <= 0 && opt.LockStep {
		want = DefaultConnections
	} else if want <= 0 {
		want = DefaultPipelinedConnections
	}
	for opt.LockStep && len(clients) < want {
		extra, _, err := c.dialReader(ctx, server, iso, copts)
		if err != nil {
			break
		}
		if _, err := extra.Group(netCtx, c.group()); err != nil {
			extra.Close()
			break
		}
		defer extra.Close()
		clients = append(clients, extra)
	}

	total := g.High - from + 1
	chunk := opt.OverChunk
	if chunk <= 0 {
		chunk = overChunkFor(total, want)
	}
	var done, pf, pb atomic.Int64
	stopProgress := c.startProgress(func() string {
		return fmt.Sprintf("pool sync %s: %d of %d articles (%d fetched, %d KiB)", server, done.Load(), total, pf.Load(), pb.Load()>>10)
	})
	defer stopProgress()

	lastCommit := time.Now()
	var pendingBytes int64
	commit := func(upTo int64) error {
		if err := w.Commit(upTo); err != nil {
			return fmt.Errorf("pool: saving the local store: %w", err)
		}
		lastCommit, pendingBytes = time.Now(), 0
		return nil
	}
	finish := func(err error) (SyncStats, error) {
		st.Elapsed = time.Since(start)
		return st, err
	}
	// Every article up to upTo is stored or deliberately skipped.
	upTo := from - 1
	consume := func(o *nntp.Overview, body []byte, missing bool) error {
		upTo = o.Number
		done.Store(o.Number - from + 1)
		if missing {
			st.Missing++
			return nil
		}
		rec := spool.Record{Kind: spool.KindRaw, Number: o.Number, MessageID: o.MessageID, Subject: o.Subject, Body: body}
		if t, err := mail.ParseDate(o.Date); err == nil {
			rec.Date = t.Unix()
		}
		if raw, err := trial.Dearmor(body); err == nil {
			rec.Kind, rec.Body = spool.KindOpenPGP, raw
		}
		if err := w.Append(&rec); err != nil {
			return err
		}
		st.Fetched++
		st.Bytes += int64(len(body))
		pf.Store(st.Fetched)
		pb.Store(st.Bytes)
		pendingBytes += int64(len(body))
		if time.Since(lastCommit) >= commitEvery || pendingBytes >= commitBytes {
			return commit(upTo)
		}
		return nil
	}
	var pickMu sync.Mutex // pipelined connections list at once
	pick := func(lo, hi int64, list []*nntp.Overview) []*nntp.Overview {
		pickMu.Lock()
		defer pickMu.Unlock()
		st.Listed += int64(len(list))
		var todo []*nntp.Overview
		last := lo - 1
		for _, o := range list {
			if o.Number <= last {
				continue // out of order or repeated: never store twice
			}
			last = o.Number
			if matcher != nil && matcher.Match(o.Subject) < 0 {
				continue
			}
			todo = append(todo, o)
		}
		return todo
	}
	// stopped ends a sync that did not cover the range: keep what is
	// complete, then report.
	stopped := func(ferr error) (SyncStats, error) {
		if err := commit(upTo); err != nil {
			return finish(err)
		}
		if ferr != nil {
			var fe *fetchError
			var le *listError
			switch {
			case errors.As(ferr, &fe):
				return finish(serverError(server, fmt.Sprintf("fetch article %d from", fe.number), fe.err))
			case errors.As(ferr, &le):
				return finish(serverError(server, "list articles (OVER) on", le.err))
			}
			return finish(ferr)
		}
		st.Stopped = true
		return finish(ctx.Err())
	}
	if !opt.LockStep {
		dial := func(dctx context.Context) (*nntp.Client, error) {
			extra, _, err := c.dialReader(dctx, server, iso, copts)
			if err != nil {
				return nil, err
			}
			if opt.Compress {
				if _, err := startCompress(dctx, extra); err != nil {
					extra.Close()
					return nil, err
				}
			}
			if _, err := extra.Group(dctx, c.group()); err != nil {
				extra.Close()
				return nil, err
			}
			return extra, nil
		}
		halted, ferr := fetchPipelined(ctx, netCtx, cl, want-1, dial, fetchPlan{
			from: from, high: g.High, chunk: chunk, window: opt.Window,
			pick: pick, consume: consume,
			covered: func(hi int64) error {
				upTo = hi
				done.Store(hi - from + 1)
				return commit(hi)
			},
		})
		if halted || ferr != nil {
			return stopped(ferr)
		}
		_ = cl.Quit(netCtx)
		return finish(nil)
	}
	for lo := from; lo <= g.High; lo += chunk {
		hi := min(lo+chunk-1, g.High)
		var list []*nntp.Overview
		err := cl.Over(netCtx, fmt.Sprintf("%d-%d", lo, hi), func(o *nntp.Overview) error {
			if o.Number >= lo && o.Number <= hi {
				list = append(list, o)
			}
			return nil
		})
		if err != nil && !isNoArticles(err) {
			return finish(serverError(server, "list articles (OVER) on", err))
		}
		todo := pick(lo, hi, list)
		upTo = lo - 1
		halted, ferr := fetchBodies(ctx, netCtx, clients, todo, consume)
		if halted || ferr != nil {
			return stopped(ferr)
		}
		// The whole range is covered, gaps included.
		if err := commit(hi); err != nil {
			return finish(err)
		}
		done.Store(hi - from + 1)
	}
	for _, c := range clients {
		_ = c.Quit(netCtx)
	}
	return finish(nil)
}

// startCompress asks for COMPRESS DEFLATE: armor is base64, and DEFLATE
// saves about a quarter of the bytes. A server without it refuses, and
// the connection goes on uncompressed.
func startCompress(ctx context.Context, cl *nntp.Client) (bool, error) {
	var ne *nntp.Error
	if err := cl.Compress(ctx); err != nil && !errors.As(err, &ne) {
		return false, err
	}
	return cl.Compressed(), nil
}

// overChunkFor is how many article numbers one OVER asks for: 1000, or
// less so that every connection gets a few chunks of a short range.
func overChunkFor(total int64, conns int) int64 {
	if conns <= 1 {
		return 1000
	}
	return min(1000, max(100, (total+int64(4*conns)-1)/int64(4*conns)))
}

type fetchError struct {
	number int64
	err    error
}

func (e *fetchError) Error() string { return fmt.Sprintf("article %d: %v", e.number, e.err) }

// fetchBodies fetches the bodies of todo over the clients at once and
// hands them to consume in order (missing: the server no longer has it).
// When ctx is cancelled no new fetch starts, those in flight finish and are
// consumed, and stopped is true: what was handed out is always a prefix of
// todo, so the articles consumed are exactly the ones fetched.
func fetchBodies(ctx, netCtx context.Context, clients []*nntp.Client, todo []*nntp.Overview, consume func(o *nntp.Overview, body []byte, missing bool) error) (stopped bool, err error) {
	type result struct {
		body []byte
		err  error
		done chan struct{}
	}
	res := make([]result, len(todo))
	for i := range res {
		res[i].done = make(chan struct{})
	}
	// A window bounds how far fetching runs ahead of consuming (memory).
	window := make(chan struct{}, 16*len(clients))
	var next atomic.Int64
	var halt atomic.Bool
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The window is only flow control: a worker that takes a
			// slot and then has nothing to fetch gives one back if there
			// is one to give (never blocking: the consumer may have
			// taken it already).
			release := func() {
				select {
				case <-window:
				default:
				}
			}
			for {
				window <- struct{}{}
				if halt.Load() || ctx.Err() != nil {
					release()
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(todo) {
					release()
					return
				}
				_, _, body, err := cl.Body(netCtx, strconv.FormatInt(todo[i].Number, 10))
				res[i].body, res[i].err = body, err
				close(res[i].done)
				if err != nil && !isGone(err) {
					halt.Store(true) // this connection is no longer usable
					return
				}
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	defer func() {
		halt.Store(true)
		// Free the workers blocked on the window, then wait for them.
		for {
			select {
			case <-window:
				continue
			case <-allDone:
				return
			}
		}
	}()
	for i := range todo {
		select {
		case <-res[i].done:
		case <-allDone:
			select {
			case <-res[i].done:
			default:
				// Never handed out: the workers stopped.
				if e := ctx.Err(); e != nil {
					return true, nil
				}
				return false, errors.New("pool: fetching stopped early")
			}
		}
		select { // give the slot back (never block: see release above)
		case <-window:
		default:
		}
		r := &res[i]
		if r.err != nil && !isGone(r.err) {
			return false, &fetchError{number: todo[i].Number, err: r.err}
		}
		if err := consume(todo[i], r.body, r.err != nil); err != nil {
			return false, err
		}
		r.body = nil
	}
	return ctx.Err() != nil, nil
}

// isGone reports an article that was listed but is no longer there.
func isGone(err error) bool {
	var ne *nntp.Error
	return errors.As(err, &ne) && (ne.Code == 423 || ne.Code == 430)
}

func isNoArticles(err error) bool {
	var ne *nntp.Error
	return errors.As(err, &ne) && (ne.Code == 423 || ne.Code == 420)
}

// serverError turns a client error into a message that says what failed.
func serverError(server, what string, err error) error {
	var ne *nntp.Error
	var op *net.OpError
	switch {
	case errors.As(err, &ne):
		return &answerError{fmt.Sprintf("pool: could not %s %s: the server answered %q", what, server, ne.Error()), ne}
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Errorf("pool: could not %s %s: the server is down or unreachable (%v)", what, server, op.Err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("pool: could not %s %s: no answer in time", what, server)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("pool: could not %s %s: the server closed the connection", what, server)
	case errors.As(err, &op):
		return fmt.Errorf("pool: could not %s %s: %v", what, server, op.Err)
	default:
		return fmt.Errorf("pool: could not %s %s: it answered oddly (is it a news server?): %w", what, server, err)
	}
}

// answerError says what the server answered, and keeps the answer for
// callers that act on its code (errors.As).
type answerError struct {
	text string
	ne   *nntp.Error
}

func (e *answerError) Error() string { return e.text }
func (e *answerError) Unwrap() error { return e.ne }

// startProgress prints line() every interval until the returned function is
// called.
func (c *Client) startProgress(line func() string) func() {
	if c.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(c.every())
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.progressf("%s", line())
			}
		}
	}()
	return func() { close(stop); <-done }
}

// dialReader connects to a news server as c.Net says (proxy with SOCKS
// username iso, TLS) and switches it to reader mode: mode-switching
// servers (INN's innd) answer reader commands and POST only after MODE
// READER; others accept it harmlessly. It reports whether posting is
// allowed.
func (c *Client) dialReader(ctx context.Context, server, iso string, opts *nntp.ClientOptions) (*nntp.Client, bool, error) {
	cl, err := c.Net.NNTP(ctx, server, iso, opts)
	if err != nil {
		if dial.Explained(err) {
			return nil, false, fmt.Errorf("pool: could not connect to %s: %w", server, err)
		}
		return nil, false, serverError(server, "connect to", err)
	}
	post, err := cl.ModeReader(ctx)
	if err != nil {
		var ne *nntp.Error
		if !errors.As(err, &ne) || ne.Code == 502 || ne.Code == 400 {
			cl.Close()
			return nil, false, serverError(server, "start reading on", err)
		}
		// 500/501: a server without MODE READER; go on as greeted.
		post = cl.PostingAllowed()
	}
	return cl, post, nil
}

// Post sends a composed article to server.
func (c *Client) Post(ctx context.Context, server string, article []byte) error {
	cl, post, err := c.dialReader(ctx, server, dial.Isolation(dial.Send), nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	if !post {
		return fmt.Errorf("pool: %s does not allow posting", server)
	}
	if err := cl.Post(ctx, article); err != nil {
		return serverError(server, "post to", err)
	}
	_ = cl.Quit(ctx)
	return nil
}
