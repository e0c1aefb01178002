package pool

import (
	"context"
	"io"
	"time"

	"github.com/altcrypt/altcrypt/internal/pause"
	"github.com/altcrypt/altcrypt/pool/outbox"
)

// RunOptions tune Run.
type RunOptions struct {
	// Server receives the cover posts (queued messages go to the server
	// they were queued for).
	Server string
	// CoverRate is the number of posts per day, real or dummy, at random
	// (Poisson) times. Zero: no cover; queued messages leave when due.
	CoverRate float64
	// Poll is how often the outbox is looked at for new messages (1 s
	// when zero).
	Poll time.Duration
	// Rand is the randomness for times and dummies (crypto/rand when nil).
	Rand io.Reader
	// Post logs in and mints hashcash stamps, for queued and cover posts
	// alike (a cover post must look like a real one to the server too).
	Post PostOptions
	// Log receives one line per post and per problem (nil: none).
	Log func(format string, args ...any)
}

// RunStats counts what Run posted.
type RunStats struct {
	Real, Dummy, Refused, Deferred int
}

// Run posts from the outbox until ctx ends, holding the outbox's lock. With
// a cover rate, it posts at the events of a Poisson process of that rate:
// at each event the earliest due queued message if there is one, else a
// dummy of a shape drawn from those of the messages queued so far. Real
// messages therefore replace dummies instead of adding to the rate, and the
// rate of posts says nothing about how much the user writes. Without a
// cover rate, each queued message leaves when its random delay is over.
func (c *Client) Run(ctx context.Context, opt RunOptions) (RunStats, error) {
	var st RunStats
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ob, err := c.Outbox()
	if err != nil {
		return st, err
	}
	unlock, err := ob.Lock()
	if err != nil {
		return st, err
	}
	defer unlock()
	poll := opt.Poll
	if poll <= 0 {
		poll = time.Second
	}
	count := func(out Outcome, err error) {
		switch out {
		case Posted, Replayed:
			st.Real++
		case Refused:
			st.Refused++
		case Deferred:
			st.Deferred++
		}
		if err != nil {
			logf("pool run: %v", err)
		}
	}
	if opt.CoverRate <= 0 {
		for {
			fs, err := c.Flush(ctx, ob, opt.Post, func(err error) { logf("pool run: %v", err) })
			if err != nil {
				return st, err
			}
			st.Real += fs.Posted + fs.Replayed
			st.Refused += fs.Refused
			st.Deferred += fs.Deferred
			if fs.Posted+fs.Replayed > 0 {
				logf("pool run: posted %d queued messages, %d waiting", fs.Posted+fs.Replayed, fs.Waiting)
			}
			if !pause.For(ctx, poll) {
				return st, nil
			}
		}
	}
	mean := time.Duration(float64(24*time.Hour) / opt.CoverRate)
	for {
		if !pause.For(ctx, outbox.Exp(mean, opt.Rand)) {
			return st, nil
		}
		ms, err := ob.List()
		if err != nil {
			return st, err
		}
		now := time.Now()
		var due *outbox.Message
		for _, m := range ms {
			if !m.Due.After(now) {
				due = m
				break
			}
		}
		if due != nil {
			out, err := c.PostQueued(ctx, ob, due, opt.Post)
			count(out, err)
			if out == Posted || out == Replayed {
				logf("pool run: posted a queued message (%d waiting)", len(ms)-1)
			}
			continue
		}
		if err := c.postDummy(ctx, ob, opt); err != nil {
			logf("pool run: cover post: %v", err)
			continue
		}
		st.Dummy++
		logf("pool run: posted a cover message")
	}
}

func (c *Client) postDummy(ctx context.Context, ob *outbox.Outbox, opt RunOptions) error {
	shapes, err := ob.Shapes()
	if err != nil {
		return err
	}
	shape, ok := outbox.SampleShape(shapes, opt.Rand)
	if !ok {
		shape = DefaultShape
	}
	art, err := c.Dummy(shape, opt.Rand)
	if err != nil {
		return err
	}
	return c.PostWith(context.WithoutCancel(ctx), opt.Server, art, opt.Post)
}
