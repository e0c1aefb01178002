package inject

import (
	"fmt"
	"strings"
	"testing"
)

// TestAccountsReplace: a reloaded accounts file takes effect at once and
// the change is reported by user name.
func TestAccountsReplace(t *testing.T) {
	hash := func(pass string) string {
		return HashArgon2id(pass, []byte("0123456789abcdef"), 8*1024, 1, 1)
	}
	parse := func(s string) *Accounts {
		a, err := ParseAccounts(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := parse("alice:" + hash("a") + "\nbob:" + hash("b") + "\n")
	added, removed, changed := a.Replace(parse("bob:" + hash("b2") + "\ncarol:" + hash("c") + "\n"))
	if got := fmt.Sprint(added, removed, changed); got != "[carol] [alice] [bob]" {
		t.Fatalf("added, removed, changed: %s", got)
	}
	if a.Verify("alice", "a") || a.Verify("bob", "b") || !a.Verify("bob", "b2") || !a.Verify("carol", "c") || a.Len() != 2 {
		t.Fatal("the new accounts are not in force")
	}
}
