package nntp_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	nntpclient "github.com/dustin/go-nntp/client"
)

// TestGoNNTPClient runs go-nntp's client, an independent implementation,
// against the server.
func TestGoNNTPClient(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	_, addr := startServer(t, mem, nil)
	c, err := nntpclient.New("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	caps, err := c.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasCapabilityArgument("LIST", "OVERVIEW.FMT"); err != nil || !ok {
		t.Fatalf("capabilities %q: %v %v", caps, ok, err)
	}
	if _, err := c.Authenticate("u", "p"); err != nil {
		t.Fatal(err)
	}
	groups, err := c.List("ACTIVE")
	if err != nil || len(groups) != 3 || groups[1].Name != "alt.test" || groups[1].High != 3 {
		t.Fatalf("list %+v %v", groups, err)
	}
	g, err := c.Group("alt.test")
	if err != nil || g.Count != 3 || g.Low != 1 || g.High != 3 || g.Name != "alt.test" {
		t.Fatalf("group %+v %v", g, err)
	}
	fmtLines, err := c.ListOverviewFmt()
	if err != nil || len(fmtLines) != 8 {
		t.Fatalf("overview.fmt %q %v", fmtLines, err)
	}
	over, err := c.Over("1-3")
	if err != nil || len(over) != 3 || !strings.HasPrefix(over[1], "2\ttab here\t") {
		t.Fatalf("over %q %v", over, err)
	}
	n, id, r, err := c.Article("1")
	if err != nil || n != 1 || id != "<1@test>" {
		t.Fatalf("article %d %s %v", n, id, err)
	}
	body, _ := io.ReadAll(r)
	// textproto's DotReader gives LF line endings.
	if want := strings.ReplaceAll(string(art1), "\r\n", "\n"); string(body) != want {
		t.Fatalf("article body %q, want %q", body, want)
	}
	n, id, r, err = c.Head("<2@test>")
	if err != nil || n != 0 || id != "<2@test>" {
		t.Fatalf("head %d %s %v", n, id, err)
	}
	io.ReadAll(r)
	post := "From: g@example.invalid\nNewsgroups: alt.test\nSubject: go-nntp\nMessage-ID: <gonntp@x>\n\n.a dot line\nbody\n"
	if err := c.Post(bytes.NewBufferString(post)); err != nil {
		t.Fatal(err)
	}
	_, _, r, err = c.Body("<gonntp@x>")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != ".a dot line\nbody\n" {
		t.Fatalf("posted body %q", b)
	}
	if _, _, err := c.Command("QUIT", 205); err != nil {
		t.Fatal(err)
	}
}
