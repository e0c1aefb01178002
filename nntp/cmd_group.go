package nntp

import "fmt"

func cmdGroup(c *conn, r request) error {
	if len(r.args) != 1 {
		c.reply(501, "Syntax: GROUP newsgroup")
		return nil
	}
	g, err := c.sess.Group(c.ctx, r.args[0])
	if err != nil {
		c.replyErr(err, CmdGeneric)
		return nil
	}
	c.selectGroup(g)
	c.replyf(211, "%d %d %d %s", g.Count, g.Low, g.High, g.Name)
	return nil
}

// selectGroup makes g the current group; the current article is its first.
func (c *conn) selectGroup(g Group) {
	c.group = g.Name
	c.cur = 0
	if g.Count > 0 {
		c.cur = g.Low
	}
}

func cmdListGroup(c *conn, r request) error {
	if len(r.args) > 2 {
		c.reply(501, "Syntax: LISTGROUP [newsgroup [range]]")
		return nil
	}
	rng := Range{Low: 1, High: -1}
	if len(r.args) == 2 {
		var err error
		if rng, err = ParseRange(r.args[1]); err != nil {
			c.reply(501, "Invalid range")
			return nil
		}
	}
	name := c.group
	if len(r.args) > 0 {
		name = r.args[0]
	}
	if name == "" {
		c.reply(412, "No newsgroup selected")
		return nil
	}
	g, err := c.sess.Group(c.ctx, name)
	if err != nil {
		c.replyErr(err, CmdGeneric)
		return nil
	}
	var nums []int64
	if !rng.Empty() && g.Count > 0 {
		if nums, err = c.sess.Numbers(c.ctx, g.Name, rng); err != nil {
			c.replyErr(err, CmdGeneric)
			return nil
		}
	}
	c.selectGroup(g)
	c.replyf(211, "%d %d %d %s list follows", g.Count, g.Low, g.High, g.Name)
	for _, n := range nums {
		c.out.line(fmt.Sprint(n))
	}
	c.out.end()
	return nil
}

func cmdNext(c *conn, r request) error { return c.step(r, true) }
func cmdLast(c *conn, r request) error { return c.step(r, false) }

// step serves NEXT and LAST.
func (c *conn) step(r request, next bool) error {
	if len(r.args) != 0 {
		c.reply(501, "Syntax: "+r.kw)
		return nil
	}
	if c.group == "" {
		c.reply(412, "No newsgroup selected")
		return nil
	}
	if c.cur == 0 {
		c.reply(420, "Current article number is invalid")
		return nil
	}
	var n int64
	var err error
	if next {
		n, err = c.sess.Next(c.ctx, c.group, c.cur)
	} else {
		n, err = c.sess.Prev(c.ctx, c.group, c.cur)
	}
	if err != nil {
		c.replyErr(err, CmdByNumber)
		return nil
	}
	o, err := c.overviewOne(n)
	if err != nil {
		c.replyErr(err, CmdByNumber)
		return nil
	}
	c.cur = n
	c.replyf(223, "%d %s retrieved", n, o.MessageID)
	return nil
}

// overviewOne returns the overview of article n of the current group, or
// ErrNoSuchArticle.
func (c *conn) overviewOne(n int64) (*Overview, error) {
	var found *Overview
	err := c.sess.Overview(c.ctx, c.group, Range{Low: n, High: n}, func(o *Overview) error {
		if o.Number == n && found == nil {
			cp := *o
			found = &cp
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNoSuchArticle
	}
	return found, nil
}
