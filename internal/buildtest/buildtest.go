// Package buildtest builds the repository's commands for tests that run
// them as processes.
package buildtest

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the root of the repository this package sits in, whatever
// the test's working directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds the package pkg (a path from the repository root, e.g.
// "cmd/nntpd") into dir, under the last element of pkg, and returns the
// binary's path. A failed build fails the test with the compiler's output.
func Build(t testing.TB, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, "./"+filepath.ToSlash(pkg))
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", pkg, err, out)
	}
	return bin
}
