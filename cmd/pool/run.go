package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/altcrypt/altcrypt/internal/pause"
	"github.com/altcrypt/altcrypt/pool"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/outbox"
	"github.com/altcrypt/altcrypt/pool/trial"
)

// laterFlags are pool send's flags for the outbox.
type laterFlags struct {
	later, now *bool
	mean       *time.Duration
}

func addLaterFlags(fs *flag.FlagSet) laterFlags {
	return laterFlags{
		later: fs.Bool("later", false, "keep the message in the outbox: pool run or pool sync posts it after a random delay (default: the send-later setting)"),
		now:   fs.Bool("now", false, "post at once even when the send-later or cover-rate setting is on"),
		mean:  fs.Duration("delay-mean", 0, "mean of the random delay of --later (default: the delay-mean setting, else 30m)"),
	}
}

// queue keeps msg in the outbox when asked to (flag or settings) and says
// whether it did.
func (f laterFlags) queue(c *pool.Client, to string, msg []byte, opt pool.ComposeOptions, server string, print bool, stderr io.Writer) (bool, error) {
	s, err := c.Home.Settings()
	if err != nil {
		return false, err
	}
	if *f.later && *f.now {
		return false, errors.New("pool send: --later and --now contradict each other")
	}
	if *f.later && print {
		return false, errors.New("pool send: --later keeps the message in the outbox; --print writes it out now: choose one")
	}
	if print {
		return false, nil
	}
	// With cover traffic every real message must take a cover post's
	// place, so it goes through the outbox too.
	if *f.now || !(*f.later || s.SendLater || s.CoverRate > 0) {
		return false, nil
	}
	mean := *f.mean
	if mean == 0 {
		mean = s.DelayMean
	}
	if mean == 0 {
		mean = pool.DefaultDelayMean
	}
	m, err := c.Queue(to, msg, opt, server, mean)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(stderr, "pool: queued for %s as %s; pool run (or pool sync) posts it after a random delay (mean %s)\n", server, m.ID, mean)
	return true, nil
}

// flushOutbox posts what is due from the outbox before a sync, unless
// pool run is doing it.
func flushOutbox(ctx context.Context, c *pool.Client, po pool.PostOptions, stderr io.Writer) error {
	ob, err := c.Outbox()
	if err != nil {
		return err
	}
	unlock, err := ob.Lock()
	if errors.Is(err, outbox.ErrBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	st, err := c.Flush(ctx, ob, po, func(err error) { fmt.Fprintln(stderr, err) })
	if err != nil {
		return err
	}
	if n := st.Posted + st.Replayed; n > 0 || st.Refused+st.Deferred > 0 {
		fmt.Fprintf(stderr, "pool: outbox: %d posted, %d refused (in %s/failed), %d to retry, %d waiting\n",
			n, st.Refused, ob.Dir(), st.Deferred, st.Waiting)
	}
	return nil
}

func runCmd(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flags("run", stderr)
	server := fs.String("server", "", "`HOST:PORT` for cover posts (default $ALTCRYPT_SERVER or "+defaultAddr+"); queued messages go where they were queued for")
	rate := fs.Float64("cover-rate", 0, "`N` posts a day at random times, real or dummy (default: the cover-rate setting; 0: no cover, queued messages leave when due)")
	readEvery := fs.Duration("read-every", 0, "also sync from the server and read into the inbox every `D` (e.g. 10m), with the key unlocked once (0: off)")
	keyPassFile := fs.String("key-passphrase-file", "", "with --read-every: unlock your protected key with the passphrase in `FILE` (default: asked once on the terminal)")
	nf := addNetFlags(fs)
	lf := addLoginFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *readEvery < 0 {
		fmt.Fprint(stderr, "usage: pool run [--server HOST:PORT] [--cover-rate N] [--read-every D [--key-passphrase-file FILE]] [--user NAME [--password-file FILE]] [--hashcash-bits N] [--proxy URL] [--insecure]\n")
		return errUsage
	}
	if err := nf.apply(c); err != nil {
		return err
	}
	po, err := lf.options(false)
	if err != nil {
		return err
	}
	s, err := c.Home.Settings()
	if err != nil {
		return err
	}
	rateSet := false
	fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "cover-rate" })
	if !rateSet {
		*rate = s.CoverRate
	}
	if *rate < 0 || *rate > 100000 {
		return fmt.Errorf("pool run: --cover-rate %g: want posts per day, 0 to 100000", *rate)
	}
	addr := serverAddr(*server)
	if *readEvery > 0 {
		keys, err := unlockOnce(c, *keyPassFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "pool run: reading from %s every %s; the unlocked key stays in this process's memory only\n", addr, *readEvery)
		rctx, stopReading := context.WithCancel(ctx)
		done := make(chan struct{})
		defer func() { stopReading(); <-done }()
		go func() {
			defer close(done)
			readLoop(rctx, c, addr, *readEvery, keys, stderr)
		}()
	}
	if *rate > 0 {
		fmt.Fprintf(stderr, "pool run: %.4g posts a day to %s at random times, queued messages in place of dummies\n", *rate, addr)
	} else {
		fmt.Fprintln(stderr, "pool run: posting queued messages when their delay is over")
	}
	st, err := c.Run(ctx, pool.RunOptions{
		Server:    addr,
		CoverRate: *rate,
		Post:      po,
		Log:       func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) },
	})
	fmt.Fprintf(stderr, "pool run: stopped; %d queued and %d cover messages posted, %d refused\n", st.Real, st.Dummy, st.Refused)
	return err
}

// unlockOnce loads the secret keys and unlocks the protected ones with the
// passphrase from file, else asked on the terminal: once, for the whole
// run, like an agent. The unlocked keys live in this process's memory only;
// the files on disk stay protected.
func unlockOnce(c *pool.Client, file string) (*trial.Keys, error) {
	el, err := c.Home.SecretKeys()
	if err != nil {
		return nil, err
	}
	locked := home.Unlock(el, nil)
	var pass []byte
	switch {
	case file != "":
		if pass, err = fileFirstLine(file); err != nil {
			return nil, fmt.Errorf("--key-passphrase-file: %w", err)
		}
	case locked > 0:
		pw, err := askPassword("passphrase of your key (kept in memory while pool run runs): ")
		if err != nil {
			return nil, fmt.Errorf("pool run: the key is protected: %w (or give --key-passphrase-file)", err)
		}
		pass = []byte(pw)
	}
	defer clear(pass)
	if n := home.Unlock(el, pass); n > 0 {
		return nil, fmt.Errorf("pool run: wrong passphrase: %d secret keys stay locked", n)
	}
	return c.Keys(pass)
}

// readLoop syncs from addr and reads into the inbox every interval until
// ctx ends, with keys unlocked before.
func readLoop(ctx context.Context, c *pool.Client, addr string, every time.Duration, keys *trial.Keys, stderr io.Writer) {
	for {
		if _, err := c.Sync(ctx, addr, pool.SyncOptions{}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "pool run: sync: %v\n", err)
		}
		_, err := c.Read(ctx, pool.ReadOptions{Keys: keys}, func(f *pool.Found) error {
			n, err := c.SaveInbox(f)
			if err != nil {
				return err
			}
			from := "an unknown sender"
			if f.From != "" {
				from = f.From
			}
			fmt.Fprintf(stderr, "pool run: a message from %s, %s: inbox %d (pool inbox %d)\n", from, f.Signature, n, n)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "pool run: read: %v\n", err)
		}
		if !pause.For(ctx, every) {
			return
		}
	}
}
