package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/storetest"
)

// stores gives each admin test a fresh --db value of both kinds.
var stores = []struct {
	name string
	db   func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "news.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

func runAdmin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := admin(t.Context(), args, nil, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// startServer runs nntpd on db and returns its NNTP address.
func startServer(t *testing.T, db string, extra ...string) string {
	t.Helper()
	stderr := startNntpd(t, append([]string{"--db", db, "--listen", "127.0.0.1:0", "--name", "test.example",
		"--release-interval", "0"}, extra...)...)
	waitFor(t, stderr, "msg=serving")
	m := regexp.MustCompile(`listeners=(\S+)`).FindStringSubmatch(stderr.String())
	return m[1]
}

// nntpSay sends one command and returns the first line of the answer.
func nntpSay(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, r := dialNntp(t, addr)
	defer c.Close()
	c.Write([]byte(cmd + "\r\n"))
	line, _ := r.ReadString('\n')
	return strings.TrimSpace(line)
}

// TestAdminGroups: group add and remove act on a running server's store:
// its readers see the change at once; groups lists counts and marks.
func TestAdminGroups(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			db := s.db(t)
			addr := startServer(t, db)
			if got := nntpSay(t, addr, "GROUP alt.new"); !strings.HasPrefix(got, "411 ") {
				t.Fatalf("before add: %q", got)
			}
			code, out, errs := runAdmin(t, "", "group", "add", "alt.new", "--db", db)
			if code != 0 || !strings.Contains(out, "group alt.new carried") {
				t.Fatalf("group add: %d %q %q", code, out, errs)
			}
			if got := nntpSay(t, addr, "GROUP alt.new"); !strings.HasPrefix(got, "211 0 ") {
				t.Errorf("after add: %q", got)
			}
			code, out, _ = runAdmin(t, "", "groups", "--db", db)
			if code != 0 || !regexp.MustCompile(`(?m)^GROUP\s+ARTICLES\s+LOW\s+HIGH\s+STATUS\s+CREATED$`).MatchString(out) ||
				!regexp.MustCompile(`(?m)^alt\.crypt\.messages\s+0\s+1\s+0\s+y\s+\d{4}-`).MatchString(out) ||
				!regexp.MustCompile(`(?m)^alt\.new\s+0\s+1\s+0\s+y\s+`).MatchString(out) {
				t.Errorf("groups: %d\n%s", code, out)
			}
			code, out, _ = runAdmin(t, "", "group", "remove", "alt.crypt.messages", "--db", db)
			if code != 0 || !strings.Contains(out, "removed") || !strings.Contains(out, "--groups names alt.crypt.messages") {
				t.Errorf("group remove: %d %q", code, out)
			}
			if got := nntpSay(t, addr, "GROUP alt.crypt.messages"); !strings.HasPrefix(got, "411 ") {
				t.Errorf("after remove: %q", got)
			}
			if code, _, errs := runAdmin(t, "", "group", "remove", "alt.none", "--db", db); code != 1 || !strings.Contains(errs, "no group alt.none") {
				t.Errorf("remove unknown: %d %q", code, errs)
			}
			if code, _, _ := runAdmin(t, "", "group", "frob", "alt.x", "--db", db); code != 2 {
				t.Errorf("bad verb: %d", code)
			}
		})
	}
}

// TestAdminPeersExpire: peers shows each queue and the last outcome of
// feeding; expire removes what is due and says how much.
func TestAdminPeersExpire(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			db := s.db(t)
			st, _, err := openStore(t.Context(), db, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if err := st.EnsureGroup(ctx, "alt.crypt.messages", ""); err != nil {
				t.Fatal(err)
			}
			old := storetest.Article("<old@test>", 500, "alt.crypt.messages")
			old.Arrived, old.Peers = time.Now().Add(-40*24*time.Hour), []string{"inn"}
			fresh := storetest.Article("<fresh@test>", 500, "alt.crypt.messages")
			fresh.Arrived, fresh.Peers = time.Now(), []string{"inn"}
			if _, err := st.Insert(ctx, []*store.NewArticle{old, fresh}, nil); err != nil {
				t.Fatal(err)
			}
			if err := st.RecordPeer(ctx, "inn", time.Now().Add(-time.Minute), "dial tcp 192.0.2.1:119: connection refused"); err != nil {
				t.Fatal(err)
			}
			st.Close()
			peersFile := filepath.Join(t.TempDir(), "peers")
			os.WriteFile(peersFile, []byte("peer inn {\n  send-to: 192.0.2.1:119\n}\npeer quiet {\n  accept-from: 192.0.2.2\n}\n"), 0o600)

			code, out, errs := runAdmin(t, "", "peers", "--db", db, "--peers", peersFile)
			if code != 0 || !regexp.MustCompile(`(?m)^inn\s+192\.0\.2\.1:119\s+2\s+\d{4}-\S+ \(960h0m\d+s ago\)\s+-\s+\S+ \(1m\d+s ago\): dial tcp 192\.0\.2\.1:119: connection refused$`).MatchString(out) ||
				!regexp.MustCompile(`(?m)^quiet\s+-\s+0\s+-\s+-\s+-$`).MatchString(out) {
				t.Errorf("peers: %d %q\n%s", code, errs, out)
			}
			code, out, errs = runAdmin(t, "", "expire", "--db", db, "--retention", "30d")
			if code != 0 || !strings.HasPrefix(out, "expired 1 articles (older than 30d)") {
				t.Errorf("expire: %d %q %q", code, out, errs)
			}
			if _, out, _ := runAdmin(t, "", "peers", "--db", db); !regexp.MustCompile(`(?m)^inn\s+-\s+1\s`).MatchString(out) {
				t.Errorf("peers after expiry:\n%s", out)
			}
		})
	}
}

// TestAdminPasswd: the printed line is one the accounts file accepts and
// that verifies the password, in both hash forms.
func TestAdminPasswd(t *testing.T) {
	for _, hash := range []string{"bcrypt", "argon2id"} {
		code, out, errs := runAdmin(t, "s3cret words\n", "passwd", "--hash", hash, "alice")
		if code != 0 || !strings.HasPrefix(out, "alice:$") {
			t.Fatalf("%s: %d %q %q", hash, code, out, errs)
		}
		file := filepath.Join(t.TempDir(), "accounts")
		os.WriteFile(file, []byte(out), 0o600)
		a, err := inject.LoadAccounts(file)
		if err != nil || !a.Verify("alice", "s3cret words") || a.Verify("alice", "s3cret") {
			t.Errorf("%s: %q does not verify: %v", hash, out, err)
		}
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"", []string{"passwd", "alice"}, 1},
		{"x\n", []string{"passwd"}, 2},
		{"x\n", []string{"passwd", "a:b"}, 2},
		{"x\n", []string{"passwd", "--hash", "md5", "alice"}, 2},
	} {
		if code, _, _ := runAdmin(t, c.stdin, c.args...); code != c.code {
			t.Errorf("%q: exit %d, want %d", c.args, code, c.code)
		}
	}
}

// TestAdminCheck: a sound configuration says ok; each problem is one line.
func TestAdminCheck(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			db := s.db(t)
			code, out, _ := runAdmin(t, "", "check", "--db", db, "--name", "localhost")
			if code != 0 || !strings.HasPrefix(out, "ok: "+s.name+" reachable") {
				t.Errorf("sound: %d %q", code, out)
			}
			cert := testcert.New(t)
			dir := t.TempDir()
			badPeers := filepath.Join(dir, "peers")
			os.WriteFile(badPeers, []byte("peer x {\n  frobnicate: yes\n}\n"), 0o600)
			badDB := "sqlite:" + filepath.Join(dir, "missing", "news.db")
			if s.name == "postgres" {
				badDB = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
			}
			code, out, _ = runAdmin(t, "", "check", "--db", badDB, "--name", "news.example.org", "--peers", badPeers,
				"--accounts", filepath.Join(dir, "none"), "--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			want := []string{"--accounts: ", "--peers: ", "--tls-cert: expires on ", "--tls-cert: not valid for --name news.example.org", "--db: "}
			if code != 1 || len(lines) != len(want) {
				t.Fatalf("bad: %d\n%s", code, out)
			}
			for i, w := range want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: %q, want %q...", i, lines[i], w)
				}
			}
			if code, out, _ := runAdmin(t, "", "check", "--db", db, "--max-article-size", "10"); code != 1 || !strings.HasPrefix(out, "flags: ") {
				t.Errorf("bad flag: %d %q", code, out)
			}
		})
	}
}
