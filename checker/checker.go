// Package checker is the logic of `gateway check`: it runs the armor gate
// over whole articles (or bare bodies) from files, directory trees such as
// an INN tradspool, or standard input, and reports one verdict per input.
// A carrier can run it over any article to see what the group would refuse.
package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/news"
)

// Reason codes of the article layer (the body's codes come from armor
// through the gate).
const (
	CodeNoSeparator     = gate.CodeNoSeparator
	CodeHeaderTooLarge  = gate.CodeHeaderTooLarge
	CodeArticleTooLarge = gate.CodeArticleTooLarge
)

// DefaultHeaderAllowance is how many bytes of headers an article may carry
// on top of the body limit: the gate's one allowance.
const DefaultHeaderAllowance = gate.HeaderAllowance

// Exit codes of Run.
const (
	ExitAccept = 0 // every input accepted
	ExitReject = 1 // at least one input rejected
	ExitError  = 2 // usage or I/O error
)

// Options configures a run.
type Options struct {
	Policy gate.Policy
	// Body says the inputs are bare bodies, not articles with headers.
	Body bool
	// JSON prints one JSON object per line instead of text.
	JSON bool
	// HeaderAllowance caps the header block (0: DefaultHeaderAllowance).
	HeaderAllowance int
}

func (o Options) headerAllowance() int {
	if o.HeaderAllowance <= 0 {
		return DefaultHeaderAllowance
	}
	return o.HeaderAllowance
}

// limit is the most bytes read from one input.
func (o Options) limit() int {
	return gate.ReadLimit(o.Body, o.Policy, o.headerAllowance())
}

// Result is the verdict on one input.
type Result struct {
	Path      string   `json:"path"`
	Verdict   string   `json:"verdict"` // "accept" or "reject"
	Code      string   `json:"code,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Container string   `json:"container,omitempty"`
	ESKs      []ESKOut `json:"esks,omitempty"`
}

// ESKOut is the JSON form of one session key packet.
type ESKOut struct {
	Kind      string `json:"kind"`
	Version   int    `json:"version"`
	Algorithm int    `json:"algorithm"`
	Anonymous bool   `json:"anonymous,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
}

// Check judges one input: an article (headers, empty line, body) or, with
// opts.Body, a bare body. data must already be capped at the read limit;
// size is the input's full size when known (-1 otherwise).
func Check(path string, data []byte, size int64, opts Options) Result {
	r := Result{Path: path}
	v, err := gate.Verify(data, size, opts.Body, opts.Policy, opts.headerAllowance())
	if err != nil {
		var ref *news.Refusal
		if errors.As(err, &ref) {
			return rejected(r, ref.Code, ref.Msg)
		}
		return rejected(r, "internal", err.Error())
	}
	r.Verdict = "accept"
	r.Container = v.Container
	for _, e := range v.ESKs {
		r.ESKs = append(r.ESKs, ESKOut{Kind: e.Kind, Version: e.Version, Algorithm: e.Algorithm, Anonymous: e.Anonymous, KeyID: e.KeyID})
	}
	return r
}

func rejected(r Result, code, reason string) Result {
	r.Verdict, r.Code, r.Reason = "reject", code, reason
	return r
}

// Run checks every input named in paths (files, or directories walked
// recursively in lexical order), or stdin when paths is empty, writes one
// line per input to stdout, I/O errors to stderr, and returns the exit code.
func Run(ctx context.Context, opts Options, paths []string, stdin io.Reader, stdout, stderr io.Writer) int {
	rep := &reporter{opts: opts, out: stdout, errw: stderr}
	if len(paths) == 0 {
		data, err := io.ReadAll(io.LimitReader(stdin, int64(opts.limit())+1))
		if err != nil {
			rep.ioError("-", err)
		} else {
			rep.report(Check("-", data, -1, opts))
		}
		return rep.exit()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			rep.ioError(p, ctx.Err())
			break
		}
		if p == "-" {
			data, err := io.ReadAll(io.LimitReader(stdin, int64(opts.limit())+1))
			if err != nil {
				rep.ioError("-", err)
				continue
			}
			rep.report(Check("-", data, -1, opts))
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			rep.ioError(p, err)
			continue
		}
		if !info.IsDir() {
			rep.file(p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err != nil {
				rep.ioError(path, err)
				return nil // go on with the rest of the tree
			}
			switch {
			case d.IsDir():
				return nil
			case d.Type().IsRegular():
				rep.file(path)
			case d.Type()&fs.ModeSymlink != 0:
				// Follow links to files; say so for anything else.
				if st, err := os.Stat(path); err != nil {
					rep.ioError(path, err)
				} else if st.Mode().IsRegular() {
					rep.file(path)
				} else {
					fmt.Fprintf(stderr, "%s: skipped: symbolic link to a %s\n", path, kind(st.Mode()))
				}
			default:
				fmt.Fprintf(stderr, "%s: skipped: not a regular file (%s)\n", path, kind(d.Type()))
			}
			return nil
		})
		if err != nil {
			rep.ioError(p, err)
		}
	}
	return rep.exit()
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return m.Type().String()
}

type reporter struct {
	opts            Options
	out, errw       io.Writer
	rejects, errors int
}

// file reads at most the limit + 1 bytes of path and reports its verdict.
func (r *reporter) file(path string) {
	f, err := os.Open(path)
	if err != nil {
		r.ioError(path, err)
		return
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
		if size > int64(r.opts.limit()) {
			r.report(Check(path, nil, size, r.opts))
			return
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(r.opts.limit())+1))
	if err != nil {
		r.ioError(path, err)
		return
	}
	r.report(Check(path, data, size, r.opts))
}

func (r *reporter) report(res Result) {
	if res.Verdict != "accept" {
		r.rejects++
	}
	if r.opts.JSON {
		b, _ := json.Marshal(res)
		b = append(b, '\n')
		r.out.Write(b)
		return
	}
	if res.Verdict == "accept" {
		fmt.Fprintf(r.out, "%s: accept\n", res.Path)
		return
	}
	fmt.Fprintf(r.out, "%s: reject %s: %s\n", res.Path, res.Code, res.Reason)
}

func (r *reporter) ioError(path string, err error) {
	r.errors++
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	fmt.Fprintf(r.errw, "%s: error: %v\n", path, err)
}

func (r *reporter) exit() int {
	switch {
	case r.errors > 0:
		return ExitError
	case r.rejects > 0:
		return ExitReject
	}
	return ExitAccept
}
