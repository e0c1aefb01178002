package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

// eximMain is the main section of a private exim configuration around
// the shipped router and transport (deploy/mta/exim4-router and
// exim4-transport, set through their macros): mail for
// mail2news-*@gw.example goes through the shipped pipe transport to
// `gateway post`, and mail for sender.example (the bounces) lands in a
// file.
const eximMain = `primary_hostname = gw.example
qualify_domain = gw.example
spool_directory = {{DIR}}/spool
exim_user = {{USER}}
exim_group = {{GROUP}}
never_users =
keep_environment =
# No DNS on a test machine.
host_lookup =
MAIL2NEWS_DOMAIN = gw.example
MAIL2NEWS_GATEWAY = {{DIR}}/gateway
MAIL2NEWS_SERVER = {{NEWS}}
MAIL2NEWS_USER = {{USER}}
`

const eximTail = `
begin retry
* * F,1h,1m
`

// eximConfig assembles the test configuration from the shipped files.
func eximConfig(t *testing.T) string {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(buildtest.RepoRoot(), "deploy", "mta", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return eximMain +
		"\nbegin routers\n" + read("exim4-router") + `
senders:
  driver = accept
  domains = sender.example
  transport = mailbox
` +
		"\nbegin transports\n" + read("exim4-transport") + `
mailbox:
  driver = appendfile
  file = {{DIR}}/mail/bounces
  envelope_to_add = true
  return_path_add = true
` + eximTail
}

// eximHarness runs exim with the private configuration. As root it runs
// exim as nobody: exim gives up root for a -C configuration, and Debian's
// exim never delivers as root.
type eximHarness struct {
	t    *testing.T
	bin  string
	dir  string
	conf string
	cred *syscall.Credential
	// logs collects exim's standard error: without privilege (a -C
	// configuration) exim writes its log lines there.
	logs bytes.Buffer
}

func newExim(t *testing.T, newsAddr string) *eximHarness {
	t.Helper()
	exim, err := exec.LookPath("exim4")
	if err != nil {
		t.Fatalf("exim4 is not installed (scripts/provision installs exim4-daemon-light): %v", err)
	}
	dir, err := os.MkdirTemp("", "m2n-exim")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("M2N_KEEP") == "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	for _, d := range []string{"spool", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildtest.Build(t, dir, "cmd/gateway")
	h := &eximHarness{t: t, bin: exim, dir: dir, conf: filepath.Join(dir, "exim.conf")}
	userName, groupName := "", ""
	if os.Getuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		userName, groupName = u.Username, g.Name
		h.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				err = os.Lchown(p, uid, gid)
			}
			return err
		})
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		userName, groupName = u.Username, g.Name
	}
	conf := strings.NewReplacer("{{DIR}}", dir, "{{NEWS}}", newsAddr, "{{USER}}", userName, "{{GROUP}}", groupName).Replace(eximConfig(t))
	if err := os.WriteFile(h.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if h.cred != nil {
		os.Chown(h.conf, int(h.cred.Uid), int(h.cred.Gid))
	}
	return h
}

// run runs exim with the configuration and the given arguments and
// returns its standard output. It returns once every process exim forked
// (deliveries, queue runners) has let go of standard error.
func (h *eximHarness) run(stdin []byte, args ...string) (string, error) {
	h.t.Helper()
	cmd := exec.Command(h.bin, append([]string{"-C", h.conf}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Dir = h.dir
	if h.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: h.cred}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	h.logs.Write(stderr.Bytes())
	return stdout.String(), err
}

// send submits a mail from alice@sender.example to rcpt and delivers it
// in the foreground (-odi).
func (h *eximHarness) send(mail []byte, rcpt string) {
	h.t.Helper()
	if out, err := h.run(mail, "-odi", "-f", "alice@sender.example", rcpt); err != nil {
		h.t.Fatalf("exim -odi: %v\n%s\n%s", err, out, h.log())
	}
}

// queued counts the messages in the queue.
func (h *eximHarness) queued() int {
	h.t.Helper()
	out, err := h.run(nil, "-bpc")
	if err != nil {
		h.t.Fatalf("exim -bpc: %v\n%s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		h.t.Fatalf("exim -bpc said %q", out)
	}
	return n
}

func (h *eximHarness) log() string { return h.logs.String() }

// mailbox waits for the bounce mailbox of local part to hold want.
func (h *eximHarness) mailbox(local, want string) string {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(h.dir, "mail", local))
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %q in %s's mailbox:\n%s\nexim log:\n%s", want, local, b, h.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestExim delivers through a real MTA to the real server: exim's pipe
// transport runs `gateway post`, which posts to the nntpd binary on a
// sqlite store. A good mail appears in the group without any mail
// header; a bad one bounces to its sender with our reason; a mail sent
// while the news server is down stays queued and is posted by the next
// queue run once the server is back.
func TestExim(t *testing.T) {
	g := newGPG(t)
	news := m2ntest.StartNntpd(t)
	h := newExim(t, news.Addr)
	const rcpt = "mail2news-alt.crypt.messages@gw.example"

	mails := m2ntest.MakeMails(t, []m2ntest.MailSpec{
		{Kind: "qp", Armors: [][]byte{g.Encrypt(t)}, Sig: "Alice"},
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t), g.Encrypt(t)}},
		{Kind: "pgpmime", Armors: [][]byte{g.Encrypt(t)}},
	})

	h.send(mails[0], rcpt)
	arts := m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")
	if len(arts) != 1 {
		t.Fatalf("%d articles after a good mail, want 1\nexim log:\n%s", len(arts), h.log())
	}
	if leaks := m2ntest.HeaderLeaks(arts[0].Header); len(leaks) > 0 {
		t.Fatalf("the article shows %q of the mail:\n%s", leaks, arts[0].Header)
	}
	for _, trace := range []string{"Envelope-to", "Return-path", "Delivery-date", "gw.example", "Exim"} {
		if strings.Contains(string(arts[0].Header), trace) {
			t.Fatalf("the article shows exim's %q:\n%s", trace, arts[0].Header)
		}
	}

	h.send(mails[1], rcpt)
	bounce := h.mailbox("bounces", "mail-multiple-messages")
	if !strings.Contains(bounce, "the mail holds 2 armored PGP messages") {
		t.Fatalf("the bounce lacks our sentence:\n%s", bounce)
	}
	if n := len(m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")); n != 1 {
		t.Fatalf("%d articles after a bad mail, want 1", n)
	}

	news.Stop()
	h.send(mails[2], rcpt)
	if n := h.queued(); n != 1 {
		t.Fatalf("%d mails queued while the news server is down, want 1\n%s", n, h.log())
	}
	if !strings.Contains(h.log(), "returned 75") {
		t.Fatalf("exim did not see exit 75:\n%s", h.log())
	}
	news.Start()
	if out, err := h.run(nil, "-qff"); err != nil {
		t.Fatalf("exim -qff: %v\n%s", err, out)
	}
	// -qff forks a delivery process; wait until the queue is empty.
	deadline := time.Now().Add(30 * time.Second)
	for h.queued() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the deferred mail is still queued:\n%s", h.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	arts = m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")
	if len(arts) != 2 {
		t.Fatalf("%d articles after the queue run, want 2\n%s", len(arts), h.log())
	}
	t.Logf("exim log:\n%s", h.log())
}

// TestEximGatewayMisconfigured: when the news server refuses the
// gateway's login (480), `gateway post` exits 78 and exim, through the
// shipped transport, returns the mail at once with the reason instead of
// queueing it for days.
func TestEximGatewayMisconfigured(t *testing.T) {
	g := newGPG(t)
	closed := nntpmem.New("alt.crypt.messages")
	closed.Anonymous = nntp.Permissions{}
	news := m2ntest.StartNewsServer(t, closed, nil)
	h := newExim(t, news.Addr)
	mails := m2ntest.MakeMails(t, []m2ntest.MailSpec{{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}}})
	h.send(mails[0], "mail2news-alt.crypt.messages@gw.example")
	bounce := h.mailbox("bounces", "configuration error")
	if strings.Count(bounce, "480 ") > 1 {
		t.Errorf("the server's text is doubled in the bounce:\n%s", bounce)
	}
	if n := h.queued(); n != 0 {
		t.Fatalf("%d mails left in the queue, want 0 (exit 78 is not a temporary failure)\n%s", n, h.log())
	}
	if !strings.Contains(h.log(), "returned 78") {
		t.Errorf("exim did not see exit 78:\n%s", h.log())
	}
}
