package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/node"
)

type nntplibResult struct {
	Welcome string   `json:"welcome"`
	Caps    []string `json:"caps"`
	Groups  []string `json:"groups"`
	Before  struct {
		Count, First, Last int64
		Name               string
	} `json:"before"`
	Post  string `json:"post"`
	After struct {
		Count, First, Last int64
	} `json:"after"`
	Over []struct {
		Number     int64  `json:"number"`
		Subject    string `json:"subject"`
		From       string `json:"from"`
		Date       string `json:"date"`
		MessageID  string `json:"message-id"`
		References string `json:"references"`
		Bytes      int64  `json:"bytes"`
		Lines      int64  `json:"lines"`
		Xref       string `json:"xref"`
	} `json:"over"`
	Article struct {
		Number    int64    `json:"number"`
		MessageID string   `json:"message_id"`
		Lines     []string `json:"lines"`
	} `json:"article"`
	HeadByID struct {
		Number int64 `json:"number"`
		Lines  int   `json:"lines"`
	} `json:"head_by_id"`
	NewNews    []string `json:"newnews"`
	Date       string   `json:"date"`
	Refused    *string  `json:"refused"`
	FinalCount int64    `json:"final_count"`
}

// TestNNTPLib runs a whole newsreader session with Python's nntplib.
func TestNNTPLib(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServer(t, k.open(t), func(c *node.Config) { c.ReleaseInterval = 0 })
		dir := t.TempDir()
		good := filepath.Join(dir, "good.txt")
		bad := filepath.Join(dir, "bad.txt")
		// nntplib wants LF or CRLF lines and dot-stuffs itself; a line
		// starting with "." in the armor would be its job.
		if err := os.WriteFile(good, postArticle("Subject for Bob", gpg.EncryptText(t, "from python\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, []byte("Newsgroups: "+group+"\r\nSubject: x\r\n\r\n.hello in plain text\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(srv.Addr)
		cmd := exec.Command("python3", "testdata/nntplib_scenario.py", host, port, group, good, bad)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nntplib scenario: %v\n%s", err, stderr.String())
		}
		var r nntplibResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.HasPrefix(r.Welcome, "200") {
			t.Errorf("welcome %q", r.Welcome)
		}
		if len(r.Groups) != 1 || r.Groups[0] != group || r.Before.Count != 0 || r.Before.Name != group {
			t.Errorf("LIST %q, GROUP %+v", r.Groups, r.Before)
		}
		if !strings.HasPrefix(r.Post, "240") {
			t.Errorf("POST answered %q", r.Post)
		}
		if r.After.Count != 1 || r.After.First != 1 || r.After.Last != 1 || len(r.Over) != 1 {
			t.Fatalf("after post: %+v, over %+v", r.After, r.Over)
		}
		ov := r.Over[0]
		if ov.Number != 1 || !hsub.Shaped(ov.Subject) || ov.From != inject.DefaultFrom || ov.References != "" ||
			!messageIDShape.MatchString(ov.MessageID) || ov.Xref != "news.example "+group+":1" || ov.Lines < 5 || ov.Bytes < 300 {
			t.Errorf("OVER %+v", ov)
		}
		if r.Article.Number != 1 || r.Article.MessageID != ov.MessageID {
			t.Errorf("ARTICLE %d %s", r.Article.Number, r.Article.MessageID)
		}
		raw := []byte(strings.Join(r.Article.Lines, "\r\n") + "\r\n")
		checkInjected(t, gpg, raw, "from python\n")
		if r.HeadByID.Number != 0 || r.HeadByID.Lines != 8 {
			t.Errorf("HEAD by id: %+v", r.HeadByID)
		}
		if len(r.NewNews) != 1 || r.NewNews[0] != ov.MessageID {
			t.Errorf("NEWNEWS %q", r.NewNews)
		}
		if r.Refused == nil || !strings.HasPrefix(*r.Refused, "441 ") {
			t.Errorf("plaintext POST: %v", r.Refused)
		}
		if r.FinalCount != 1 {
			t.Errorf("final count %d", r.FinalCount)
		}
	})
}
