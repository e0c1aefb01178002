// Package checker is the logic of `gateway check`: it runs the armor gate
// over whole articles (or bare bodies) from files, directory trees such as
// an INN tradspool, or standard input, and reports one verdict per input.
// A carrier can run it over any article to see what the group would refuse.
package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/altcrypt/altcrypt/armor"
)

// Reason codes of the article layer (the body's codes come from armor).
const (
	CodeNoSeparator     = "no-header-separator"
	CodeHeaderTooLarge  = "header-too-large"
	CodeArticleTooLarge = "article-too-large"
)

// DefaultHeaderAllowance is how many bytes of headers an article may carry
// on top of the body limit.
const DefaultHeaderAllowance = 64 << 10

// Exit codes of Run.
const (
	ExitAccept = 0 // every input accepted
	ExitReject = 1 // at least one input rejected
	ExitError  = 2 // usage or I/O error
)

// Options configures a run.
type Options struct {
	Policy armor.Policy
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

// maxBody is the body limit the armor policy applies.
func (o Options) maxBody() int {
	if o.Policy.MaxBodySize <= 0 {
		return armor.DefaultMaxBodySize
	}
	return o.Policy.MaxBodySize
}

// limit is the most bytes read from one input.
func (o Options) limit() int {
	if o.Body {
		return o.maxBody()
	}
	return o.maxBody() + o.headerAllowance()
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
	limit := opts.limit()
	if size > int64(limit) || len(data) > limit {
		if size < int64(len(data)) {
			size = int64(len(data))
		}
		what, code := "article", CodeArticleTooLarge
		if opts.Body {
			what, code = "body", armor.CodeBodyTooLarge
		}
		return rejected(r, code, fmt.Sprintf("the %s is at least %d bytes; at most %d are accepted", what, size, limit))
	}
	body := data
	if !opts.Body {
		var code, reason string
		body, code, reason = splitArticle(data, opts.headerAllowance())
		if code != "" {
			return rejected(r, code, reason)
		}
	}
	v, err := armor.Check(body, opts.Policy)
	if err != nil {
		var ae *armor.Error
		if errors.As(err, &ae) {
			return rejected(r, ae.Code, ae.Msg)
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

// splitArticle returns the body after the first empty line (CRLF CRLF or
// LF LF). The header block may not exceed allowance bytes.
func splitArticle(a []byte, allowance int) (body []byte, code, reason string) {
	for pos := 0; pos < len(a); {
		if pos > allowance {
			return nil, CodeHeaderTooLarge, fmt.Sprintf("the header block is longer than %d bytes", allowance)
		}
		i := bytes.IndexByte(a[pos:], '\n')
		if i < 0 {
			break
		}
		l := a[pos : pos+i]
		pos += i + 1
		if len(l) == 0 || (len(l) == 1 && l[0] == '\r') {
			if pos-1 > allowance {
				return nil, CodeHeaderTooLarge, fmt.Sprintf("the header block is longer than %d bytes", allowance)
			}
			return a[pos:], "", ""
		}
	}
	if len(a) > allowance {
		return nil, CodeHeaderTooLarge, fmt.Sprintf("no empty line ends the headers within %d bytes", allowance)
	}
	return nil, CodeNoSeparator, "the article has no empty line between its headers and its body (use --body for bare bodies)"
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
