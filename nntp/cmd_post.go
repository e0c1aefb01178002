package nntp

// cmdPost serves POST (RFC 3977 section 6.3.1). The article is always
// read to its end, even when too large, so the session stays in sync.
func cmdPost(c *conn, r request) error {
	if len(r.args) != 0 {
		c.reply(501, "Syntax: POST")
		return nil
	}
	p, ok := c.poster()
	if !ok || !c.perms.Post {
		if ok && c.authPossible() {
			c.reply(480, "Authentication required")
			return nil
		}
		c.reply(440, "Posting not permitted")
		return nil
	}
	c.reply(340, "Send article to be posted")
	art, ok, err := c.receiveArticle(441)
	if !ok {
		return err
	}
	if err := p.Post(c.ctx, art); err != nil {
		e := ResponseFor(err, CmdPost)
		if e.Code == 403 {
			c.logFault(e)
		}
		c.reply(e.Code, e.Msg)
		return nil
	}
	c.reply(240, "Article received OK")
	return nil
}
