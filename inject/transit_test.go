package inject

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/transit"
)

const peersFile = `
peer inn1 {
    accept-from: 127.0.0.1
    path:        peer.example
    send-to:     127.0.0.1:9
    groups:      alt.crypt.*
}
peer roaming {
    accept-user: roamer
}
`

// TestTransitThroughSession: a peer's session feeds through the transit
// receiver, which stores the article byte for byte; other sessions may
// not feed; released posts are queued for the peers that want them.
func TestTransitThroughSession(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	st := openStore(t)
	pf, err := peers.Parse(strings.NewReader(peersFile))
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := transit.New(transit.Config{Store: st, PathName: "news.example", Peers: pf})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	accts, _ := ParseAccounts(strings.NewReader("roamer:" + bcryptHashOf(t, "pw") + "\n"))
	b, _ := newBackend(t, st, func(c *Config) {
		c.Peers = pf
		c.Transit = rcv
		c.Accounts = accts
		c.ReleaseInterval = 0
		c.Now = nil
	})
	ctx := context.Background()
	sessionFrom := func(ip string) *Session {
		s, err := b.NewSession(ctx, nntp.ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 4000}})
		if err != nil {
			t.Fatal(err)
		}
		return s.(*Session)
	}
	peer := sessionFrom("127.0.0.1")
	stranger := sessionFrom("192.0.2.9")
	if !peer.Permissions().Feed || stranger.Permissions().Feed {
		t.Fatalf("Feed: peer %v, stranger %v", peer.Permissions().Feed, stranger.Permissions().Feed)
	}
	if err := stranger.Wanted(ctx, "<x@y>"); !errors.Is(err, nntp.ErrRejected) {
		t.Errorf("stranger Wanted: %v", err)
	}
	if err := stranger.Authenticate(ctx, "roamer", "pw"); err != nil || !stranger.Permissions().Feed {
		t.Errorf("roamer after login: %v, feed %v", err, stranger.Permissions().Feed)
	}

	id := "<transit.1@peer.example>"
	raw := []byte(fmt.Sprintf("Path: peer.example!not-for-mail\r\nFrom: Someone <a@peer.example>\r\n"+
		"Newsgroups: alt.crypt.messages\r\nSubject: 0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4\r\n"+
		"Message-ID: %s\r\nDate: %s\r\nX-Kept: yes\r\n\r\n", id, time.Now().UTC().Format(time.RFC1123Z)))
	raw = append(raw, gpgtest.CRLF(gpg.EncryptText(t, "relayed\n"))...)
	if err := peer.Wanted(ctx, id); err != nil {
		t.Fatalf("Wanted: %v", err)
	}
	if err := peer.Receive(ctx, id, raw); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if err := peer.Wanted(ctx, id); !errors.Is(err, nntp.ErrDuplicate) {
		t.Errorf("Wanted again: %v", err)
	}
	a, err := peer.ArticleByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(append(append([]byte{}, a.Header...), "\r\n"...), a.Body...); !bytes.Equal(got, raw) {
		t.Errorf("transit article changed:\n%s\nwant\n%s", got, raw)
	}

	// A post is released and queued for inn1 (which wants alt.crypt.*).
	if err := peer.Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, "outgoing"))); err != nil {
		t.Fatal(err)
	}
	q, err := st.ClaimQueue(ctx, "inn1", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var injected int
	for _, item := range q {
		if strings.HasSuffix(item.MessageID, "@id.news.example>") {
			injected++
		}
	}
	if injected != 1 {
		t.Errorf("queue for inn1: %d items, %d injected; want the post queued", len(q), injected)
	}
}
