package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/checker"
)

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := checker.Options{Policy: armor.DefaultPolicy()}
	fs.BoolVar(&opts.Body, "body", false, "inputs are bare article bodies, not articles with headers")
	fs.BoolVar(&opts.JSON, "json", false, "print one JSON object per input")
	fs.IntVar(&opts.Policy.MaxBodySize, "max-body-size", opts.Policy.MaxBodySize, "largest body accepted, in bytes")
	fs.BoolVar(&opts.Policy.AllowVisibleRecipients, "allow-visible-recipients", opts.Policy.AllowVisibleRecipients, "accept PKESKs that name their recipient (false: hidden recipients only)")
	fs.BoolVar(&opts.Policy.AllowLibrePGPAEAD, "allow-librepgp-aead", opts.Policy.AllowLibrePGPAEAD, "accept the LibrePGP AEAD packet (tag 20)")
	fs.IntVar(&opts.Policy.MaxESKs, "max-esks", opts.Policy.MaxESKs, "most session key packets (PKESK + SKESK) per message")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gateway check [--body] [--json] [policy flags] [FILE|DIR]...")
		fmt.Fprintln(fs.Output(), "\nChecks each article (each regular file under a DIR, or standard input")
		fmt.Fprintln(fs.Output(), "when no path is given) and prints `PATH: accept` or `PATH: reject CODE: reason`.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 all accepted, 1 any rejected, 2 usage or I/O error.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return checker.ExitError
	}
	if opts.Policy.MaxBodySize <= 0 || opts.Policy.MaxESKs <= 0 {
		fmt.Fprintln(stderr, "gateway check: --max-body-size and --max-esks must be positive")
		return checker.ExitError
	}
	return checker.Run(ctx, opts, fs.Args(), stdin, stdout, stderr)
}
