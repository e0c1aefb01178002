package nntp

import (
	"strings"
	"time"
)

// capabilities lists what this session may use now (RFC 3977 section 5.2).
func (c *conn) capabilities() []string {
	caps := []string{"VERSION 2", "IMPLEMENTATION altcrypt"}
	caps = append(caps, "READER")
	if c.canPost() {
		caps = append(caps, "POST")
	}
	if c.canFeed() {
		caps = append(caps, "IHAVE", "STREAMING")
	}
	if c.authPossible() {
		if c.authAllowedNow() {
			caps = append(caps, "AUTHINFO USER")
		} else {
			// RFC 4643 section 2.1: AUTHINFO without arguments says
			// authentication exists but is not usable now (no TLS yet).
			caps = append(caps, "AUTHINFO")
		}
	}
	if c.starttlsAvailable() {
		caps = append(caps, "STARTTLS")
	}
	if c.srv.compressAvailable() && !c.compressed {
		caps = append(caps, "COMPRESS DEFLATE")
	}
	caps = append(caps,
		"OVER MSGID",
		"HDR",
		"LIST ACTIVE NEWSGROUPS OVERVIEW.FMT HEADERS ACTIVE.TIMES COUNTS",
		"NEWNEWS",
	)
	return caps
}

func cmdCapabilities(c *conn, r request) error {
	if len(r.args) > 1 {
		c.reply(501, "Syntax: CAPABILITIES [keyword]")
		return nil
	}
	c.replyLines(101, "Capability list:", c.capabilities())
	return nil
}

func cmdMode(c *conn, r request) error {
	if len(r.args) != 1 {
		c.reply(501, "Syntax: MODE READER or MODE STREAM")
		return nil
	}
	switch strings.ToUpper(r.args[0]) {
	case "READER":
		// Not a mode-switching server: reading is always available.
		if c.canPost() {
			c.reply(200, "Reader mode, posting allowed")
		} else {
			c.reply(201, "Reader mode, posting prohibited")
		}
	case "STREAM":
		if _, ok := c.feeder(); !ok {
			c.reply(502, "Streaming not available")
			return nil
		}
		if !c.canFeed() {
			c.refuseUnpermitted()
			return nil
		}
		c.reply(203, "Streaming permitted")
	default:
		c.reply(501, "Unknown MODE")
	}
	return nil
}

func cmdDate(c *conn, r request) error {
	if len(r.args) != 0 {
		c.reply(501, "Syntax: DATE")
		return nil
	}
	c.reply(111, time.Now().UTC().Format("20060102150405"))
	return nil
}

var helpText = []string{
	"ARTICLE [message-id|number]",
	"AUTHINFO USER name|PASS password",
	"BODY [message-id|number]",
	"CAPABILITIES [keyword]",
	"CHECK message-id",
	"DATE",
	"GROUP newsgroup",
	"HDR field [message-id|range]",
	"HEAD [message-id|number]",
	"HELP",
	"IHAVE message-id",
	"LAST",
	"LIST [ACTIVE|ACTIVE.TIMES|COUNTS|NEWSGROUPS [wildmat]|HEADERS [MSGID|RANGE]|OVERVIEW.FMT]",
	"LISTGROUP [newsgroup [range]]",
	"MODE READER|STREAM",
	"NEWGROUPS [yy]yymmdd hhmmss [GMT]",
	"NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]",
	"NEXT",
	"OVER [message-id|range]",
	"POST",
	"QUIT",
	"STARTTLS",
	"STAT [message-id|number]",
	"TAKETHIS message-id",
	"XHDR field [message-id|range]",
	"XOVER [range]",
}

func cmdHelp(c *conn, r request) error {
	if len(r.args) != 0 {
		c.reply(501, "Syntax: HELP")
		return nil
	}
	c.replyLines(100, "Help text follows", helpText)
	return nil
}

func cmdQuit(c *conn, r request) error {
	c.reply(205, "Closing connection")
	return errQuit
}
