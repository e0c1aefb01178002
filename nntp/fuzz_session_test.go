package nntp_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
)

// FuzzServerSession feeds random bytes to a server session over net.Pipe:
// the server must neither panic nor hang.
func FuzzServerSession(f *testing.F) {
	for _, s := range []string{
		"CAPABILITIES\r\nGROUP alt.test\r\nOVER 1-\r\nARTICLE 2\r\nNEXT\r\nQUIT\r\n",
		"POST\r\nNewsgroups: alt.test\r\n\r\nx\r\n.\r\nLIST ACTIVE alt.*\r\n",
		"MODE STREAM\r\nCHECK <a@b>\r\nTAKETHIS <a@b>\r\nNewsgroups: alt.test\r\nMessage-ID: <a@b>\r\n\r\nx\r\n.\r\nCHECK <a@b>\r\n",
		"IHAVE <z@b>\r\nMessage-ID: <z@b>\r\nNewsgroups: alt.test\r\n\r\n.\r\nHDR Subject 1-\r\nXHDR X 1\r\n",
		"AUTHINFO USER u\r\nAUTHINFO PASS p\r\nNEWNEWS * 20000101 000000 GMT\r\nNEWGROUPS 000101 000000\r\n",
		"LISTGROUP alt.test 2-\r\nLAST\r\nSTAT <1@test>\r\nHELP\r\nDATE\r\nSTARTTLS\r\n",
		"GROUP \x00\xff\r\nTAKETHIS\r\n",
	} {
		f.Add([]byte(s))
	}
	mem := newMem(f)
	mem.AddUser("u", "p")
	srv := &nntp.Server{
		Backend:           mem,
		Logger:            testLogger(f),
		AllowInsecureAuth: true,
		IdleTimeout:       200 * time.Millisecond,
		ReadTimeout:       200 * time.Millisecond,
		WriteTimeout:      time.Second,
		MaxArticleSize:    4096,
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		serverEnd, clientEnd := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(serverEnd)
			close(done)
		}()
		go io.Copy(io.Discard, clientEnd)
		clientEnd.SetWriteDeadline(time.Now().Add(5 * time.Second))
		clientEnd.Write(input)
		clientEnd.Write([]byte("\r\nQUIT\r\n"))
		// Closing our end makes the server's next flush fail, so a session
		// left waiting (for an article, say) ends at once instead of at
		// its timeout; what was sent has been read by then.
		clientEnd.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session hangs")
		}
	})
}
