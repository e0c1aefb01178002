package mail2news

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
)

type postErrorCase struct {
	err  error
	want Class
}

func postErrorCases() []postErrorCase {
	return []postErrorCase{
		{nil, Posted},
		{&nntp.Error{Code: 441, Msg: "text-after-armor: text after the END line"}, Refused},
		{&nntp.Error{Code: 441, Msg: "Posting failed"}, Refused},
		{&nntp.Error{Code: 441, Msg: "temporary: Temporary failure, try again later"}, Deferred},
		{&nntp.Error{Code: 441, Msg: "temporary: the server cannot store posts right now, try again later"}, Deferred},
		{&nntp.Error{Code: 441, Msg: "store unavailable, try again later"}, Refused}, // no code: the sentence is not read
		{&nntp.Error{Code: 441, Msg: "replay: an identical body was already posted"}, Posted},
		{&nntp.Error{Code: 441, Msg: "duplicate: Duplicate article"}, Posted},
		{&nntp.Error{Code: 440, Msg: "Posting not permitted"}, Deferred},
		{&nntp.Error{Code: 400, Msg: "Service temporarily unavailable"}, Deferred},
		{&nntp.Error{Code: 480, Msg: "Authentication required"}, Misconfigured},
		{&nntp.Error{Code: 481, Msg: "Authentication failed"}, Misconfigured},
		{&nntp.Error{Code: 483, Msg: "Encryption required"}, Misconfigured},
		{fmt.Errorf("starttls: %w", x509.UnknownAuthorityError{}), Misconfigured},
		{&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "news.example"}}, Misconfigured},
		{&nntp.Error{Code: 502, Msg: "Access denied"}, Deferred},
		{&nntp.Error{Code: 500, Msg: "What?"}, Deferred},
		{fmt.Errorf("post: %w", &nntp.Error{Code: 441, Msg: "no-esk: no session key packet"}), Refused},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, Deferred},
		{context.DeadlineExceeded, Deferred},
		{errors.New("unexpected EOF"), Deferred},
	}
}

func TestServerReasonCode(t *testing.T) {
	for msg, want := range map[string]string{
		"text-after-armor: text after END": "text-after-armor",
		"R-A7: text after END":             "R-A7",
		"Posting failed":                   ReasonServerRefused,
		"bad thing: happened":              ReasonServerRefused,
		"":                                 ReasonServerRefused,
	} {
		if got := serverReasonCode(msg); got != want {
			t.Errorf("serverReasonCode(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(refuse(ReasonControl, "x")) != 65 || ExitCode(&TempError{Msg: "down"}) != 75 || ExitCode(errors.New("?")) != 75 ||
		ExitCode(&ConfigError{Msg: "login"}) != 78 {
		t.Fatal("exit codes do not follow sysexits")
	}
	// The server's text appears once.
	err := classifyPostError(&nntp.Error{Code: 480, Msg: "Authentication required"})
	if got := err.Error(); strings.Count(got, "480 Authentication required") != 1 {
		t.Errorf("doubled server text: %q", got)
	}
	err = classifyPostError(&nntp.Error{Code: 400, Msg: "Service temporarily unavailable"})
	if got := err.Error(); strings.Count(got, "Service temporarily unavailable") != 1 {
		t.Errorf("doubled server text: %q", got)
	}
}
