package nntp

import (
	"fmt"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

func groupStatus(g Group) string {
	if g.Status == "" {
		return "y"
	}
	return g.Status
}

// cmdList serves the LIST variants of RFC 3977 section 7.6 and LIST COUNTS
// of RFC 6048.
func cmdList(c *conn, r request) error {
	kw := "ACTIVE"
	if len(r.args) > 0 {
		kw = strings.ToUpper(r.args[0])
	}
	rest := []string{}
	if len(r.args) > 1 {
		rest = r.args[1:]
	}
	if len(rest) > 1 {
		c.reply(501, "Too many arguments")
		return nil
	}
	switch kw {
	case "OVERVIEW.FMT":
		if len(rest) != 0 {
			c.reply(501, "Syntax: LIST OVERVIEW.FMT")
			return nil
		}
		c.replyLines(215, "Order of fields in overview database", overviewFormat)
		return nil
	case "HEADERS":
		if len(rest) == 1 {
			if a := strings.ToUpper(rest[0]); a != "MSGID" && a != "RANGE" {
				c.reply(501, "Syntax: LIST HEADERS [MSGID|RANGE]")
				return nil
			}
		}
		c.replyLines(215, "Field list follows", []string{":", ":bytes", ":lines"})
		return nil
	case "ACTIVE", "NEWSGROUPS", "ACTIVE.TIMES", "COUNTS":
	default:
		c.reply(501, "Unknown LIST keyword")
		return nil
	}
	var wm *news.Wildmat
	if len(rest) == 1 {
		var err error
		if wm, err = news.ParseWildmat(rest[0]); err != nil {
			c.reply(501, "Invalid wildmat")
			return nil
		}
	}
	groups, err := c.sess.Groups(c.ctx)
	if err != nil {
		c.replyErr(err, CmdGeneric)
		return nil
	}
	switch kw {
	case "ACTIVE":
		c.reply(215, "List of newsgroups follows")
	case "NEWSGROUPS":
		c.reply(215, "Descriptions follow")
	case "ACTIVE.TIMES":
		c.reply(215, "Creation times follow")
	case "COUNTS":
		c.reply(215, "Counts follow")
	}
	for _, g := range groups {
		if !wm.Match(g.Name) {
			continue
		}
		switch kw {
		case "ACTIVE":
			c.out.line(fmt.Sprintf("%s %d %d %s", g.Name, g.High, g.Low, groupStatus(g)))
		case "NEWSGROUPS":
			c.out.line(g.Name + "\t" + cleanField(g.Description))
		case "ACTIVE.TIMES":
			creator := g.Creator
			if creator == "" {
				creator = "unknown"
			}
			c.out.line(fmt.Sprintf("%s %d %s", g.Name, g.Created.Unix(), strings.Join(strings.Fields(creator), "_")))
		case "COUNTS":
			c.out.line(fmt.Sprintf("%s %d %d %d %s", g.Name, g.High, g.Low, g.Count, groupStatus(g)))
		}
	}
	c.out.end()
	return nil
}

func cmdNewGroups(c *conn, r request) error {
	since, err := parseDateTime(r.args, time.Now())
	if err != nil {
		c.reply(501, "Syntax: NEWGROUPS [yy]yymmdd hhmmss [GMT]")
		return nil
	}
	groups, err := c.sess.NewGroups(c.ctx, since)
	if err != nil {
		c.replyErr(err, CmdGeneric)
		return nil
	}
	c.reply(231, "List of new newsgroups follows")
	for _, g := range groups {
		c.out.line(fmt.Sprintf("%s %d %d %s", g.Name, g.High, g.Low, groupStatus(g)))
	}
	c.out.end()
	return nil
}

func cmdNewNews(c *conn, r request) error {
	if len(r.args) < 3 {
		c.reply(501, "Syntax: NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]")
		return nil
	}
	wm, err := news.ParseWildmat(r.args[0])
	if err != nil {
		c.reply(501, "Invalid wildmat")
		return nil
	}
	since, err := parseDateTime(r.args[1:], time.Now())
	if err != nil {
		c.reply(501, "Syntax: NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]")
		return nil
	}
	entries, err := c.sess.NewNews(c.ctx, since)
	if err != nil {
		c.replyErr(err, CmdGeneric)
		return nil
	}
	c.reply(230, "List of new articles follows")
	seen := make(map[string]bool)
	for _, e := range entries {
		if seen[e.MessageID] || !wm.Match(e.Group) {
			continue
		}
		seen[e.MessageID] = true
		c.out.line(e.MessageID)
	}
	c.out.end()
	return nil
}
