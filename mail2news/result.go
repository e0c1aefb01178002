package mail2news

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/nntp"
)

// Exit codes from sysexits.h, the only language an MTA's pipe transport
// understands: 0 delivered, 65 bounce with our reason, 75 keep the mail in
// the queue and retry.
const (
	ExitOK        = 0
	ExitUsage     = 64 // EX_USAGE: bad command line
	ExitDataErr   = 65 // EX_DATAERR: the mail is refused for good
	ExitTempFail  = 75 // EX_TEMPFAIL: try again later
	ExitConfigErr = 78 // EX_CONFIG: the gateway is misconfigured
)

// Reason codes of refusals made by the gateway itself, kebab-case like the
// armor gate's codes (text-after-armor, ...), which refusals by the gate
// carry. A refusal by the news server carries the code its 441 text starts
// with, or server-refused.
const (
	ReasonTooLarge      = "mail-too-large"
	ReasonMalformed     = "mail-malformed"
	ReasonEncoding      = "mail-transfer-encoding"
	ReasonNoCiphertext  = "mail-no-ciphertext"
	ReasonSignatureOnly = "mail-signature-only"
	ReasonOtherBlock    = "mail-other-pgp-block"
	ReasonTwoMessages   = "mail-multiple-messages"
	ReasonPGPMIME       = "mail-pgp-mime"
	ReasonControl       = gate.CodeControl // the gate's one rule, as for POST and transit
	ReasonNoGroup       = "mail-no-group"
	ReasonGroup         = gate.CodeUnknownGroup
	ReasonServerRefused = "server-refused"
)

// Refusal is a permanent refusal of one mail: the sender gets Code and Msg
// back in the bounce (exit 65, SMTP 554). Nothing about it will change on a
// retry.
type Refusal struct {
	Code string
	Msg  string
	Err  error // the cause, if any
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Msg }
func (r *Refusal) Unwrap() error { return r.Err }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// TempError is a failure that says nothing about the mail: the server is
// down, slow, or busy. The MTA keeps the mail and retries (exit 75, SMTP 451).
type TempError struct {
	Msg string
	Err error
}

func (e *TempError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}
func (e *TempError) Unwrap() error { return e.Err }

// ConfigError is a failure that a retry will not cure and the mail did
// not cause: the news server wants a login we do not have or refuses the
// one we gave (480, 481), wants TLS (483), or its certificate does not
// verify. The operator must fix the gateway; an MTA logs and reports exit
// 78 (EX_CONFIG) at once instead of retrying the mail for days.
type ConfigError struct {
	Msg string
	Err error
}

func (e *ConfigError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrAlreadyPosted reports that the server refused the article as a replay
// of a body it already injected. For a gateway that is a retry of a post
// whose 240 answer was lost (the connection broke after the server stored
// it): the ciphertext is in the pool, so the mail counts as delivered.
var ErrAlreadyPosted = errors.New("an identical ciphertext is already in the pool")

// Class is what became of one mail.
type Class int

const (
	Posted        Class = iota // the server answered 240 (or already has the body)
	Refused                    // permanent: bounce with the reason
	Deferred                   // temporary: keep the mail and retry
	Misconfigured              // the gateway's setup is wrong (login, TLS): exit 78
)

func (c Class) String() string {
	switch c {
	case Posted:
		return "posted"
	case Refused:
		return "refused"
	case Misconfigured:
		return "misconfigured"
	}
	return "deferred"
}

// Classify sorts the result of one delivery. Anything it does not recognise
// is Deferred: a mail that is retried is never lost, a bounced one may be.
func Classify(err error) Class {
	if err == nil || errors.Is(err, ErrAlreadyPosted) {
		return Posted
	}
	var r *Refusal
	if errors.As(err, &r) {
		return Refused
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return Misconfigured
	}
	return Deferred
}

// ExitCode maps the result of one delivery to the sysexits code an MTA
// expects.
func ExitCode(err error) int {
	switch Classify(err) {
	case Posted:
		return ExitOK
	case Refused:
		return ExitDataErr
	case Misconfigured:
		return ExitConfigErr
	}
	return ExitTempFail
}

// classifyPostError turns what the NNTP conversation returned into a
// Refusal, a TempError or ErrAlreadyPosted. Only a 441 answer to the article
// itself is a refusal, and only when its reason code is not "temporary"
// (the server could not take it now) nor "replay" or "duplicate" (it has
// it already); every other failure (connection refused, timeout, 400, 436,
// 440, 48x, 5xx) defers the mail, since it says nothing about the mail.
// Only the code decides, never the sentence after it.
func classifyPostError(err error) error {
	if err == nil {
		return nil
	}
	var ne *nntp.Error
	if errors.As(err, &ne) {
		if ne.Code == 441 {
			code := serverReasonCode(ne.Msg)
			switch code {
			case gate.CodeTemporary:
				return &TempError{Msg: "the news server deferred the article", Err: err}
			case gate.CodeReplay, codeDuplicate:
				return fmt.Errorf("%w (server: %d %s)", ErrAlreadyPosted, ne.Code, ne.Msg)
			}
			msg := ne.Msg
			if code != ReasonServerRefused {
				msg = strings.TrimSpace(strings.TrimPrefix(msg, code+":"))
			}
			return &Refusal{Code: code, Msg: "the news server refused the article: " + msg, Err: err}
		}
		switch ne.Code {
		case 480, 481, 483:
			return &ConfigError{Msg: "the news server refused the gateway's login or connection (check --user, --password-file, --tls)", Err: err}
		}
		return &TempError{Msg: "the news server answered", Err: err}
	}
	if certError(err) {
		return &ConfigError{Msg: "the news server's TLS certificate does not verify (check --tls-ca, --tls-server-name)", Err: err}
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return &TempError{Msg: "news server timed out", Err: err}
	}
	return &TempError{Msg: "news server unreachable or connection lost", Err: err}
}

// certError reports whether err is a failed verification of the server's
// certificate.
func certError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// codeDuplicate is the code of nntp's 441 answer to a known article.
const codeDuplicate = "duplicate"

// serverReasonCode picks the reason code out of a 441 text such as
// "text-after-armor: ..." (armor's codes) and falls back to server-refused.
func serverReasonCode(msg string) string {
	tok, _, ok := strings.Cut(msg, ":")
	if !ok || tok == "" || len(tok) > 40 || strings.ContainsAny(tok, " \t") {
		return ReasonServerRefused
	}
	for _, c := range tok {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ReasonServerRefused
		}
	}
	return tok
}
