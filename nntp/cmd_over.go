package nntp

import (
	"errors"
	"strconv"
	"strings"

	"github.com/altcrypt/altcrypt/news"
)

// overviewFormat is LIST OVERVIEW.FMT (RFC 3977 section 8.4). The
// metadata items are named "Bytes:" and "Lines:", the older spelling that
// section 8.4.2 allows for compatibility, as INN does: slrn looks for
// "Lines:" and shows 0 lines for every article when it reads ":lines".
var overviewFormat = []string{
	"Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:", "Xref:full",
}

// appendOverview appends the OVER line of o, numbered n, to b.
func appendOverview(b []byte, n int64, o *Overview) []byte {
	b = strconv.AppendInt(b, n, 10)
	for _, f := range []string{o.Subject, o.From, o.Date, o.MessageID, o.References} {
		b = append(b, '\t')
		b = append(b, cleanField(f)...)
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, o.Bytes, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, o.Lines, 10)
	b = append(b, '\t')
	if o.Xref != "" {
		b = append(b, "Xref: "...)
		b = append(b, cleanField(o.Xref)...)
	}
	return b
}

// selection is what OVER and HDR operate on: one article by message-id,
// or a range of the current group.
type selection struct {
	byID    bool
	id      string
	rng     Range
	current bool
}

// resolveSelection reads the optional message-id-or-range argument of OVER
// and HDR, answering 501, 412 or 420 itself (then ok=false).
func (c *conn) resolveSelection(arg string, have bool) (s selection, ok bool) {
	if have && news.ValidMessageID(arg) {
		return selection{byID: true, id: arg}, true
	}
	if c.group == "" {
		if have && arg != "" {
			if _, err := ParseRange(arg); err != nil {
				c.reply(501, "Invalid range or message-id")
				return s, false
			}
		}
		c.reply(412, "No newsgroup selected")
		return s, false
	}
	if !have {
		if c.cur == 0 {
			c.reply(420, "Current article number is invalid")
			return s, false
		}
		return selection{rng: Range{Low: c.cur, High: c.cur}, current: true}, true
	}
	rng, err := ParseRange(arg)
	if err != nil {
		c.reply(501, "Invalid range or message-id")
		return s, false
	}
	return selection{rng: rng}, true
}

// noneResponse answers an OVER or HDR that found nothing.
func (c *conn) noneResponse(s selection) {
	switch {
	case s.byID:
		c.reply(430, "No article with that message-id")
	case s.current:
		c.reply(420, "Current article number is invalid")
	default:
		c.reply(423, "No articles in that range")
	}
}

func cmdOver(c *conn, r request) error {
	if len(r.args) > 1 {
		c.reply(501, "Syntax: "+r.kw+" [range|message-id]")
		return nil
	}
	var arg string
	if len(r.args) == 1 {
		arg = r.args[0]
	}
	s, ok := c.resolveSelection(arg, len(r.args) == 1)
	if !ok {
		return nil
	}
	status := func() { c.reply(224, "Overview information follows") }
	if s.byID {
		o, err := c.sess.OverviewByID(c.ctx, s.id)
		if err != nil {
			c.replyErr(err, CmdByID)
			return nil
		}
		status()
		c.scratch = appendOverview(c.scratch[:0], 0, o)
		c.out.lineBytes(c.scratch)
		c.out.end()
		return nil
	}
	if s.rng.Empty() {
		c.noneResponse(s)
		return nil
	}
	started := false
	err := c.sess.Overview(c.ctx, c.group, s.rng, func(o *Overview) error {
		if !started {
			started = true
			status()
		}
		c.scratch = appendOverview(c.scratch[:0], o.Number, o)
		c.out.lineBytes(c.scratch)
		return c.writeErr()
	})
	return c.finishStream(s, started, err, CmdByNumber)
}

// finishStream ends a multi-line response produced by a backend callback:
// it answers an error that came before the first line, ends the block
// after the last, and closes the connection when the backend failed in
// the middle (a block cannot carry an error).
func (c *conn) finishStream(s selection, started bool, err error, fam CommandFamily) error {
	if werr := c.writeErr(); werr != nil {
		return werr
	}
	if err != nil {
		if started {
			c.log.Error("nntp: backend failed during a response", "err", err)
			return err
		}
		if errors.Is(err, ErrNoSuchArticle) {
			c.noneResponse(s)
			return nil
		}
		c.replyErr(err, fam)
		return nil
	}
	if !started {
		c.noneResponse(s)
		return nil
	}
	c.out.end()
	return nil
}

// overviewHeader maps the HDR field names answered from the overview.
func overviewHeader(field string) (func(*Overview) string, bool) {
	switch strings.ToLower(field) {
	case "subject":
		return func(o *Overview) string { return o.Subject }, true
	case "from":
		return func(o *Overview) string { return o.From }, true
	case "date":
		return func(o *Overview) string { return o.Date }, true
	case "message-id":
		return func(o *Overview) string { return o.MessageID }, true
	case "references":
		return func(o *Overview) string { return o.References }, true
	case "xref":
		return func(o *Overview) string { return o.Xref }, true
	case ":bytes", "bytes":
		return func(o *Overview) string { return strconv.FormatInt(o.Bytes, 10) }, true
	case ":lines", "lines":
		return func(o *Overview) string { return strconv.FormatInt(o.Lines, 10) }, true
	}
	return nil, false
}

// cmdHdr serves HDR (RFC 3977 section 8.5) and XHDR (RFC 2980). Overview
// fields and the :bytes/:lines metadata come from Overview; any other
// header is read from the stored articles, at most MaxHeaderScan of them
// per command.
func cmdHdr(c *conn, r request) error {
	if len(r.args) < 1 || len(r.args) > 2 {
		c.reply(501, "Syntax: "+r.kw+" field [range|message-id]")
		return nil
	}
	field := r.args[0]
	var arg string
	if len(r.args) == 2 {
		arg = r.args[1]
	}
	get, fromOverview := overviewHeader(field)
	if !fromOverview && strings.HasPrefix(field, ":") {
		c.reply(503, "Metadata item not supported")
		return nil
	}
	s, ok := c.resolveSelection(arg, len(r.args) == 2)
	if !ok {
		return nil
	}
	code, text := 225, "Headers follow"
	if r.kw == "XHDR" {
		code, text = 221, field+" fields follow"
	}
	started := false
	emit := func(n int64, v string) error {
		if !started {
			started = true
			c.reply(code, text)
		}
		c.out.numberLine(n, cleanField(v))
		return c.writeErr()
	}

	if s.byID {
		var v string
		if fromOverview {
			o, err := c.sess.OverviewByID(c.ctx, s.id)
			if err != nil {
				c.replyErr(err, CmdByID)
				return nil
			}
			v = get(o)
		} else {
			a, err := c.sess.ArticleByID(c.ctx, s.id)
			if err != nil {
				c.replyErr(err, CmdByID)
				return nil
			}
			v, _ = headerValue(a.Header, field)
		}
		emit(0, v)
		c.out.end()
		return nil
	}
	if s.rng.Empty() {
		c.noneResponse(s)
		return nil
	}
	if fromOverview {
		err := c.sess.Overview(c.ctx, c.group, s.rng, func(o *Overview) error {
			return emit(o.Number, get(o))
		})
		return c.finishStream(s, started, err, CmdByNumber)
	}
	// Each article is read whole: bound how many one command may read,
	// and so the numbers held, the queries made and the bytes read.
	g, err := c.sess.Group(c.ctx, c.group)
	if err != nil {
		return c.finishStream(s, false, err, CmdByNumber)
	}
	low, high := max(s.rng.Low, g.Low), g.High
	if s.rng.High >= 0 {
		high = min(s.rng.High, g.High)
	}
	if limit := c.srv.maxHeaderScan(); high-low >= int64(limit) && g.Count > int64(limit) {
		c.replyf(503, "%s of a header outside the overview covers at most %d articles: ask a smaller range", r.kw, limit)
		return nil
	}
	nums, err := c.sess.Numbers(c.ctx, c.group, s.rng)
	if err != nil {
		return c.finishStream(s, false, err, CmdByNumber)
	}
	for _, n := range nums {
		a, err := c.sess.Article(c.ctx, c.group, n)
		if errors.Is(err, ErrNoSuchArticle) {
			continue // expired between Numbers and Article
		}
		if err != nil {
			return c.finishStream(s, started, err, CmdByNumber)
		}
		v, _ := headerValue(a.Header, field)
		if err := emit(n, v); err != nil {
			return err
		}
	}
	return c.finishStream(s, started, nil, CmdByNumber)
}
