package mail2news

import (
	"context"
	"errors"
	"log/slog"
)

// Poster sends one article to the news server and returns nil only once the
// server answered 240. Its errors go through Classify.
type Poster interface {
	Post(ctx context.Context, article []byte) error
}

// Gateway runs the pipeline for one mail: Prepare, then Post.
type Gateway struct {
	Config Config
	Poster Poster
	// Log receives one line per mail (never a sender or client address);
	// nil means no logging.
	Log *slog.Logger
}

// Deliver turns data (one whole mail) into a post and posts it. The error
// is nil (posted), wraps ErrAlreadyPosted (posted before), a *Refusal or a
// *TempError; Classify and ExitCode sort it.
func (g *Gateway) Deliver(ctx context.Context, data []byte, recipients []string) (*Post, error) {
	post, err := Prepare(g.Config, data, recipients)
	if err != nil {
		g.logResult(nil, len(data), err)
		return nil, err
	}
	err = classifyPostError(g.Poster.Post(ctx, post.Article()))
	g.logResult(post, len(data), err)
	return post, err
}

func (g *Gateway) logResult(post *Post, size int, err error) {
	if g.Log == nil {
		return
	}
	attrs := []any{"bytes", size, "result", Classify(err).String()}
	if post != nil {
		attrs = append(attrs, "groups", post.Groups)
	}
	var r *Refusal
	switch {
	case errors.As(err, &r):
		attrs = append(attrs, "reason", r.Code, "detail", r.Msg)
	case err != nil:
		attrs = append(attrs, "detail", err.Error())
	}
	if Classify(err) == Posted {
		// A line per posted mail, with its time and size, could be matched
		// with the articles of the next release: debug only.
		g.Log.Debug("mail", attrs...)
		return
	}
	g.Log.Info("mail", attrs...)
}
