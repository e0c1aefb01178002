package nntp_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nntplibResult is the JSON that testdata/nntplib_client.py prints.
type nntplibResult struct {
	Error        string   `json:"error"`
	Welcome      string   `json:"welcome"`
	Login        bool     `json:"login"`
	Capabilities []string `json:"capabilities"`
	List         []struct {
		Group       string `json:"group"`
		Last, First int64
		Flag        string `json:"flag"`
	} `json:"list"`
	ListWildmat []string `json:"list_wildmat"`
	Description string   `json:"description"`
	Group       struct {
		Count, First, Last int64
		Name               string
	} `json:"group"`
	Over []struct {
		Number    int64  `json:"number"`
		Subject   string `json:"subject"`
		MessageID string `json:"message_id"`
		Bytes     int64  `json:"bytes"`
		Lines     int64  `json:"lines"`
		Xref      string `json:"xref"`
	} `json:"over"`
	Articles []struct {
		Number    int64  `json:"number"`
		MessageID string `json:"message_id"`
		Size      int    `json:"size"`
		SHA256    string `json:"sha256"`
		BodyLines int    `json:"body_lines"`
		HeadLines int    `json:"head_lines"`
		Stat      []any  `json:"stat"`
	} `json:"articles"`
	XhdrSubject     [][]any  `json:"xhdr_subject"`
	Date            string   `json:"date"`
	NewGroups       []string `json:"newgroups"`
	Post            string   `json:"post"`
	PostedMessageID string   `json:"posted_message_id"`
	NewNews         []string `json:"newnews"`
}

// runNntplib runs the Python client against addr and decodes its output.
func runNntplib(t *testing.T, addr, group string, extra ...string) nntplibResult {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"testdata/nntplib_client.py", host, port, group}, extra...)
	cmd := exec.Command("python3", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var res nntplibResult
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
		t.Fatalf("nntplib output %q (stderr %q): %v / %v", stdout.String(), stderr.String(), err, jerr)
	}
	if err != nil || res.Error != "" {
		t.Fatalf("nntplib failed: %v %s (stderr %q)", err, res.Error, stderr.String())
	}
	return res
}

func TestPythonNntplib(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("reader", "secret")
	_, addr := startServer(t, mem, nil)
	res := runNntplib(t, addr, "alt.test", "--user", "reader", "--password", "secret")

	if !res.Login || len(res.List) != 3 || res.ListWildmat[0] != "alt.test" || res.Description != "A test group" {
		t.Fatalf("list/login: %+v", res)
	}
	if res.Group.Count != 3 || res.Group.First != 1 || res.Group.Last != 3 || res.Group.Name != "alt.test" {
		t.Fatalf("group %+v", res.Group)
	}
	if len(res.Over) != 3 || res.Over[1].Subject != "tab here" || res.Over[1].Bytes != int64(len(art2)) ||
		res.Over[1].Xref != "nntpmem alt.test:2 misc.other:1" {
		t.Fatalf("over %+v", res.Over)
	}
	for i, raw := range [][]byte{art1, art2, art3} {
		a := res.Articles[i]
		sum := sha256.Sum256(raw)
		if a.Number != int64(i+1) || a.Size != len(raw) || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("article %d: %+v", i+1, a)
		}
	}
	if len(res.XhdrSubject) != 3 || res.XhdrSubject[0][1] != "first" {
		t.Fatalf("xhdr %v", res.XhdrSubject)
	}
	if len(res.NewGroups) != 3 {
		t.Fatalf("newgroups %v", res.NewGroups)
	}
	if res.Post[:3] != "240" || res.PostedMessageID == "" {
		t.Fatalf("post %q", res.Post)
	}
	if len(res.NewNews) != 4 || res.NewNews[3] != res.PostedMessageID {
		t.Fatalf("newnews %v", res.NewNews)
	}
	// The posted article arrived byte for byte, dot line included.
	s, _ := mem.NewSession(t.Context(), nntpConnInfo())
	a, err := s.ArticleByID(t.Context(), res.PostedMessageID)
	if err != nil || string(a.Body) != ".this line starts with a dot\r\nposted by nntplib\r\n" {
		t.Fatalf("stored %+v %v", a, err)
	}
}

// TestPythonNntplibOptions covers the script's --post-file, --limit and
// --no-post, which other packages use against the real stores.
func TestPythonNntplibOptions(t *testing.T) {
	mem := newMem(t)
	_, addr := startServer(t, mem, nil)
	file := filepath.Join(t.TempDir(), "article")
	if err := os.WriteFile(file, []byte("From: f@example.invalid\nSubject: from file\nMessage-ID: <file@x>\n\nbody from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runNntplib(t, addr, "misc.other", "--post-file", file, "--limit", "0")
	if len(res.Articles) != 0 || len(res.Over) != 1 || res.Post[:3] != "240" {
		t.Fatalf("%+v", res)
	}
	if len(res.NewNews) != 2 || res.NewNews[1] != "<file@x>" {
		t.Fatalf("newnews %v", res.NewNews)
	}
	res = runNntplib(t, addr, "alt.empty", "--no-post")
	if res.Post != "" || res.Group.Count != 0 || len(res.Over) != 0 {
		t.Fatalf("%+v", res)
	}
}
