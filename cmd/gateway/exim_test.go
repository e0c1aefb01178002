package main

import (
	"bytes"
	"net"
	"net/smtp"
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

// postfixRoot is where scripts/provision unpacks Debian's postfix package
// (dpkg -x, not installed: it conflicts with exim4 as a package).
func postfixRoot(t *testing.T) string {
	root := os.Getenv("ALTCRYPT_POSTFIX_ROOT")
	if root == "" {
		root = "/var/lib/altcrypt-test/postfix"
	}
	if _, err := os.Stat(filepath.Join(root, "usr/lib/postfix/sbin/master")); err != nil {
		t.Fatalf("no unpacked Postfix in %s (scripts/provision makes it): %v", root, err)
	}
	return root
}

// postfixMain runs a private Postfix instance from the unpacked package:
// every path is its own, nothing listens on the network, and the shipped
// recipe (deploy/mta/postfix-master.cf and postfix-transport) routes
// gw.example to `gateway post`.
const postfixMain = `compatibility_level = 3.6
config_directory = {{DIR}}/conf
meta_directory = {{DIR}}/conf
queue_directory = {{DIR}}/queue
data_directory = {{DIR}}/data
daemon_directory = {{ROOT}}/usr/lib/postfix/sbin
command_directory = {{ROOT}}/usr/sbin
shlib_directory = {{ROOT}}/usr/lib/postfix
sendmail_path = {{ROOT}}/usr/sbin/sendmail
newaliases_path = {{ROOT}}/usr/bin/newaliases
mailq_path = {{ROOT}}/usr/bin/mailq
manpage_directory = {{ROOT}}/usr/share/man
sample_directory = {{ROOT}}/etc/postfix
html_directory = no
readme_directory = no
import_environment = MAIL_CONFIG MAIL_DEBUG LANG=C LD_LIBRARY_PATH={{ROOT}}/usr/lib/postfix
maillog_file = {{DIR}}/postfix.log
maillog_file_prefixes = {{DIR}}
myhostname = gw.example
mydomain = gw.example
myorigin = sender.example
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
smtputf8_enable = no
# From deploy/mta/postfix-transport, step 2:
transport_maps = hash:{{DIR}}/conf/transport
relay_domains = gw.example
mail2news_destination_recipient_limit = 1
`

// postfixServices are the services Postfix needs to take a mail from
// sendmail and hand it to a pipe; the shipped mail2news service follows.
const postfixServices = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// TestPostfix pipes mails through Debian's Postfix, configured with the
// shipped master.cf service and transport map, to `gateway post` and the
// nntpd binary: a good mail appears in the group, a mail with two
// messages is bounced with the gateway's reason and posts nothing.
func TestPostfix(t *testing.T) {
	root := postfixRoot(t)
	g := newGPG(t)
	news := m2ntest.StartNntpd(t)
	dir, err := os.MkdirTemp("", "m2n-postfix")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The pipe runs gateway as nobody: the path to it must be searchable.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"conf", "queue", "data", "bin"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Postfix's own files belong to its mail_owner (scripts/provision
	// makes the account, as the package would).
	owner, err := user.Lookup("postfix")
	if err != nil {
		t.Fatalf("no postfix account (scripts/provision makes it): %v", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)
	if err := os.Chown(filepath.Join(dir, "data"), uid, gid); err != nil {
		t.Fatal(err)
	}
	gateway := buildtest.Build(t, filepath.Join(dir, "bin"), "cmd/gateway")
	shipped := func(name string) string {
		b, err := os.ReadFile(filepath.Join(buildtest.RepoRoot(), "deploy", "mta", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Mail comes in by SMTP on a free loopback port, as from an MX.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := l.Addr().String()
	l.Close()
	fill := strings.NewReplacer("{{DIR}}", dir, "{{ROOT}}", root)
	service := strings.NewReplacer("/usr/local/bin/gateway", gateway, "127.0.0.1:1119", news.Addr).Replace(shipped("postfix-master.cf"))
	transport := strings.ReplaceAll(shipped("postfix-transport"), "news.example.org", "gw.example")
	files := map[string]string{
		"main.cf":   fill.Replace(postfixMain),
		"master.cf": smtpAddr + " inet n - n - - smtpd\n" + postfixServices + service,
		"transport": transport,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, "conf", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"postfix-files", "dynamicmaps.cf"} {
		b, err := os.ReadFile(filepath.Join(root, "etc/postfix", f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "conf", f), b, 0o644)
	}
	conf := filepath.Join(dir, "conf")
	postfix := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "usr/sbin", name), args...)
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/postfix"))
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "postfix.log"))
			t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, log)
		}
	}
	postfix("postmap", "-c", conf, "hash:"+filepath.Join(conf, "transport"))
	postfix("postfix", "-c", conf, "start")
	t.Cleanup(func() { postfix("postfix", "-c", conf, "stop") })

	mails := m2ntest.MakeMails(t, []m2ntest.MailSpec{
		{Kind: "qp", Armors: [][]byte{g.Encrypt(t)}, Sig: "Alice"},
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t), g.Encrypt(t)}},
	})
	send := func(mail []byte) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := smtp.SendMail(smtpAddr, nil, "alice@sender.example", []string{"mail2news-alt.crypt.messages@gw.example"}, mail)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, "postfix.log"))
				t.Fatalf("SMTP to Postfix: %v\n%s", err, log)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	logHas := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			log, _ := os.ReadFile(filepath.Join(dir, "postfix.log"))
			if strings.Contains(string(log), want) {
				return string(log)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Postfix log never said %q:\n%s\nnntpd:\n%s", want, log, news.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	send(mails[0])
	logHas("status=sent (delivered via mail2news service)")
	arts := m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")
	if len(arts) != 1 {
		t.Fatalf("%d articles after a good mail, want 1", len(arts))
	}
	if leaks := m2ntest.HeaderLeaks(arts[0].Header); len(leaks) > 0 {
		t.Fatalf("the article shows %q of the mail:\n%s", leaks, arts[0].Header)
	}
	for _, trace := range []string{"gw.example", "Postfix", "Delivered-To"} {
		if strings.Contains(string(arts[0].Header), trace) {
			t.Fatalf("the article shows Postfix's %q:\n%s", trace, arts[0].Header)
		}
	}
	send(mails[1])
	log := logHas("status=bounced")
	if !strings.Contains(log, "the mail holds 2 armored PGP messages") {
		t.Errorf("the bounce lacks the gateway's sentence:\n%s", log)
	}
	if n := len(m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")); n != 1 {
		t.Errorf("%d articles after a bad mail, want 1", n)
	}
}
