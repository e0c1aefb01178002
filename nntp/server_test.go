package nntp_test

import (
	"fmt"
	"strings"
	"testing"
)

func ov(n int, rest string, raw []byte) string {
	return fmt.Sprintf(rest, n, len(raw))
}

// TestReaderCommands runs every reading command of RFC 3977 (and the
// RFC 2980/6048 extras) over one raw connection, with the codes for each
// error case.
func TestReaderCommands(t *testing.T) {
	_, addr := startServer(t, newMem(t), nil)
	tc := dial(t, addr)

	ov1 := func(n int) string {
		return ov(n, "%d\tfirst\talice@example.invalid\tWed, 25 Nov 2026 10:00:00 +0000\t<1@test>\t\t%d\t2\tXref: nntpmem alt.test:1", art1)
	}
	ov2 := func(n int) string {
		return ov(n, "%d\ttab here\tbob@example.invalid\tWed, 25 Nov 2026 10:01:00 +0000\t<2@test>\t<1@test>\t%d\t1\tXref: nntpmem alt.test:2 misc.other:1", art2)
	}
	ov3 := func(n int) string {
		return ov(n, "%d\tthird\tcarol@example.invalid\tWed, 25 Nov 2026 10:02:00 +0000\t<3@test>\t\t%d\t1\tXref: nntpmem alt.test:3", art3)
	}
	lines := func(b []byte) []string {
		return strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	}
	head2, body2, _ := strings.Cut(string(art2), "\r\n\r\n")

	runScript(t, tc, []step{
		{"CAPABILITIES", "101 ", []string{
			"VERSION 2", "IMPLEMENTATION altcrypt", "READER", "POST", "IHAVE", "STREAMING", "AUTHINFO USER",
			"COMPRESS DEFLATE", "OVER MSGID", "HDR", "LIST ACTIVE NEWSGROUPS OVERVIEW.FMT HEADERS ACTIVE.TIMES COUNTS", "NEWNEWS",
		}},
		{"capabilities", "101 ", nil},
		{"HELP", "100 ", nil},
		{"DATE", "111 2", nil},
		{"MODE READER", "200 ", nil},
		{"ARTICLE", "412 ", nil},
		{"ARTICLE 1", "412 ", nil},
		{"HEAD 1", "412 ", nil},
		{"NEXT", "412 ", nil},
		{"LAST", "412 ", nil},
		{"OVER", "412 ", nil},
		{"OVER 1-3", "412 ", nil},
		{"HDR Subject 1-3", "412 ", nil},
		{"LISTGROUP", "412 ", nil},
		// By message-id: number 0, no group needed.
		{"ARTICLE <1@test>", "220 0 <1@test>", lines(art1)},
		{"HEAD <2@test>", "221 0 <2@test>", lines([]byte(head2))},
		{"BODY <2@test>", "222 0 <2@test>", lines([]byte(body2))},
		{"BODY <3@test>", "222 0 <3@test>", []string{"third body"}},
		{"STAT <1@test>", "223 0 <1@test>", nil},
		{"STAT <nope@test>", "430 ", nil},
		{"ARTICLE <nope@test>", "430 ", nil},
		{"HEAD <nope@test>", "430 ", nil},
		{"ARTICLE <bad", "501 ", nil},
		{"GROUP nosuch", "411 ", nil},
		{"GROUP", "501 ", nil},
		{"GROUP a b", "501 ", nil},
		{"GROUP alt.empty", "211 0 1 0 alt.empty", nil},
		{"ARTICLE", "420 ", nil},
		{"NEXT", "420 ", nil},
		{"OVER", "420 ", nil},
		{"GROUP alt.test", "211 3 1 3 alt.test", nil},
		{"STAT", "223 1 <1@test>", nil},
		{"LAST", "422 ", nil},
		{"NEXT", "223 2 <2@test>", nil},
		{"NEXT", "223 3 <3@test>", nil},
		{"NEXT", "421 ", nil},
		{"LAST", "223 2 <2@test>", nil},
		{"ARTICLE", "220 2 <2@test>", lines(art2)},
		{"BODY 1", "222 1 <1@test>", []string{"hello", ".dotted line"}},
		{"STAT", "223 1 <1@test>", nil},
		{"ARTICLE 99", "423 ", nil},
		{"HEAD 99", "423 ", nil},
		{"STAT 99", "423 ", nil},
		{"ARTICLE abc", "501 ", nil},
		{"ARTICLE 1 2", "501 ", nil},
		{"STAT <2@test>", "223 0 <2@test>", nil},
		{"STAT", "223 1 <1@test>", nil}, // by message-id left the current article alone
		{"OVER", "224 ", []string{ov1(1)}},
		{"OVER 1-3", "224 ", []string{ov1(1), ov2(2), ov3(3)}},
		{"OVER 2-", "224 ", []string{ov2(2), ov3(3)}},
		{"OVER 2", "224 ", []string{ov2(2)}},
		{"OVER 3-2", "423 ", nil},
		{"OVER 50-60", "423 ", nil},
		{"OVER <2@test>", "224 ", []string{ov2(0)}},
		{"OVER <nope@x>", "430 ", nil},
		{"OVER x-y", "501 ", nil},
		{"OVER 1 2", "501 ", nil},
		{"XOVER 1-2", "224 ", []string{ov1(1), ov2(2)}},
		{"HDR Subject 1-3", "225 ", []string{"1 first", "2 tab here", "3 third"}},
		{"HDR subject <2@test>", "225 ", []string{"0 tab here"}},
		{"HDR X-Long 2", "225 ", []string{"2 part one part two"}},
		{"HDR Newsgroups 1-", "225 ", []string{"1 alt.test", "2 alt.test,misc.other", "3 alt.test"}},
		{"HDR :bytes 1", "225 ", []string{fmt.Sprintf("1 %d", len(art1))}},
		{"HDR :lines 1-3", "225 ", []string{"1 2", "2 1", "3 1"}},
		{"HDR X-Missing 1", "225 ", []string{"1 "}},
		{"HDR Newsgroups <3@test>", "225 ", []string{"0 alt.test"}},
		{"HDR Subject <nope@test>", "430 ", nil},
		{"HDR :foo 1", "503 ", nil},
		{"HDR", "501 ", nil},
		{"HDR Subject", "225 ", []string{"1 first"}},
		{"XHDR Subject 1-2", "221 ", []string{"1 first", "2 tab here"}},
		{"HDR Subject 9-10", "423 ", nil},
		{"HDR X-Long 9-10", "423 ", nil},
		{"LISTGROUP", "211 3 1 3 alt.test", []string{"1", "2", "3"}},
		{"LISTGROUP misc.other", "211 1 1 1 misc.other", []string{"1"}},
		{"STAT", "223 1 <2@test>", nil}, // LISTGROUP selected misc.other
		{"LISTGROUP alt.test 2-", "211 3 1 3 alt.test", []string{"2", "3"}},
		{"LISTGROUP alt.test 3-2", "211 3 1 3 alt.test", []string{}},
		{"LISTGROUP alt.test x", "501 ", nil},
		{"LISTGROUP nosuch", "411 ", nil},
		{"LIST", "215 ", []string{"alt.empty 0 1 y", "alt.test 3 1 y", "misc.other 1 1 y"}},
		{"LIST ACTIVE alt.*", "215 ", []string{"alt.empty 0 1 y", "alt.test 3 1 y"}},
		{"LIST ACTIVE *,!alt.empty", "215 ", []string{"alt.test 3 1 y", "misc.other 1 1 y"}},
		{"LIST ACTIVE ?isc.othe?", "215 ", []string{"misc.other 1 1 y"}},
		{"LIST ACTIVE nothing.here", "215 ", []string{}},
		{"LIST ACTIVE [abc]", "501 ", nil},
		{"LIST ACTIVE a b", "501 ", nil},
		{"LIST NEWSGROUPS alt.test", "215 ", []string{"alt.test\tA test group"}},
		{"LIST COUNTS", "215 ", []string{"alt.empty 0 1 0 y", "alt.test 3 1 3 y", "misc.other 1 1 1 y"}},
		{"LIST ACTIVE.TIMES misc.other", "215 ", nil},
		{"LIST OVERVIEW.FMT", "215 ", []string{"Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:", "Xref:full"}},
		{"LIST OVERVIEW.FMT x", "501 ", nil},
		{"LIST HEADERS", "215 ", []string{":", ":bytes", ":lines"}},
		{"LIST HEADERS MSGID", "215 ", []string{":", ":bytes", ":lines"}},
		{"LIST HEADERS RANGE", "215 ", []string{":", ":bytes", ":lines"}},
		{"LIST HEADERS FOO", "501 ", nil},
		{"LIST DISTRIBUTIONS", "501 ", nil},
		{"NEWGROUPS 20000101 000000 GMT", "231 ", []string{"alt.empty 0 1 y", "alt.test 3 1 y", "misc.other 1 1 y"}},
		{"NEWGROUPS 000101 000000", "231 ", nil},
		{"NEWGROUPS 20991231 000000", "231 ", []string{}},
		{"NEWGROUPS 2000 0000", "501 ", nil},
		{"NEWGROUPS 20001301 000000", "501 ", nil},
		{"NEWGROUPS 20000101 000000 UTC", "501 ", nil},
		{"NEWNEWS alt.test 20000101 000000 GMT", "230 ", []string{"<1@test>", "<2@test>", "<3@test>"}},
		{"NEWNEWS misc.* 000101 000000", "230 ", []string{"<2@test>"}},
		{"NEWNEWS *,!misc.* 20000101 000000", "230 ", []string{"<1@test>", "<2@test>", "<3@test>"}},
		{"NEWNEWS * 20991231 000000 GMT", "230 ", []string{}},
		{"NEWNEWS !x 20000101 000000", "501 ", nil},
		{"NEWNEWS alt.test", "501 ", nil},
		{"FOO", "500 ", nil},
		{"XYZZY a b c", "500 ", nil},
		{"MODE FOO", "501 ", nil},
		{"MODE", "501 ", nil},
		{"CAPABILITIES a b", "501 ", nil},
		{"DATE x", "501 ", nil},
		{"LAST x", "501 ", nil},
	})
	tc.cmd("QUIT", "205 ")
	tc.expectClosed()
}

// TestListActiveTimes checks the ACTIVE.TIMES format: name, epoch, creator.
func TestListActiveTimes(t *testing.T) {
	_, addr := startServer(t, newMem(t), nil)
	tc := dial(t, addr)
	tc.cmd("LIST ACTIVE.TIMES alt.test", "215 ")
	b := tc.block()
	if len(b) != 1 {
		t.Fatalf("block %q", b)
	}
	f := strings.Fields(b[0])
	if len(f) != 3 || f[0] != "alt.test" || f[2] != "nntpmem" {
		t.Fatalf("line %q", b[0])
	}
}

// TestPost covers POST: 340, 240, the stored bytes, refusals (441 with the
// reason) and 440 when posting is not permitted.
func TestPost(t *testing.T) {
	mem := newMem(t)
	_, addr := startServer(t, mem, nil)
	tc := dial(t, addr)

	tc.cmd("POST x", "501 ")
	tc.cmd("POST", "340 ")
	tc.send("From: dave@example.invalid\r\nNewsgroups: alt.test\r\nSubject: posted\r\nMessage-ID: <p1@test>\r\n\r\n..starts with a dot\r\nbody\r\n.\r\n")
	tc.expect("POST", "240 ")
	tc.cmd("BODY <p1@test>", "222 0 <p1@test>")
	if b := tc.block(); strings.Join(b, "|") != ".starts with a dot|body" {
		t.Fatalf("body %q", b)
	}
	tc.cmd("GROUP alt.test", "211 4 1 4 alt.test")

	// A duplicate and an article for no carried group are refused with 441.
	tc.cmd("POST", "340 ")
	tc.send("Newsgroups: alt.test\r\nMessage-ID: <p1@test>\r\n\r\nagain\r\n.\r\n")
	tc.expect("duplicate POST", "441 ")
	tc.cmd("POST", "340 ")
	tc.send("Newsgroups: alt.nowhere\r\nSubject: x\r\n\r\nbody\r\n.\r\n")
	if l := tc.line(); l != "441 article rejected: no carried newsgroup in Newsgroups" {
		t.Fatalf("POST to no group: %q", l)
	}
	// The rejected article was drained: the session is in sync.
	tc.cmd("GROUP alt.test", "211 4 1 4 alt.test")

	// Bare LF line endings are stored as CRLF; an article without a
	// Message-ID gets one.
	tc.cmd("POST", "340 ")
	tc.send("Newsgroups: misc.other\nSubject: lf\n\nline\n.\n")
	tc.line()
	tc.cmd("GROUP misc.other", "211 2 1 2 misc.other")
	tc.cmd("HEAD 2", "221 2 <")
	h := tc.block()
	if !strings.HasPrefix(h[0], "Message-ID: <") || h[1] != "Newsgroups: misc.other" {
		t.Fatalf("head %q", h)
	}

}

// TestPostAfterAuth checks 480 before AUTHINFO when logging in would allow
// posting, and POST after it.
func TestPostAfterAuth(t *testing.T) {
	mem := newMem(t)
	mem.Anonymous.Post = false
	mem.AddUser("u", "p")
	_, addr := startServer(t, mem, nil)
	tc := dialRaw(t, addr)
	tc.expect("greeting", "201 ")
	tc.cmd("POST", "480 ")
	tc.cmd("AUTHINFO USER u", "381 ")
	tc.cmd("AUTHINFO PASS p", "281 ")
	tc.cmd("MODE READER", "200 ")
	tc.cmd("POST", "340 ")
	tc.send("Newsgroups: alt.test\r\n\r\nx\r\n.\r\n")
	tc.expect("POST after AUTHINFO", "240 ")
}

// TestPostNotPermitted checks 440 and the 201 greeting when the session
// may never post.
func TestPostNotPermitted(t *testing.T) {
	mem := newMem(t)
	mem.Anonymous.Post = false
	mem.Authenticated.Post = false
	_, addr := startServer(t, noAuth{mem}, nil)
	tc := dialRaw(t, addr)
	tc.expect("greeting", "201 ")
	tc.cmd("POST", "440 ")
	tc.cmd("MODE READER", "201 ")
	tc.cmd("CAPABILITIES", "101 ")
	caps := strings.Join(tc.block(), "|")
	if strings.Contains(caps, "POST") || strings.Contains(caps, "AUTHINFO") {
		t.Fatalf("capabilities %q", caps)
	}
}
