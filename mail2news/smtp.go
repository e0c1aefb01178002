package mail2news

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPOptions configure the SMTP listener.
type SMTPOptions struct {
	// Domain is announced in the greeting and EHLO answer.
	Domain string
	// Accept lists the recipient addresses taken, each exact or a pattern
	// with '*' (mail2news-*@example); comparison ignores case. RCPT for any
	// other address is answered 550.
	Accept []string
	// TLS, when set, is offered with STARTTLS.
	TLS *tls.Config
	// RatePerMinute caps the mails one key (RateBy) may start per minute;
	// zero means no cap.
	RatePerMinute int
	// RateBy is "ip" (the client's address, the default) or "sender" (the
	// envelope sender).
	RateBy string
	// LogAddresses adds client addresses and envelope addresses to the
	// logs. Off by default: the pool promises not to keep them.
	LogAddresses bool
	// PostTimeout bounds one delivery to the news server (default 2
	// minutes; SMTP clients wait 10 minutes for the answer to DATA).
	PostTimeout time.Duration
	// ReadTimeout and WriteTimeout bound each SMTP command (default 5
	// minutes and 1 minute).
	ReadTimeout, WriteTimeout time.Duration
}

// NewSMTPServer returns a go-smtp server that runs every mail through gw
// before it answers DATA: 250 only after the news server answered 240, 451
// when the news server is down or busy, 554 with the reason when the mail is
// refused, 552 when it exceeds gw.Config's size cap. The caller runs
// Serve(listener) and Close/Shutdown. ctx cancels deliveries in progress.
func NewSMTPServer(ctx context.Context, gw *Gateway, opt SMTPOptions) (*smtp.Server, error) {
	if opt.RateBy == "" {
		opt.RateBy = "ip"
	}
	if opt.RateBy != "ip" && opt.RateBy != "sender" {
		return nil, fmt.Errorf("rate key %q: want ip or sender", opt.RateBy)
	}
	if len(opt.Accept) == 0 {
		return nil, errors.New("no accepted recipient addresses")
	}
	if opt.PostTimeout <= 0 {
		opt.PostTimeout = 2 * time.Minute
	}
	log := gw.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	be := &smtpBackend{ctx: ctx, gw: gw, opt: opt, log: log}
	if opt.RatePerMinute > 0 {
		be.limiter = newRateLimiter(opt.RatePerMinute, time.Minute)
	}
	s := smtp.NewServer(be)
	s.Domain = opt.Domain
	s.MaxMessageBytes = gw.Config.maxSize()
	s.MaxRecipients = 10
	s.MaxLineLength = 2000
	s.ReadTimeout = orDefault(opt.ReadTimeout, 5*time.Minute)
	s.WriteTimeout = orDefault(opt.WriteTimeout, time.Minute)
	s.TLSConfig = opt.TLS
	s.ErrorLog = &smtpErrorLog{log: log, addresses: opt.LogAddresses}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

type smtpBackend struct {
	ctx     context.Context
	gw      *Gateway
	opt     SMTPOptions
	log     *slog.Logger
	limiter *rateLimiter
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &smtpSession{b: b}
	if addr, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		s.clientIP = addr.IP.String()
	} else {
		s.clientIP = c.Conn().RemoteAddr().String()
	}
	return s, nil
}

// smtpSession is one SMTP connection. It keeps the client address only in
// memory, for the rate limit, and logs it only with LogAddresses.
type smtpSession struct {
	b          *smtpBackend
	clientIP   string
	from       string
	recipients []string
}

var (
	errUnknownRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	errRateLimited      = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many mails, try again later"}
)

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.limiter != nil {
		key := s.clientIP
		if s.b.opt.RateBy == "sender" {
			key = strings.ToLower(from)
		}
		if !s.b.limiter.allow(key, time.Now()) {
			s.logf("rate limited", "client", s.clientIP, "from", from)
			return errRateLimited
		}
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.b.accepts(to) {
		s.logf("unknown recipient", "client", s.clientIP, "to", to)
		return errUnknownRecipient
	}
	s.recipients = append(s.recipients, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // 552 from go-smtp's size cap
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Error reading the message, try again later"}
	}
	ctx, cancel := context.WithTimeout(s.b.ctx, s.b.opt.PostTimeout)
	defer cancel()
	_, err = s.b.gw.Deliver(ctx, data, s.recipients)
	if s.b.opt.LogAddresses {
		s.b.log.Info("smtp delivery", "client", s.clientIP, "from", s.from, "to", s.recipients, "result", Classify(err).String())
	}
	return smtpReply(err)
}

// smtpReply maps a delivery result to the answer to DATA.
func smtpReply(err error) error {
	switch Classify(err) {
	case Posted:
		return nil
	case Refused:
		var r *Refusal
		errors.As(err, &r)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: oneLine(r.Error())}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 1}, Message: "News server unavailable, try again later"}
}

// oneLine keeps a reply text on one line of reasonable length.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400]
	}
	return s
}

func (s *smtpSession) Reset() {
	s.from = ""
	s.recipients = nil
}

func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) logf(msg string, kv ...any) {
	if s.b.opt.LogAddresses {
		s.b.log.Info(msg, kv...)
		return
	}
	s.b.log.Info(msg)
}

// accepts reports whether addr is one of the configured recipients.
func (b *smtpBackend) accepts(addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	for _, pat := range b.opt.Accept {
		if matchAddress(strings.ToLower(strings.TrimSpace(pat)), addr) {
			return true
		}
	}
	return false
}

// matchAddress matches addr against a pattern in which '*' stands for any
// run of characters other than '@'.
func matchAddress(pat, addr string) bool {
	star := strings.IndexByte(pat, '*')
	if star < 0 {
		return pat == addr
	}
	if !strings.HasPrefix(addr, pat[:star]) {
		return false
	}
	addr, pat = addr[star:], pat[star+1:]
	// Try every length of the run the star stands for; patterns are
	// short and written by the operator.
	for i := 0; i <= len(addr); i++ {
		if i > 0 && addr[i-1] == '@' {
			break
		}
		if matchAddress(pat, addr[i:]) {
			return true
		}
	}
	return false
}

// smtpErrorLog receives go-smtp's own error lines ("error handling
// 192.0.2.1:4321: ...", panics) and drops the client address from them
// unless addresses may be logged.
type smtpErrorLog struct {
	log       *slog.Logger
	addresses bool
}

func (l *smtpErrorLog) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, l.scrub(v)...)))
}

func (l *smtpErrorLog) Println(v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintln(l.scrub(v)...)))
}

func (l *smtpErrorLog) scrub(v []any) []any {
	if l.addresses {
		return v
	}
	out := make([]any, len(v))
	for i, x := range v {
		if _, ok := x.(net.Addr); ok {
			x = "[client]"
		}
		out[i] = x
	}
	return out
}
