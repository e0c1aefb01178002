package mail2news

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
	"github.com/altcrypt/altcrypt/node"
)

func mintStamp(t *testing.T, resource string, bits int) string {
	t.Helper()
	s, err := hashcash.Mint(resource, bits, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withFields puts header fields at the top of a mail (makemail.py keeps
// one field of a name), in the mail's line ending.
func withFields(mail []byte, fields ...string) []byte {
	eol := "\n"
	if i := strings.IndexByte(string(mail), '\n'); i > 0 && mail[i-1] == '\r' {
		eol = "\r\n"
	}
	return []byte(strings.Join(fields, eol) + eol + string(mail))
}

// TestPrepareHashcash: well-formed X-Hashcash stamps are passed on, and
// nothing else of the mail's header is.
func TestPrepareHashcash(t *testing.T) {
	ours, theirs := mintStamp(t, "news.test", 8), mintStamp(t, "other.test", 8)
	mails := makeMails(t, []mailSpec{
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}},
		{Kind: "pgpmime", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "X-Hashcash: 1:20:261125:news.test::abc"}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}},
	})
	mails[0] = withFields(mails[0], "X-Hashcash: "+ours, "X-Hashcash: not a stamp", "X-HashCash:  "+theirs, "X-Hashcash: "+ours)
	want := [][]string{{ours, theirs}, nil, nil}
	for i, m := range mails {
		p, err := Prepare(Config{}, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Hashcash, want[i]) {
			t.Errorf("mail %d: stamps %q, want %q", i, p.Hashcash, want[i])
		}
		head, _ := m2ntest.SplitArticle(p.Article())
		var names []string
		for _, line := range strings.Split(strings.TrimSuffix(string(head), "\r\n"), "\r\n") {
			name, _, _ := strings.Cut(line, ":")
			names = append(names, name)
		}
		wantNames := []string{"Newsgroups"}
		for range want[i] {
			wantNames = append(wantNames, "X-Hashcash")
		}
		wantNames = append(wantNames, "Subject", "From")
		if !slices.Equal(names, wantNames) {
			t.Errorf("mail %d: article header fields %q, want %q", i, names, wantNames)
		}
	}
}

// TestDeliverHashcash posts mails through the injection backend with
// hashcash on: the gateway carries the mail's stamp, the server spends it
// and the stamp does not reach the group.
func TestDeliverHashcash(t *testing.T) {
	srv := m2ntest.StartNode(t, node.Config{Name: "news.test", Hashcash: &inject.Hashcash{Bits: 10}})
	gw := &Gateway{Poster: &NNTPPoster{Addr: srv.Addr, Timeout: 10 * time.Second}}

	good := mintStamp(t, "news.test", 10)
	mails := makeMails(t, []mailSpec{
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "X-Hashcash: not a stamp"}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "X-Hashcash: " + mintStamp(t, "news.test", 3)}},
		{Kind: "qp", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "X-Hashcash: " + good}},
	})
	// A mail to two recipients carries a stamp for each.
	mails[3] = withFields(mails[3], "X-Hashcash: "+mintStamp(t, "other.test", 10), "X-Hashcash: "+good)
	for i, reason := range []string{hashcash.ReasonMissing, hashcash.ReasonMissing, hashcash.ReasonTooWeak} {
		err := deliver(t, gw, mails[i])
		var r *Refusal
		if !errors.As(err, &r) || r.Code != reason || ExitCode(err) != ExitDataErr {
			t.Errorf("mail %d: %v; want a refusal %s (exit 65)", i, err, reason)
		}
	}
	if err := deliver(t, gw, mails[3]); err != nil {
		t.Fatalf("mail with a valid stamp: %v", err)
	}
	// The MTA delivers the same mail again (our exit code got lost): the
	// post is in, so it counts as delivered, not as a spent stamp.
	if err := deliver(t, gw, mails[3]); !errors.Is(err, ErrAlreadyPosted) || ExitCode(err) != ExitOK {
		t.Errorf("same mail again: %v (exit %d)", err, ExitCode(err))
	}
	err := deliver(t, gw, mails[4])
	var r *Refusal
	if !errors.As(err, &r) || r.Code != hashcash.ReasonSpent || ExitCode(err) != ExitDataErr {
		t.Errorf("another mail with the same stamp: %v; want a refusal %s", err, hashcash.ReasonSpent)
	}
	arts := readGroup(t, srv.Addr, DefaultGroup)
	if len(arts) != 1 {
		t.Fatalf("%d articles, want 1", len(arts))
	}
	mailHeadersGone(t, arts[0]) // X-Hashcash included
	if strings.Contains(string(arts[0].Header), good) {
		t.Errorf("the stamp reached the group:\n%s", arts[0].Header)
	}
}
