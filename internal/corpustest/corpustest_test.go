package corpustest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	cases := Read(t)
	verdicts := map[string]int{}
	for _, c := range cases {
		verdicts[c.Expected]++
		if c.File == "" || (len(c.Body) == 0) != (c.File == "empty-body.txt") {
			t.Errorf("case %+v", c)
		}
	}
	if verdicts["accept"] == 0 || verdicts["reject"] == 0 || len(verdicts) != 2 {
		t.Errorf("verdicts %v", verdicts)
	}
	// The repository's own copy, two levels above this package.
	want, err := filepath.Abs("../../testdata/openpgp")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.Abs(Dir(t)); got != want {
		t.Errorf("Dir %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(Dir(t), "manifest.csv")); err != nil {
		t.Error(err)
	}
}
