package nntp

import (
	"bufio"
	"compress/flate"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

// ClientOptions tune a Client. The zero value (or nil) gives the defaults.
type ClientOptions struct {
	// TLSConfig is used by DialTLS and by StartTLS when it is given nil.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting and reading the greeting (default 30 s).
	DialTimeout time.Duration
	// Timeout bounds each read and write of a command when the context
	// has no earlier deadline (default 60 s; negative for none).
	Timeout time.Duration
	// MaxLineLength bounds one response line (default 64 KiB).
	MaxLineLength int
	// MaxArticleSize bounds an article returned by Article, Head or Body
	// (default 16 MiB).
	MaxArticleSize int
}

func (o *ClientOptions) withDefaults() ClientOptions {
	var r ClientOptions
	if o != nil {
		r = *o
	}
	r.DialTimeout = orDur(r.DialTimeout, 30*time.Second)
	if r.Timeout == 0 {
		r.Timeout = time.Minute
	}
	r.MaxLineLength = orInt(r.MaxLineLength, 64<<10)
	r.MaxArticleSize = orInt(r.MaxArticleSize, 16<<20)
	return r
}

// Client is an NNTP client connection. Its methods may be called from
// several goroutines but run one command at a time. Each method takes a
// context: its deadline bounds the command and cancelling it aborts the
// command (the connection is then unusable, since the stream may be out
// of step). Unexpected responses are returned as *Error with the server's
// code and text; I/O and protocol errors make every later call fail.
type Client struct {
	opts ClientOptions
	raw  net.Conn
	cc   *clientConn
	br   *bufio.Reader
	bw   *bufio.Writer

	mu       sync.Mutex
	broken   error
	greeting *Error // the greeting as code and text
	isTLS    bool
	lineBuf  []byte
	guard    *bombGuard // set once COMPRESS is active
}

// clientConn applies the command's deadline (the context's, or Timeout
// from now at each operation, whichever is earlier) and cancellation.
type clientConn struct {
	net.Conn
	timeout  time.Duration
	limit    atomic.Int64 // unix nanos of the context deadline, 0 if none
	canceled atomic.Bool
}

func (c *clientConn) deadline() time.Time {
	var d time.Time
	if c.timeout > 0 {
		d = time.Now().Add(c.timeout)
	}
	if l := c.limit.Load(); l != 0 {
		if lt := time.Unix(0, l); d.IsZero() || lt.Before(d) {
			d = lt
		}
	}
	return d
}

var errCanceled = errors.New("nntp: command canceled")

func (c *clientConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(c.deadline())
	if c.canceled.Load() {
		return 0, errCanceled
	}
	quickAck(c.Conn)
	return c.Conn.Read(p)
}

func (c *clientConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(c.deadline())
	if c.canceled.Load() {
		return 0, errCanceled
	}
	return c.Conn.Write(p)
}

// Dial connects to addr ("host:port") and reads the greeting.
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	o := opts.withDefaults()
	d := net.Dialer{Timeout: o.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClient(ctx, nc, o, false)
}

// DialTLS connects to an NNTPS port (implicit TLS, usually 563) using
// opts.TLSConfig (a default config for the host of addr if nil).
func DialTLS(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	o := opts.withDefaults()
	cfg := o.TLSConfig
	if cfg == nil {
		host, _, _ := net.SplitHostPort(addr)
		cfg = &tls.Config{ServerName: host}
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: o.DialTimeout}, Config: cfg}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClient(ctx, nc, o, true)
}

// NewClient runs a client over an established connection (for example
// one end of net.Pipe) and reads the greeting. opts may be nil.
func NewClient(conn net.Conn, opts *ClientOptions) (*Client, error) {
	_, isTLS := conn.(*tls.Conn)
	return newClient(context.Background(), conn, opts.withDefaults(), isTLS)
}

func newClient(ctx context.Context, nc net.Conn, o ClientOptions, isTLS bool) (*Client, error) {
	c := &Client{opts: o, raw: nc, isTLS: isTLS}
	c.setConn(nc)
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	end := c.begin(ctx)
	defer end()
	code, msg, err := c.readStatus()
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.greeting = &Error{Code: code, Msg: msg}
	if code != 200 && code != 201 {
		nc.Close()
		return nil, c.greeting
	}
	return c, nil
}

func (c *Client) setConn(nc net.Conn) {
	c.cc = &clientConn{Conn: nc, timeout: c.opts.Timeout}
	c.br = bufio.NewReaderSize(c.cc, 16<<10)
	c.bw = bufio.NewWriterSize(c.cc, 16<<10)
}

// Greeting returns the server's greeting code (200 or 201) and text.
func (c *Client) Greeting() (int, string) { return c.greeting.Code, c.greeting.Msg }

// PostingAllowed reports whether the greeting (or the last MODE READER)
// said posting is allowed.
func (c *Client) PostingAllowed() bool { return c.greeting.Code == 200 }

// IsTLS reports whether the connection is encrypted.
func (c *Client) IsTLS() bool { return c.isTLS }

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.raw.Close() }

// begin starts a command: it takes the client's lock and arms the
// context's deadline and cancellation.
func (c *Client) begin(ctx context.Context) (end func()) {
	c.mu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		c.cc.limit.Store(dl.UnixNano())
	} else {
		c.cc.limit.Store(0)
	}
	cc := c.cc
	interrupt := func() {
		cc.canceled.Store(true)
		cc.Conn.SetDeadline(time.Unix(1, 0))
	}
	if ctx.Err() != nil {
		// AfterFunc would interrupt from another goroutine, possibly
		// after the command had run: fail it for certain.
		interrupt()
	}
	stop := context.AfterFunc(ctx, interrupt)
	return func() {
		if !stop() && ctx.Err() != nil && c.broken == nil {
			c.broken = fmt.Errorf("nntp: command interrupted: %w", ctx.Err())
		}
		c.mu.Unlock()
	}
}

// fail records an I/O or protocol error that leaves the stream unusable.
func (c *Client) fail(err error) error {
	if c.broken == nil {
		c.broken = err
	}
	return err
}

func (c *Client) readLine() ([]byte, error) {
	line, err := readLine(c.br, c.opts.MaxLineLength, 1<<20, c.lineBuf)
	if err != nil {
		return nil, err
	}
	c.lineBuf = line[:0]
	return line, nil
}

// readStatus reads a status line: three digits, then optional text.
func (c *Client) readStatus() (int, string, error) {
	if c.guard != nil {
		c.guard.reset()
	}
	line, err := c.readLine()
	if err != nil {
		return 0, "", c.fail(err)
	}
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ') {
		return 0, "", c.fail(fmt.Errorf("nntp: malformed response %q", truncate(line)))
	}
	code, err := strconv.Atoi(string(line[:3]))
	if err != nil || code < 100 || code > 599 {
		return 0, "", c.fail(fmt.Errorf("nntp: malformed response %q", truncate(line)))
	}
	msg := ""
	if len(line) > 4 {
		msg = string(line[4:])
	}
	return code, msg, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// send writes one command line and flushes it.
func (c *Client) send(line string) error {
	if c.broken != nil {
		return c.broken
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return errors.New("nntp: command contains CR, LF or NUL")
	}
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return c.fail(err)
	}
	return nil
}

// roundTrip sends line and returns the status if its code is one of want.
func (c *Client) roundTrip(line string, want ...int) (int, string, error) {
	if err := c.send(line); err != nil {
		return 0, "", err
	}
	code, msg, err := c.readStatus()
	if err != nil {
		return 0, "", err
	}
	for _, w := range want {
		if code == w {
			return code, msg, nil
		}
	}
	return code, msg, &Error{Code: code, Msg: msg}
}

// readBlock reads a data block line by line, undoing dot-stuffing. A line
// longer than MaxLineLength, or an error from fn, is reported after the
// rest of the block has been read, so the connection stays usable.
func (c *Client) readBlock(fn func(line []byte) error) error {
	var first error
	for {
		line, err := c.readLine()
		if errors.Is(err, errLineTooLong) {
			if first == nil {
				first = err
			}
			continue
		}
		if err != nil {
			return c.fail(err)
		}
		if len(line) == 1 && line[0] == '.' {
			return first
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if first == nil {
			first = fn(line)
		}
	}
}

func (c *Client) readLines() ([]string, error) {
	var out []string
	err := c.readBlock(func(l []byte) error {
		out = append(out, string(l))
		return nil
	})
	return out, err
}

// Command sends a raw command line and returns its status. Use it only for
// commands with a single-line response.
func (c *Client) Command(ctx context.Context, line string) (int, string, error) {
	defer c.begin(ctx)()
	if err := c.send(line); err != nil {
		return 0, "", err
	}
	return c.readStatus()
}

// Capabilities returns the capability lines (RFC 3977 section 5.2).
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip("CAPABILITIES", 101); err != nil {
		return nil, err
	}
	return c.readLines()
}

// ModeReader sends MODE READER and reports whether posting is allowed.
func (c *Client) ModeReader(ctx context.Context) (bool, error) {
	defer c.begin(ctx)()
	code, msg, err := c.roundTrip("MODE READER", 200, 201)
	if err != nil {
		return false, err
	}
	c.greeting = &Error{Code: code, Msg: msg}
	return code == 200, nil
}

// ModeStream asks for streaming (RFC 4644); nil means 203.
func (c *Client) ModeStream(ctx context.Context) error {
	defer c.begin(ctx)()
	_, _, err := c.roundTrip("MODE STREAM", 203)
	return err
}

// AuthInfo logs in with AUTHINFO USER/PASS (RFC 4643).
func (c *Client) AuthInfo(ctx context.Context, user, pass string) error {
	defer c.begin(ctx)()
	code, _, err := c.roundTrip("AUTHINFO USER "+user, 381, 281)
	if err != nil || code == 281 {
		return err
	}
	_, _, err = c.roundTrip("AUTHINFO PASS "+pass, 281)
	return err
}

// StartTLS upgrades the connection (RFC 4642). cfg nil uses
// ClientOptions.TLSConfig. Afterwards the server has forgotten all state;
// ask Capabilities again.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if cfg == nil {
		cfg = c.opts.TLSConfig
	}
	if cfg == nil {
		return errors.New("nntp: StartTLS needs a tls.Config")
	}
	defer c.begin(ctx)()
	if c.isTLS {
		return errors.New("nntp: already using TLS")
	}
	if c.guard != nil {
		return errors.New("nntp: STARTTLS after COMPRESS")
	}
	if _, _, err := c.roundTrip("STARTTLS", 382); err != nil {
		return err
	}
	if c.br.Buffered() > 0 {
		return c.fail(errors.New("nntp: server sent data after 382"))
	}
	tc := tls.Client(c.raw, cfg)
	if dl := c.cc.deadline(); !dl.IsZero() {
		tc.SetDeadline(dl)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return c.fail(err)
	}
	tc.SetDeadline(time.Time{})
	c.raw = tc
	c.setConn(tc)
	c.isTLS = true
	return nil
}

// Compress turns on COMPRESS DEFLATE (RFC 8054): from its 206 on, both
// directions are compressed. A server without it answers with an *Error
// (500, 502, 503...) and the connection goes on uncompressed. The answer
// to each command may inflate to 1 MiB plus 100 times its compressed
// size; past that (a decompression bomb) the connection fails.
func (c *Client) Compress(ctx context.Context) error {
	defer c.begin(ctx)()
	if c.guard != nil {
		return errors.New("nntp: compression already active")
	}
	if _, _, err := c.roundTrip("COMPRESS DEFLATE", 206); err != nil {
		return err
	}
	zw, err := flate.NewWriter(c.cc, compressLevel)
	if err != nil {
		return c.fail(err)
	}
	in := &countingReader{r: c.cc}
	c.guard = &bombGuard{in: in}
	c.guard.zr = inflateAfter(c.br, in)
	c.br = bufio.NewReaderSize(c.guard, 16<<10)
	c.bw = bufio.NewWriterSize(syncFlushWriter{zw}, 16<<10)
	return nil
}

// Compressed reports whether COMPRESS is active.
func (c *Client) Compressed() bool { return c.guard != nil }

func parseGroupStatus(msg string) (Group, error) {
	f := strings.Fields(msg)
	if len(f) < 4 {
		return Group{}, fmt.Errorf("nntp: malformed group response %q", msg)
	}
	var g Group
	var ok1, ok2, ok3 bool
	g.Count, ok1 = parseNumber(f[0])
	g.Low, ok2 = parseNumber(f[1])
	g.High, ok3 = parseNumber(f[2])
	if !ok1 || !ok2 || !ok3 {
		return Group{}, fmt.Errorf("nntp: malformed group response %q", msg)
	}
	g.Name = f[3]
	return g, nil
}

// Group selects a newsgroup and returns its count, low and high marks.
func (c *Client) Group(ctx context.Context, name string) (Group, error) {
	defer c.begin(ctx)()
	_, msg, err := c.roundTrip("GROUP "+name, 211)
	if err != nil {
		return Group{}, err
	}
	return parseGroupStatus(msg)
}

// ListGroup selects a group (the current one if name is empty) and lists
// its article numbers, within r if r is not nil.
func (c *Client) ListGroup(ctx context.Context, name string, r *Range) (Group, []int64, error) {
	defer c.begin(ctx)()
	line := "LISTGROUP"
	if name != "" {
		line += " " + name
		if r != nil {
			line += " " + r.String()
		}
	}
	_, msg, err := c.roundTrip(line, 211)
	if err != nil {
		return Group{}, nil, err
	}
	var nums []int64
	err = c.readBlock(func(l []byte) error {
		n, ok := parseNumber(string(l))
		if !ok {
			return fmt.Errorf("nntp: malformed LISTGROUP line %q", l)
		}
		nums = append(nums, n)
		return nil
	})
	if err != nil {
		return Group{}, nil, err
	}
	g, err := parseGroupStatus(msg)
	return g, nums, err
}

func parseActive(lines []string) ([]Group, error) {
	out := make([]Group, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 {
			return nil, fmt.Errorf("nntp: malformed active line %q", l)
		}
		hi, ok1 := parseNumber(f[1])
		lo, ok2 := parseNumber(f[2])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("nntp: malformed active line %q", l)
		}
		out = append(out, Group{Name: f[0], High: hi, Low: lo, Status: f[3]})
	}
	return out, nil
}

// ListActive returns LIST ACTIVE for the groups matching wildmat (all if
// empty). Count is not part of LIST ACTIVE and is left 0.
func (c *Client) ListActive(ctx context.Context, wildmat string) ([]Group, error) {
	lines, err := c.List(ctx, strings.TrimSpace("ACTIVE "+wildmat))
	if err != nil {
		return nil, err
	}
	return parseActive(lines)
}

// List sends "LIST args" and returns the lines of the answer (215).
func (c *Client) List(ctx context.Context, args string) ([]string, error) {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip(strings.TrimSpace("LIST "+args), 215); err != nil {
		return nil, err
	}
	return c.readLines()
}

// ParseOverview parses one OVER line in the RFC 3977 field order; an
// extra field starting "Xref:" fills Xref.
func ParseOverview(line string) (*Overview, error) {
	f := strings.Split(line, "\t")
	if len(f) < 8 {
		return nil, fmt.Errorf("nntp: malformed overview line %q", line)
	}
	n, ok := parseNumber(f[0])
	if !ok {
		return nil, fmt.Errorf("nntp: malformed overview line %q", line)
	}
	o := &Overview{Number: n, Subject: f[1], From: f[2], Date: f[3], MessageID: f[4], References: f[5]}
	o.Bytes, _ = strconv.ParseInt(strings.TrimSpace(f[6]), 10, 64)
	o.Lines, _ = strconv.ParseInt(strings.TrimSpace(f[7]), 10, 64)
	for _, x := range f[8:] {
		if len(x) >= 5 && strings.EqualFold(x[:5], "xref:") {
			o.Xref = strings.TrimSpace(x[5:])
		}
	}
	return o, nil
}

// Over streams the overview of spec: "" (the current article), a range
// ("n", "n-", "n-m") or a message-id. fn is called for each line; an error
// from it is returned after the rest of the response has been read.
func (c *Client) Over(ctx context.Context, spec string, fn func(*Overview) error) error {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip(strings.TrimSpace("OVER "+spec), 224); err != nil {
		return err
	}
	return c.readBlock(func(l []byte) error {
		o, err := ParseOverview(string(l))
		if err != nil {
			return err
		}
		return fn(o)
	})
}

// Hdr streams HDR field for spec ("" current, range or message-id),
// calling fn with each article number (0 by message-id) and value.
func (c *Client) Hdr(ctx context.Context, field, spec string, fn func(n int64, value string) error) error {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip(strings.TrimSpace("HDR "+field+" "+spec), 225); err != nil {
		return err
	}
	return c.readBlock(func(l []byte) error {
		num, val, _ := strings.Cut(string(l), " ")
		n, ok := parseNumber(num)
		if !ok {
			return fmt.Errorf("nntp: malformed HDR line %q", l)
		}
		return fn(n, val)
	})
}

// parseArticleStatus reads "n <message-id> ...".
func parseArticleStatus(msg string) (int64, string, error) {
	f := strings.Fields(msg)
	if len(f) < 2 {
		return 0, "", fmt.Errorf("nntp: malformed article response %q", msg)
	}
	n, ok := parseNumber(f[0])
	if !ok {
		return 0, "", fmt.Errorf("nntp: malformed article response %q", msg)
	}
	return n, f[1], nil
}

func (c *Client) fetch(ctx context.Context, verb string, want int, spec string) (int64, string, []byte, error) {
	defer c.begin(ctx)()
	_, msg, err := c.roundTrip(strings.TrimSpace(verb+" "+spec), want)
	if err != nil {
		return 0, "", nil, err
	}
	buf, err := c.readData()
	if err != nil {
		return 0, "", nil, err
	}
	n, id, err := parseArticleStatus(msg)
	return n, id, buf, err
}

// readData reads a data block into one buffer, CRLF line endings,
// dot-unstuffed. A block larger than MaxArticleSize is read to its end
// (the connection stays usable) and reported as an error.
func (c *Client) readData() ([]byte, error) {
	buf := []byte{}
	tooLarge := false
	err := c.readBlock(func(l []byte) error {
		if len(buf)+len(l)+2 > c.opts.MaxArticleSize {
			tooLarge = true
			return nil
		}
		buf = append(buf, l...)
		buf = append(buf, '\r', '\n')
		return nil
	})
	if err != nil {
		return nil, err
	}
	if tooLarge {
		return nil, fmt.Errorf("nntp: article larger than %d bytes", c.opts.MaxArticleSize)
	}
	return buf, nil
}

// Article fetches a whole article by spec: "" (current), a number or a
// message-id. It returns the number (0 by message-id), the message-id and
// the article with CRLF line endings, dot-unstuffed.
func (c *Client) Article(ctx context.Context, spec string) (int64, string, []byte, error) {
	return c.fetch(ctx, "ARTICLE", 220, spec)
}

// Head is Article for the header only (without the blank line).
func (c *Client) Head(ctx context.Context, spec string) (int64, string, []byte, error) {
	return c.fetch(ctx, "HEAD", 221, spec)
}

// Body is Article for the body only.
func (c *Client) Body(ctx context.Context, spec string) (int64, string, []byte, error) {
	return c.fetch(ctx, "BODY", 222, spec)
}

// Stat checks that an article exists, returning its number and message-id.
func (c *Client) Stat(ctx context.Context, spec string) (int64, string, error) {
	return c.step(ctx, strings.TrimSpace("STAT "+spec))
}

// Next moves to the next article of the group.
func (c *Client) Next(ctx context.Context) (int64, string, error) { return c.step(ctx, "NEXT") }

// Last moves to the previous article of the group.
func (c *Client) Last(ctx context.Context) (int64, string, error) { return c.step(ctx, "LAST") }

func (c *Client) step(ctx context.Context, line string) (int64, string, error) {
	defer c.begin(ctx)()
	_, msg, err := c.roundTrip(line, 223)
	if err != nil {
		return 0, "", err
	}
	return parseArticleStatus(msg)
}

// sendArticle writes an article as a data block: dot-stuffed, CRLF line
// endings (bare LF is converted), terminated by ".".
func (c *Client) sendArticle(article []byte) error {
	w := dotWriter{c.bw}
	w.text(article)
	w.end()
	if err := c.bw.Flush(); err != nil {
		return c.fail(err)
	}
	return nil
}

// Post posts an article (RFC 3977 section 6.3.1). A refusal (440, 441...)
// is returned as *Error with the server's reason.
func (c *Client) Post(ctx context.Context, article []byte) error {
	return c.transfer(ctx, "POST", 340, article, 240)
}

// IHave offers an article by IHAVE (RFC 3977 section 6.3.2). nil means
// 235; 435, 436 and 437 come back as *Error.
func (c *Client) IHave(ctx context.Context, id string, article []byte) error {
	return c.transfer(ctx, "IHAVE "+id, 335, article, 235)
}

// transfer sends cmd, and on the go-ahead code sends the article and
// expects done; any other answer comes back as *Error.
func (c *Client) transfer(ctx context.Context, cmd string, goAhead int, article []byte, done int) error {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip(cmd, goAhead); err != nil {
		return err
	}
	if err := c.sendArticle(article); err != nil {
		return err
	}
	code, msg, err := c.readStatus()
	if err != nil {
		return err
	}
	if code != done {
		return &Error{Code: code, Msg: msg}
	}
	return nil
}

// Check sends one CHECK (RFC 4644): nil means 238 (send it); 431 and 438
// come back as *Error.
func (c *Client) Check(ctx context.Context, id string) error {
	res, err := c.Stream(ctx, []StreamCommand{{MessageID: id}})
	if err != nil {
		return err
	}
	return res[0].Err()
}

// TakeThis sends one TAKETHIS with its article: nil means 239.
func (c *Client) TakeThis(ctx context.Context, id string, article []byte) error {
	res, err := c.Stream(ctx, []StreamCommand{{MessageID: id, Article: article, TakeThis: true}})
	if err != nil {
		return err
	}
	return res[0].Err()
}

// StreamCommand is one CHECK (TakeThis false) or TAKETHIS with Article.
type StreamCommand struct {
	MessageID string
	TakeThis  bool
	Article   []byte
}

// StreamResult is the server's answer to one StreamCommand.
type StreamResult struct {
	Code int
	Msg  string
}

// Err returns nil for 238 and 239, else the response as *Error.
func (r StreamResult) Err() error {
	if r.Code == 238 || r.Code == 239 {
		return nil
	}
	return &Error{Code: r.Code, Msg: r.Msg}
}

// Stream pipelines CHECK and TAKETHIS commands (RFC 4644): it writes them
// all without waiting while reading the answers in order, so a batch costs
// one round trip. Results are in the order of cmds. If the server answers
// 400 (try later) or the connection fails, the results so far are returned
// with the error; commands without a result were not acknowledged.
func (c *Client) Stream(ctx context.Context, cmds []StreamCommand) ([]StreamResult, error) {
	defer c.begin(ctx)()
	if c.broken != nil {
		return nil, c.broken
	}
	for _, cmd := range cmds {
		if !news.ValidMessageID(cmd.MessageID) {
			return nil, fmt.Errorf("nntp: invalid message-id %q", cmd.MessageID)
		}
	}
	werr := make(chan error, 1)
	go func() {
		for _, cmd := range cmds {
			if cmd.TakeThis {
				c.bw.WriteString("TAKETHIS " + cmd.MessageID + "\r\n")
				w := dotWriter{c.bw}
				w.text(cmd.Article)
				w.end()
			} else {
				c.bw.WriteString("CHECK " + cmd.MessageID + "\r\n")
			}
		}
		werr <- c.bw.Flush()
	}()
	results := make([]StreamResult, 0, len(cmds))
	var rerr error
	for _, cmd := range cmds {
		code, msg, err := c.readStatus()
		if err != nil {
			rerr = err
			break
		}
		if code == 400 {
			rerr = c.fail(&Error{Code: code, Msg: msg})
			break
		}
		// 238/431/438 and 239/439 carry the message-id first.
		switch code {
		case 238, 431, 438, 239, 439:
			if f := strings.Fields(msg); len(f) == 0 || f[0] != cmd.MessageID {
				rerr = c.fail(fmt.Errorf("nntp: response %d %q does not match %s", code, msg, cmd.MessageID))
			}
		}
		if rerr != nil {
			break
		}
		results = append(results, StreamResult{Code: code, Msg: msg})
	}
	if rerr != nil {
		// Unblock the writer if the server stopped reading.
		c.cc.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
	if err := <-werr; err != nil && rerr == nil {
		rerr = c.fail(err)
	}
	return results, rerr
}

// Date returns the server's clock (DATE, RFC 3977 section 7.1).
func (c *Client) Date(ctx context.Context) (time.Time, error) {
	defer c.begin(ctx)()
	_, msg, err := c.roundTrip("DATE", 111)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse("20060102150405", strings.TrimSpace(msg))
}

func formatSince(t time.Time) string {
	return t.UTC().Format("20060102 150405") + " GMT"
}

// NewNews lists the message-ids of articles in groups matching wildmat
// that arrived since t.
func (c *Client) NewNews(ctx context.Context, wildmat string, since time.Time) ([]string, error) {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip("NEWNEWS "+wildmat+" "+formatSince(since), 230); err != nil {
		return nil, err
	}
	return c.readLines()
}

// NewGroups lists the groups created since t.
func (c *Client) NewGroups(ctx context.Context, since time.Time) ([]Group, error) {
	defer c.begin(ctx)()
	if _, _, err := c.roundTrip("NEWGROUPS "+formatSince(since), 231); err != nil {
		return nil, err
	}
	lines, err := c.readLines()
	if err != nil {
		return nil, err
	}
	return parseActive(lines)
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	end := c.begin(ctx)
	_, _, err := c.roundTrip("QUIT", 205)
	end()
	if cerr := c.raw.Close(); err == nil {
		err = cerr
	}
	return err
}
