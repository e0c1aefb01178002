package nntp

import (
	"errors"
	"fmt"

	"github.com/altcrypt/altcrypt/news"
)

// Error is an NNTP response: a three-digit code and its text. Every error
// that reaches a client passes through ResponseFor, the one place that maps
// errors to codes.
type Error struct {
	Code int
	Msg  string
	Err  error // the cause, if any, for errors.Is/As
}

func (e *Error) Error() string {
	if e.Msg == "" && e.Err != nil {
		return fmt.Sprintf("%d %v", e.Code, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors a Session returns. Their codes depend on the command
// (ErrNoSuchArticle is 423 by number and 430 by message-id), so the server
// maps them through ResponseFor with the command's context.
var (
	ErrNoSuchGroup         = news.ErrNoSuchGroup
	ErrNoSuchArticle       = news.ErrNoSuchArticle
	ErrNoNextArticle       = news.ErrNoNextArticle
	ErrNoPrevArticle       = news.ErrNoPrevArticle
	ErrAuthRejected        = errors.New("authentication failed")
	ErrPostingNotPermitted = errors.New("posting not permitted")
	ErrDuplicate           = errors.New("duplicate: article already known")
	ErrRejected            = errors.New("article rejected")
	ErrTryLater            = errors.New("temporary failure, try again later")
)

// CommandFamily tells ResponseFor which family of commands an error
// answers, since the same condition has different codes in different
// commands.
type CommandFamily int

const (
	CmdGeneric  CommandFamily = iota
	CmdByNumber               // ARTICLE/HEAD/BODY/STAT/OVER/HDR by number or range
	CmdByID                   // the same by message-id
	CmdPost
	CmdIHave
	CmdCheck
	CmdTakeThis
	CmdAuth
)

// ResponseFor maps err to the response a client gets to a command of the
// given family.
// A 441 answer to POST always reads "reason-code: sentence", so a program
// posting (the mail gateway) can tell a temporary failure ("temporary")
// or a duplicate from a refusal by the code alone.
// An *Error found anywhere in the chain wins; unknown errors become 403.
func ResponseFor(err error, fam CommandFamily) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrNoSuchGroup):
		return &Error{Code: 411, Msg: "No such newsgroup", Err: err}
	case errors.Is(err, ErrNoSuchArticle):
		if fam == CmdByID {
			return &Error{Code: 430, Msg: "No article with that message-id", Err: err}
		}
		return &Error{Code: 423, Msg: "No article with that number", Err: err}
	case errors.Is(err, ErrNoNextArticle):
		return &Error{Code: 421, Msg: "No next article in this group", Err: err}
	case errors.Is(err, ErrNoPrevArticle):
		return &Error{Code: 422, Msg: "No previous article in this group", Err: err}
	case errors.Is(err, ErrAuthRejected):
		return &Error{Code: 481, Msg: "Authentication failed", Err: err}
	case errors.Is(err, ErrPostingNotPermitted):
		return &Error{Code: 440, Msg: "Posting not permitted", Err: err}
	case errors.Is(err, ErrDuplicate):
		switch fam {
		case CmdCheck:
			return &Error{Code: 438, Msg: "Already have it", Err: err}
		case CmdTakeThis:
			return &Error{Code: 439, Msg: "Already have it", Err: err}
		case CmdPost:
			return &Error{Code: 441, Msg: "duplicate: Duplicate article", Err: err}
		}
		return &Error{Code: 435, Msg: "Already have it", Err: err}
	case errors.Is(err, ErrRejected):
		msg := err.Error()
		switch fam {
		case CmdCheck:
			return &Error{Code: 438, Msg: msg, Err: err}
		case CmdTakeThis:
			return &Error{Code: 439, Msg: msg, Err: err}
		case CmdPost:
			return &Error{Code: 441, Msg: msg, Err: err}
		}
		return &Error{Code: 437, Msg: msg, Err: err}
	case errors.Is(err, ErrTryLater):
		switch fam {
		case CmdCheck:
			return &Error{Code: 431, Msg: "Try again later", Err: err}
		case CmdTakeThis:
			// RFC 4644 has no temporary TAKETHIS code and 439 would make
			// the peer drop the article. 400 closes the connection, so the
			// peer keeps every unacknowledged article and retries later.
			return &Error{Code: 400, Msg: "Service temporarily unavailable, try again later", Err: err}
		case CmdPost:
			return &Error{Code: 441, Msg: "temporary: Temporary failure, try again later", Err: err}
		}
		return &Error{Code: 436, Msg: "Transfer not possible, try again later", Err: err}
	}
	return &Error{Code: 403, Msg: "Internal fault", Err: err}
}
