package nntp_test

import (
	"fmt"
	"strings"
	"testing"
)

func transitArticle(id, group, body string) string {
	return "Path: peer!not-for-mail\r\nFrom: x@example.invalid\r\nNewsgroups: " + group +
		"\r\nSubject: transit\r\nMessage-ID: " + id + "\r\n\r\n" + body + "\r\n"
}

func TestIHave(t *testing.T) {
	mem := newMem(t)
	_, addr := startServer(t, faulty{b: mem}, nil)
	tc := dial(t, addr)
	tc.cmd("IHAVE", "501 ")
	tc.cmd("IHAVE notanid", "501 ")
	tc.cmd("IHAVE <1@test>", "435 ")
	tc.cmd("IHAVE <later@x>", "436 ")
	tc.cmd("IHAVE <t1@x>", "335 ")
	art := transitArticle("<t1@x>", "alt.test", ".leading dot")
	tc.send(strings.ReplaceAll(art, "\r\n.", "\r\n..") + ".\r\n") // dot-stuffed
	tc.expect("IHAVE transfer", "235 ")
	tc.cmd("IHAVE <t1@x>", "435 ")
	tc.cmd("ARTICLE <t1@x>", "220 0 <t1@x>")
	if got := strings.Join(tc.block(), "\r\n") + "\r\n"; got != art {
		t.Fatalf("stored %q, want %q", got, art)
	}
	// Refused after transfer (Message-ID differs from the offer): 437.
	tc.cmd("IHAVE <t2@x>", "335 ")
	tc.send(transitArticle("<other@x>", "alt.test", "b") + ".\r\n")
	tc.expect("IHAVE reject", "437 ")
	tc.cmd("GROUP alt.test", "211 4 1 4 alt.test")
}

// TestStreamingPipelined sends 400 CHECK/TAKETHIS commands in one burst.
// The backend answers them out of order (Receive sleeps differently per
// article); the responses must still come in command order.
func TestStreamingPipelined(t *testing.T) {
	mem := newMem(t)
	_, addr := startServer(t, faulty{b: mem}, nil)
	tc := dial(t, addr)
	tc.cmd("MODE STREAM", "203 ")

	var burst strings.Builder
	var want []string
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("<slow%d@x>", i)
		burst.WriteString("CHECK " + id + "\r\n")
		want = append(want, "238 "+id)
		burst.WriteString("TAKETHIS " + id + "\r\n" + transitArticle(id, "misc.other", "body") + ".\r\n")
		want = append(want, "239 "+id)
		burst.WriteString("CHECK <1@test>\r\n")
		want = append(want, "438 <1@test>")
		// A duplicate and a mismatched Message-ID are both refused, and
		// the article is read and discarded either way.
		if i%2 == 0 {
			burst.WriteString("TAKETHIS <2@test>\r\n" + transitArticle("<2@test>", "alt.test", "dup") + ".\r\n")
			want = append(want, "439 <2@test>")
		} else {
			burst.WriteString("TAKETHIS <m" + fmt.Sprint(i) + "@x>\r\n" + transitArticle("<wrong@x>", "alt.test", "x") + ".\r\n")
			want = append(want, "439 <m"+fmt.Sprint(i)+"@x>")
		}
	}
	burst.WriteString("CHECK bad\r\nTAKETHIS\r\nbody\r\n.\r\nGROUP misc.other\r\n")
	want = append(want, "501 ", "501 ", "211 101 1 101 misc.other")

	go tc.send(burst.String())
	for i, w := range want {
		l := tc.line()
		if !strings.HasPrefix(l, w) {
			t.Fatalf("response %d: got %q, want %q", i, l, w)
		}
	}
	tc.cmd("STAT <slow57@x>", "223 0 <slow57@x>")
	tc.cmd("STAT <wrong@x>", "430 ")
}

// TestStreamingAnswersNotHeldBack: an answer that is ready goes out even
// while the next command's answer is still being worked out; a peer keeps
// only so many commands in flight and waits for answers to send more.
func TestStreamingAnswersNotHeldBack(t *testing.T) {
	gate := make(chan struct{})
	_, addr := startServer(t, faulty{b: newMem(t), gate: gate}, nil)
	tc := dial(t, addr)
	tc.cmd("MODE STREAM", "203 ")
	tc.send("TAKETHIS <quick@x>\r\n" + transitArticle("<quick@x>", "misc.other", "b") + ".\r\n" +
		"TAKETHIS <held@x>\r\n" + transitArticle("<held@x>", "misc.other", "b") + ".\r\n")
	if l := tc.line(); l != "239 <quick@x>" {
		t.Fatalf("first answer %q, want 239 <quick@x> before the second article is stored", l)
	}
	close(gate)
	if l := tc.line(); l != "239 <held@x>" {
		t.Fatalf("second answer %q", l)
	}
}

func TestTakeThisTryLaterCloses(t *testing.T) {
	_, addr := startServer(t, faulty{b: newMem(t)}, nil)
	tc := dial(t, addr)
	tc.send("CHECK <a@x>\r\nCHECK <later1@x>\r\nTAKETHIS <later2@x>\r\n" + transitArticle("<later2@x>", "alt.test", "x") + ".\r\nCHECK <b@x>\r\n")
	for _, w := range []string{"238 <a@x>", "431 <later1@x>", "400 "} {
		tc.expect("stream", w)
	}
	tc.expectClosed()
}

func TestTransitNotPermitted(t *testing.T) {
	mem := newMem(t)
	mem.Anonymous.Feed = false
	_, addr := startServer(t, mem, nil)
	tc := dial(t, addr)
	if c := capsOf(tc); strings.Contains(c, "IHAVE") || strings.Contains(c, "STREAMING") {
		t.Fatalf("capabilities %s", c)
	}
	tc.cmd("IHAVE <n@x>", "480 ")
	tc.cmd("CHECK <n@x>", "480 ")
	tc.send("TAKETHIS <n@x>\r\n" + transitArticle("<n@x>", "alt.test", "QUIT") + ".\r\n")
	tc.expect("TAKETHIS", "480 ")
	tc.cmd("DATE", "111 ") // the article was drained, not run as commands
	tc.cmd("STAT <n@x>", "430 ")

	// A backend without Transit: 502 for IHAVE and MODE STREAM.
	_, addr2 := startServer(t, noAuth{newMem(t)}, nil)
	tc2 := dial(t, addr2)
	tc2.cmd("IHAVE <n@x>", "502 ")
	tc2.cmd("MODE STREAM", "502 ")
	tc2.send("TAKETHIS <n@x>\r\nQUIT\r\n.\r\n")
	tc2.expect("TAKETHIS", "502 ")
	tc2.cmd("DATE", "111 ")
}
