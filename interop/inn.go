// Package interop tests transit and feeds against real INN (Debian's
// inn2), run in a sandbox by scripts/inn-sandbox, and holds the ingest
// benchmark that compares us with INN using the same client.
package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// INN is a running sandboxed innd.
type INN struct {
	Dir  string
	Addr string // 127.0.0.1:port
}

// INNFeed is one innfeed peer of the sandbox: INN sends alt.crypt.* to
// Addr, except articles whose Path holds PathName.
type INNFeed struct {
	Name, Addr, PathName string
	IHave                bool // false: streaming
}

// repoRoot finds the repository from this source file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// StartINN starts innd in a fresh directory, stopped at the end of the test.
func StartINN(tb testing.TB, pathhost string, feeds ...INNFeed) *INN {
	tb.Helper()
	dir, err := os.MkdirTemp("", "inn-sandbox")
	if err != nil {
		tb.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	args := []string{"start", dir, "--pathhost", pathhost}
	for _, f := range feeds {
		mode := "stream"
		if f.IHave {
			mode = "ihave"
		}
		args = append(args, "--feed", strings.Join([]string{f.Name, f.Addr, f.PathName, mode}, ","))
	}
	script := filepath.Join(repoRoot(), "scripts", "inn-sandbox")
	cmd := exec.Command(script, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	inn := &INN{Dir: dir}
	tb.Cleanup(func() { inn.Stop(tb) })
	if err != nil {
		tb.Fatalf("inn-sandbox start: %v\n%s", err, stderr.String())
	}
	var port int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "port=%d", &port); err != nil {
		tb.Fatalf("inn-sandbox printed %q", out)
	}
	inn.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	return inn
}

// Stop stops innd and removes its directory (keeping it, with its logs,
// when the test failed).
func (i *INN) Stop(tb testing.TB) {
	if i.Dir == "" {
		return
	}
	script := filepath.Join(repoRoot(), "scripts", "inn-sandbox")
	if out, err := exec.Command(script, "stop", i.Dir).CombinedOutput(); err != nil {
		tb.Logf("inn-sandbox stop: %v %s", err, out)
	}
	if tb.Failed() {
		tb.Logf("INN's files are kept in %s", i.Dir)
		for _, f := range []string{"log/news", "log/errlog", "log/innfeed.log", "log/innd.out"} {
			if b, err := os.ReadFile(filepath.Join(i.Dir, f)); err == nil && len(b) > 0 {
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				tb.Logf("%s:\n%s", f, b)
			}
		}
	} else {
		os.RemoveAll(i.Dir)
	}
	i.Dir = ""
}

// Log returns one of INN's log files (for messages in failures).
func (i *INN) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(i.Dir, "log", name))
	return string(b)
}
