package mail2news

import (
	"fmt"
	"os"
	"testing"

	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
)

// testGPG holds the key every test encrypts to, made once for the package.
var testGPG *m2ntest.GPG

func TestMain(m *testing.M) {
	g, err := m2ntest.NewGPG()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testGPG = g
	code := m.Run()
	g.Close()
	os.Exit(code)
}

type mailSpec = m2ntest.MailSpec
type storedArticle = m2ntest.Article

func encrypt(t testing.TB, extra ...string) []byte { t.Helper(); return testGPG.Encrypt(t, extra...) }
func gpgRun(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	return testGPG.Must(t, stdin, args...).Stdout
}
func makeMail(t testing.TB, s mailSpec) []byte      { t.Helper(); return m2ntest.MakeMail(t, s) }
func makeMails(t testing.TB, s []mailSpec) [][]byte { t.Helper(); return m2ntest.MakeMails(t, s) }
func readGroup(t testing.TB, addr, group string) []storedArticle {
	t.Helper()
	return m2ntest.ReadGroup(t, addr, group)
}
func python3() string { return m2ntest.Python3() }
