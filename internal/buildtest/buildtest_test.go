package buildtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(), "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s: %v", RepoRoot(), err)
	}
	dir := t.TempDir()
	bin := Build(t, dir, "internal/buildtest/testdata/hello")
	if bin != filepath.Join(dir, "hello") {
		t.Errorf("binary at %s", bin)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from a built binary" {
		t.Errorf("built binary: %q, %v", out, err)
	}
}
