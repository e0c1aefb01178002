package mail2news

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/news"
)

// Defaults.
const (
	DefaultGroup = "alt.crypt.messages"
	// DefaultMaxSize caps a whole mail. The armor gate's own cap is 256 KiB
	// of armor; base64 transfer encoding and MIME add a third on top.
	DefaultMaxSize = 512 << 10
	// maxGroups caps the groups one post may name.
	maxGroups = 5
	// maxSubject caps the Subject passed on (hsub tags are 48 to 80 digits).
	maxSubject = 200
)

// AnonymousFrom is the From of every post: the mail's sender is never
// passed on.
const AnonymousFrom = "Anonymous <nobody@invalid>"

// Config says which mail becomes which post.
type Config struct {
	// Groups are the groups the gateway posts to; anything else is
	// refused. Empty means DefaultGroup alone.
	Groups []string
	// GroupFromAddress takes the group from the recipient address
	// (mail2news-alt.crypt.messages@example, or alt.crypt.messages@example)
	// before looking at a Newsgroups header.
	GroupFromAddress bool
	// MaxSize caps the mail in bytes; zero means DefaultMaxSize.
	MaxSize int64
	// Canonicalize checks the armored block and returns it in canonical
	// form; nil means the armor gate with its default policy.
	Canonicalize func(block []byte) ([]byte, error)
}

func (c Config) maxSize() int64 {
	if c.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return c.MaxSize
}

func (c Config) carried() []string {
	if len(c.Groups) == 0 {
		return []string{DefaultGroup}
	}
	return c.Groups
}

func (c Config) carries(group string) bool {
	for _, g := range c.carried() {
		if g == group {
			return true
		}
	}
	return false
}

// Post is what a mail becomes: the groups, the Subject to pass on, the
// canonical armored ciphertext, and the mail's hashcash stamps.
type Post struct {
	Groups  []string
	Subject string
	Body    []byte // the armored message, lines ending in CRLF
	// Hashcash are the mail's well-formed X-Hashcash stamps, for a server
	// that asks for one (nntpd --hashcash-bits); it spends one and drops
	// the header at injection.
	Hashcash []string
}

// Article renders the post as an NNTP POST article (CRLF line endings, not
// dot-stuffed: that is the NNTP client's job). Only Newsgroups, Subject, a
// fixed From and the X-Hashcash stamps are written; the server adds
// Message-ID, Date, Path and the rest at injection.
func (p *Post) Article() []byte {
	var b bytes.Buffer
	b.WriteString("Newsgroups: " + strings.Join(p.Groups, ",") + "\r\n")
	for _, s := range p.Hashcash {
		b.WriteString("X-Hashcash: " + s + "\r\n")
	}
	b.WriteString("Subject: " + p.Subject + "\r\n")
	b.WriteString("From: " + AnonymousFrom + "\r\n")
	b.WriteString("\r\n")
	b.Write(p.Body)
	return b.Bytes()
}

// ReadMail reads one mail of at most cfg.MaxSize bytes. A larger mail is
// refused (the caller may drain the rest).
func ReadMail(cfg Config, r io.Reader) ([]byte, error) {
	max := cfg.maxSize()
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, &TempError{Msg: "cannot read the mail", Err: err}
	}
	if int64(len(data)) > max {
		return nil, refuse(ReasonTooLarge, "the mail is larger than %d bytes", max)
	}
	return data, nil
}

// Prepare turns one mail into a Post, or refuses it. recipients are the
// envelope recipients when known (the MTA's -r, RCPT TO); they are used only
// with GroupFromAddress.
func Prepare(cfg Config, data []byte, recipients []string) (*Post, error) {
	if int64(len(data)) > cfg.maxSize() {
		return nil, refuse(ReasonTooLarge, "the mail is larger than %d bytes", cfg.maxSize())
	}
	msg, err := mail.ReadMessage(bytes.NewReader(stripEnvelopeLine(data)))
	if err != nil {
		return nil, &Refusal{Code: ReasonMalformed, Msg: "cannot parse the mail header: " + err.Error(), Err: err}
	}
	h := msg.Header
	if err := gate.Control(func(name string) bool { _, ok := h[name]; return ok }); err != nil {
		return nil, gateRefusal(err)
	}
	groups, err := cfg.pickGroups(h, recipients)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return nil, &Refusal{Code: ReasonMalformed, Msg: "cannot read the mail body", Err: err}
	}
	block, err := findCiphertext(textproto.MIMEHeader(h), body)
	if err != nil {
		return nil, err
	}
	canon := cfg.Canonicalize
	if canon == nil {
		canon = canonicalize
	}
	armored, err := canon(block)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			return nil, err
		}
		var gr *news.Refusal
		if errors.As(err, &gr) {
			return nil, gateRefusal(err)
		}
		return nil, &Refusal{Code: ReasonNoCiphertext, Msg: err.Error(), Err: err}
	}
	return &Post{Groups: groups, Subject: subject(h.Get("Subject")), Body: crlf(armored), Hashcash: stamps(h["X-Hashcash"])}, nil
}

// maxStamps bounds the stamps passed on (a mail to several recipients may
// carry one for each).
const maxStamps = 8

// stamps returns the values that are well-formed version 1 stamps; the
// rest are dropped, as every other mail header is.
func stamps(values []string) []string {
	var out []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		if _, err := hashcash.Parse(v); err == nil && len(out) < maxStamps && !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// canonicalize runs the gate's ciphertext rule in injection mode: a strict
// parse of the packets, then one canonical armor with no headers (the news
// server anonymises the recipients when it injects the post).
func canonicalize(block []byte) ([]byte, error) {
	c, err := gate.Canonicalize(block, gate.DefaultPolicy(), false)
	if err != nil {
		return nil, err
	}
	return c.Body, nil
}

// gateRefusal maps a gate refusal to the gateway's: a bounce with the
// gate's reason code (a temporary one keeps the mail queued).
func gateRefusal(err error) error {
	var r *news.Refusal
	if !errors.As(err, &r) {
		return &TempError{Msg: "cannot check the mail", Err: err}
	}
	if r.Temporary {
		return &TempError{Msg: r.Msg, Err: err}
	}
	return &Refusal{Code: r.Code, Msg: r.Msg, Err: err}
}

// stripEnvelopeLine drops the mbox "From sender date" line that exim's pipe
// transport, procmail and Postfix's F flag put before the header.
func stripEnvelopeLine(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("From ")) {
		return data
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[i+1:]
	}
	return data
}

// pickGroups finds the groups of the post: from the recipient address when
// configured and it names one, else from the Newsgroups header, else the
// one group the gateway carries when it carries only one. Every group must
// be one the gateway carries.
func (cfg Config) pickGroups(h mail.Header, recipients []string) ([]string, error) {
	var groups []string
	if cfg.GroupFromAddress {
		addrs := recipients
		if len(addrs) == 0 {
			for _, name := range []string{"Delivered-To", "X-Original-To", "To", "Cc"} {
				for _, v := range h[name] {
					list, err := mail.ParseAddressList(v)
					if err != nil {
						continue
					}
					for _, a := range list {
						addrs = append(addrs, a.Address)
					}
				}
			}
		}
		for _, a := range addrs {
			if g := cfg.groupFromAddress(a); g != "" {
				groups = []string{g}
				break
			}
		}
	}
	if groups == nil {
		for _, v := range h["Newsgroups"] {
			for _, g := range strings.Split(v, ",") {
				if g = strings.TrimSpace(g); g != "" && !contains(groups, g) {
					groups = append(groups, g)
				}
			}
		}
	}
	if len(groups) == 0 && len(cfg.carried()) == 1 {
		// Nothing names a group and there is only one it could be: a
		// Newsgroups header is one more thing for a mail user to get
		// right, and the answer is not in doubt.
		groups = cfg.carried()
	}
	if len(groups) == 0 {
		if cfg.GroupFromAddress {
			return nil, refuse(ReasonNoGroup, "neither the recipient address nor a Newsgroups header names a group; write to mail2news-%s@ or add \"Newsgroups: %s\"", cfg.carried()[0], cfg.carried()[0])
		}
		return nil, refuse(ReasonNoGroup, "the mail has no Newsgroups header; add \"Newsgroups: %s\"", cfg.carried()[0])
	}
	if len(groups) > maxGroups {
		return nil, refuse(ReasonGroup, "the mail names %d groups; at most %d", len(groups), maxGroups)
	}
	if err := gate.AllCarried(groups, func(g string) (bool, error) { return cfg.carries(g), nil }, func() string { return strings.Join(cfg.carried(), ", ") }); err != nil {
		return nil, gateRefusal(err)
	}
	return groups, nil
}

// groupFromAddress reads a group out of a recipient address: the local part
// is the group itself, or a prefix, '-' or '+', and the group
// (mail2news-alt.crypt.messages@example). It returns "" when the address
// names no group.
func (cfg Config) groupFromAddress(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return ""
	}
	local := strings.ToLower(addr[:at])
	if cfg.carries(local) {
		return local
	}
	i := strings.IndexAny(local, "-+")
	if i < 0 || i == len(local)-1 {
		return ""
	}
	g := local[i+1:]
	if !strings.Contains(g, ".") || !groupShaped(g) {
		return ""
	}
	return g
}

func groupShaped(g string) bool {
	for _, c := range g {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == '_') {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// subject returns the Subject to pass on: printable ASCII, at most
// maxSubject bytes. Anything else becomes "(none)"; nntpd keeps only
// hsub-shaped subjects anyway and gives the rest a random tag.
func subject(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxSubject {
		return "(none)"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "(none)"
		}
	}
	return s
}

// printable quotes a string from the mail for an error message.
func printable(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return fmt.Sprintf("%q", s)
}

// crlf gives every line a CRLF ending, the NNTP wire form.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
		b = append(b, '\r', '\n')
	}
	return b
}
