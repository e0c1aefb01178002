package checker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// manifest returns file → expected verdict.
func manifest(t testing.TB) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, c := range corpustest.Read(t) {
		m[c.File] = c.Expected
	}
	return m
}

func defaults() Options { return Options{Policy: armor.DefaultPolicy()} }

type run struct {
	code           int
	stdout, stderr string
}

func runChecker(t *testing.T, opts Options, stdin string, paths ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), opts, paths, strings.NewReader(stdin), &out, &errb)
	return run{code, out.String(), errb.String()}
}

// verdicts parses text output into path → "accept" / "reject CODE".
func verdicts(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		path, rest, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad line %q", l)
		}
		if rest != "accept" {
			code, _, _ := strings.Cut(strings.TrimPrefix(rest, "reject "), ":")
			rest = "reject " + code
		}
		m[path] = rest
	}
	return m
}

func TestCorpusBodies(t *testing.T) {
	opts := defaults()
	opts.Body = true
	r := runChecker(t, opts, "", corpustest.Dir(t))
	if r.code != ExitReject || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	got := verdicts(t, r.stdout)
	want := manifest(t)
	for file, exp := range want {
		v, ok := got[filepath.Join(corpustest.Dir(t), file)]
		if !ok {
			t.Errorf("%s: no verdict", file)
			continue
		}
		if !strings.HasPrefix(v, exp) {
			t.Errorf("%s: %s, want %s", file, v, exp)
		}
	}
	// README.md and manifest.csv are there too: every regular file is checked.
	if len(got) != len(want)+2 {
		t.Errorf("%d verdicts for %d manifest files + 2", len(got), len(want))
	}
	// Output is in lexical order.
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		p, _, _ := strings.Cut(l, ": ")
		paths = append(paths, p)
	}
	for i := 1; i < len(paths); i++ {
		if paths[i-1] >= paths[i] {
			t.Fatalf("not sorted: %s before %s", paths[i-1], paths[i])
		}
	}
}

// spool writes the corpus as articles in an INN-tradspool-like tree.
func spool(t *testing.T, only string) (dir string, want map[string]string) {
	t.Helper()
	dir = t.TempDir()
	want = map[string]string{}
	n := 0
	for file, exp := range manifest(t) {
		if only != "" && exp != only {
			continue
		}
		body, err := os.ReadFile(filepath.Join(corpustest.Dir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		n++
		nl := "\n"
		if n%2 == 0 {
			nl = "\r\n" // NNTP wire form for half of them
		}
		hdr := strings.Join([]string{
			"Path: news.example!not-for-mail",
			"From: nobody <nobody@example.invalid>",
			"Newsgroups: alt.crypt.messages",
			"Subject: " + file,
			"Message-ID: <" + file + "@example.invalid>",
		}, nl) + nl + nl
		if nl == "\r\n" {
			body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		}
		sub := filepath.Join(dir, "alt", "crypt", "messages")
		if n%3 == 0 {
			sub = filepath.Join(dir, "alt", "crypt", "other")
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(sub, file)
		if err := os.WriteFile(p, append([]byte(hdr), body...), 0o644); err != nil {
			t.Fatal(err)
		}
		want[p] = exp
	}
	return dir, want
}

func TestArticles(t *testing.T) {
	dir, want := spool(t, "")
	r := runChecker(t, defaults(), "", dir)
	if r.code != ExitReject || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	got := verdicts(t, r.stdout)
	if len(got) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(got), len(want))
	}
	for p, exp := range want {
		// CRLF conversion makes a non-ASCII or bare-CR line the same kind of
		// reject; only the verdict is compared.
		if !strings.HasPrefix(got[p], exp) {
			t.Errorf("%s: %s, want %s", p, got[p], exp)
		}
	}
}

func TestAllAccepted(t *testing.T) {
	dir, _ := spool(t, "accept")
	r := runChecker(t, defaults(), "", dir)
	if r.code != ExitAccept || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	// A stricter policy rejects the visible recipients.
	opts := defaults()
	opts.Policy.AllowVisibleRecipients = false
	r = runChecker(t, opts, "", dir)
	if r.code != ExitReject || !strings.Contains(r.stdout, "reject "+armor.CodeVisible+": ") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestJSON(t *testing.T) {
	opts := defaults()
	opts.Body = true
	opts.JSON = true
	files := []string{"gpg-recipient-plus-passphrase.asc", "gpg-version-header.asc"}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(corpustest.Dir(t), f))
	}
	r := runChecker(t, opts, "", paths...)
	if r.code != ExitReject {
		t.Fatalf("exit %d", r.code)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	var res []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		res = append(res, m)
	}
	if len(res) != 2 {
		t.Fatalf("%d objects", len(res))
	}
	a, rj := res[0], res[1]
	if a["path"] != paths[0] || a["verdict"] != "accept" || a["container"] != "seipd-v1" {
		t.Errorf("accept object %v", a)
	}
	esks, _ := a["esks"].([]any)
	if len(esks) != 2 || esks[0].(map[string]any)["kind"] != "pkesk" || esks[1].(map[string]any)["kind"] != "skesk" {
		t.Errorf("esks %v", a["esks"])
	}
	if rj["verdict"] != "reject" || rj["code"] != armor.CodeArmorHeader || rj["reason"] == "" {
		t.Errorf("reject object %v", rj)
	}
}

func TestStdin(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-cv25519-one-recipient.asc"))
	if err != nil {
		t.Fatal(err)
	}
	article := "Newsgroups: alt.crypt.messages\r\nSubject: x\r\n\r\n" + strings.ReplaceAll(string(body), "\n", "\r\n")
	r := runChecker(t, defaults(), article)
	if r.code != ExitAccept || r.stdout != "-: accept\n" {
		t.Fatalf("exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// "-" as a path reads stdin too.
	opts := defaults()
	opts.Body = true
	r = runChecker(t, opts, string(body), "-")
	if r.code != ExitAccept || r.stdout != "-: accept\n" {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
	// An article without the empty line after the headers.
	r = runChecker(t, defaults(), "Subject: x\nFrom: y\n")
	if r.code != ExitReject || !strings.HasPrefix(r.stdout, "-: reject "+CodeNoSeparator+": ") {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
	// A body given as an article: its first empty line ends "the headers".
	r = runChecker(t, defaults(), string(body))
	if r.code != ExitReject {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	good := filepath.Join(corpustest.Dir(t), "gpg-cv25519-one-recipient.asc")
	opts := defaults()
	opts.Body = true
	r := runChecker(t, opts, "", missing, good)
	if r.code != ExitError || !strings.Contains(r.stderr, missing+": error: ") || r.stdout != good+": accept\n" {
		t.Fatalf("exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// An unreadable file inside a tree is an I/O error, the rest is checked.
	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "locked")
		os.WriteFile(p, []byte("x"), 0)
		r = runChecker(t, opts, "", dir)
		if r.code != ExitError || !strings.Contains(r.stderr, p) {
			t.Fatalf("exit %d %q", r.code, r.stderr)
		}
	}
	// A directory entry that is not a regular file is reported, not skipped silently.
	tree := t.TempDir()
	if err := os.Symlink("/nonexistent/target", filepath.Join(tree, "dangling")); err != nil {
		t.Fatal(err)
	}
	r = runChecker(t, opts, "", tree)
	if r.code != ExitError || !strings.Contains(r.stderr, "dangling") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
}

func TestSizeLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	body, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-64k-random-plaintext.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, body, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := defaults()
	opts.Body = true
	opts.Policy.MaxBodySize = 1000
	r := runChecker(t, opts, "", big)
	if r.code != ExitReject || !strings.Contains(r.stdout, "reject "+armor.CodeBodyTooLarge+": ") {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
	// The same through stdin: the read stops at the limit.
	r = runChecker(t, opts, string(body))
	if r.code != ExitReject || !strings.Contains(r.stdout, armor.CodeBodyTooLarge) {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
	// Articles: header allowance.
	opts.Body = false
	opts.HeaderAllowance = 100
	article := strings.Repeat("X-Filler: 0123456789\n", 10) + "\n" + string(body[:500])
	r = runChecker(t, opts, article)
	if !strings.Contains(r.stdout, CodeHeaderTooLarge) {
		t.Fatalf("%q", r.stdout)
	}
	r = runChecker(t, opts, strings.Repeat("x", 5000))
	if !strings.Contains(r.stdout, CodeArticleTooLarge) {
		t.Fatalf("%q", r.stdout)
	}
}

// limitedReader fails the test if more than n bytes are read.
type limitedReader struct {
	t *testing.T
	r io.Reader
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	k, err := l.r.Read(p)
	l.n -= k
	if l.n < 0 {
		l.t.Fatalf("read %d bytes past the limit", -l.n)
	}
	return k, err
}

func TestReadCap(t *testing.T) {
	opts := defaults()
	opts.Body = true
	opts.Policy.MaxBodySize = 4096
	src := &limitedReader{t: t, r: bytes.NewReader(make([]byte, 1<<20)), n: 4097}
	var out bytes.Buffer
	if code := Run(context.Background(), opts, nil, src, &out, io.Discard); code != ExitReject {
		t.Fatalf("exit %d %q", code, out.String())
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := Run(ctx, defaults(), []string{corpustest.Dir(t)}, nil, &out, &errb); code != ExitError {
		t.Fatalf("exit %d", code)
	}
}

func BenchmarkSweep(b *testing.B) {
	opts := defaults()
	opts.Body = true
	dir := corpustest.Dir(b)
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	files := len(entries)
	for b.Loop() {
		if code := Run(context.Background(), opts, []string{dir}, nil, io.Discard, io.Discard); code != ExitReject {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "articles/s")
}
