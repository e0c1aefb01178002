// Package corpustest reads the repository's OpenPGP corpus
// (testdata/openpgp: real ciphertext from gpg, sq, rnp and OpenPGP.js,
// plus crafted malformations) and its manifest of expected verdicts, so
// every package judges the same bodies.
package corpustest

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// Case is one manifest row with the file's content.
type Case struct {
	File     string // name in the corpus directory
	Expected string // accept or reject
	Reason   string
	Body     []byte
}

// Dir returns the corpus directory, testdata/openpgp under the
// repository root, which it finds by walking up from the working
// directory (a package's, under go test) to go.mod; a test may run from
// any depth of the tree.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "openpgp")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("corpustest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Read returns every case of the manifest, in its order; it fails the
// test when the manifest is missing, malformed or empty.
func Read(t testing.TB) []Case {
	t.Helper()
	dir := Dir(t)
	f, err := os.Open(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatal("empty manifest")
	}
	var cases []Case
	for i, r := range rows[1:] {
		if len(r) < 3 {
			t.Fatalf("manifest row %d: %q", i+2, r)
		}
		body, err := os.ReadFile(filepath.Join(dir, r[0]))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, Case{File: r[0], Expected: r[1], Reason: r[2], Body: body})
	}
	return cases
}
