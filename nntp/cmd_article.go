package nntp

import (
	"errors"

	"github.com/altcrypt/altcrypt/news"
)

// target is the article a command names: by message-id, by number in the
// current group, or the current article.
type target struct {
	byID bool
	id   string
	n    int64
}

// resolveTarget reads the optional argument of ARTICLE, HEAD, BODY, STAT
// (and OVER/HDR without a range). It answers 501, 412 or 420 itself and
// then returns ok=false.
func (c *conn) resolveTarget(args []string) (t target, ok bool) {
	switch {
	case len(args) > 1:
		c.reply(501, "Too many arguments")
		return t, false
	case len(args) == 1 && news.ValidMessageID(args[0]):
		return target{byID: true, id: args[0]}, true
	case len(args) == 1:
		n, isNum := parseNumber(args[0])
		if !isNum {
			c.reply(501, "Argument must be a message-id or an article number")
			return t, false
		}
		if c.group == "" {
			c.reply(412, "No newsgroup selected")
			return t, false
		}
		return target{n: n}, true
	}
	if c.group == "" {
		c.reply(412, "No newsgroup selected")
		return t, false
	}
	if c.cur == 0 {
		c.reply(420, "Current article number is invalid")
		return t, false
	}
	return target{n: c.cur}, true
}

// cmdArticle serves ARTICLE, HEAD, BODY and STAT. By message-id the
// number in the response is 0 and the current article is unchanged; by
// number the article becomes the current one.
func cmdArticle(c *conn, r request) error {
	t, ok := c.resolveTarget(r.args)
	if !ok {
		return nil
	}
	errCtx := CmdByNumber
	if t.byID {
		errCtx = CmdByID
	}
	current := len(r.args) == 0
	fail := func(err error) {
		if current && errors.Is(err, ErrNoSuchArticle) {
			c.reply(420, "Current article number is invalid")
			return
		}
		c.replyErr(err, errCtx)
	}

	if r.kw == "STAT" {
		var o *Overview
		var err error
		if t.byID {
			o, err = c.sess.OverviewByID(c.ctx, t.id)
		} else {
			o, err = c.overviewOne(t.n)
		}
		if err != nil {
			fail(err)
			return nil
		}
		if !t.byID {
			c.cur = t.n
		}
		c.replyf(223, "%d %s", t.n, o.MessageID)
		return nil
	}

	var a *Article
	var err error
	if t.byID {
		a, err = c.sess.ArticleByID(c.ctx, t.id)
	} else {
		a, err = c.sess.Article(c.ctx, c.group, t.n)
	}
	if err != nil {
		fail(err)
		return nil
	}
	if !t.byID {
		c.cur = t.n
	}
	id := a.MessageID
	if id == "" {
		id = t.id
	}
	switch r.kw {
	case "ARTICLE":
		c.replyf(220, "%d %s", t.n, id)
		c.out.text(a.Header)
		c.bw.WriteString("\r\n")
		c.out.text(a.Body)
	case "HEAD":
		c.replyf(221, "%d %s", t.n, id)
		c.out.text(a.Header)
	case "BODY":
		c.replyf(222, "%d %s", t.n, id)
		c.out.text(a.Body)
	}
	c.out.end()
	return nil
}
