package nntpmem

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
)

func art(id, groups string) []byte {
	return []byte("From: t@example.invalid\r\nNewsgroups: " + groups + "\r\nSubject: s " + id + "\r\nMessage-ID: " + id + "\r\n\r\nbody\r\nline two")
}

func TestFiling(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := New("a.one", "a.two")
	b.Now = func() time.Time { return clock }
	s, _ := b.NewSession(ctx, nntp.ConnInfo{})
	sess := s.(*Session)

	for i, g := range []string{"a.one", "a.one,a.two", "a.two, a.one", "a.one"} {
		clock = clock.Add(time.Hour)
		if err := sess.Post(ctx, art(fmt.Sprintf("<%d@x>", i), g)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Post(ctx, art("<0@x>", "a.one")); !errors.Is(err, nntp.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := sess.Post(ctx, art("<n@x>", "b.none")); !errors.Is(err, nntp.ErrRejected) {
		t.Fatalf("no group: %v", err)
	}
	if err := sess.Receive(ctx, "<other@x>", art("<r@x>", "a.one")); !errors.Is(err, nntp.ErrRejected) {
		t.Fatalf("mismatched id: %v", err)
	}
	if err := sess.Receive(ctx, "<r@x>", []byte("Newsgroups: a.one\r\n\r\nno id")); !errors.Is(err, nntp.ErrRejected) {
		t.Fatalf("missing id: %v", err)
	}
	g, _ := sess.Group(ctx, "a.one")
	if g.Count != 4 || g.Low != 1 || g.High != 4 {
		t.Fatalf("a.one %+v", g)
	}
	ov, err := sess.OverviewByID(ctx, "<2@x>")
	if err != nil || ov.Xref != "nntpmem a.two:2 a.one:3" || ov.Lines != 2 || ov.Number != 0 {
		t.Fatalf("overview %+v %v", ov, err)
	}

	b.Expire("<0@x>")
	b.Expire("<2@x>")
	g, _ = sess.Group(ctx, "a.one")
	if g.Count != 2 || g.Low != 2 || g.High != 4 {
		t.Fatalf("after expiry %+v", g)
	}
	if err := sess.Wanted(ctx, "<0@x>"); !errors.Is(err, nntp.ErrDuplicate) {
		t.Fatal("expired id forgotten by the history")
	}
	nums, _ := sess.Numbers(ctx, "a.one", nntp.Range{Low: 1, High: -1})
	if fmt.Sprint(nums) != "[2 4]" {
		t.Fatalf("numbers %v", nums)
	}
	if n, err := sess.Next(ctx, "a.one", 2); n != 4 || err != nil {
		t.Fatalf("next %d %v", n, err)
	}
	if _, err := sess.Next(ctx, "a.one", 4); !errors.Is(err, nntp.ErrNoNextArticle) {
		t.Fatalf("next at end %v", err)
	}
	if n, err := sess.Prev(ctx, "a.one", 4); n != 2 || err != nil {
		t.Fatalf("prev %d %v", n, err)
	}
	if _, err := sess.Prev(ctx, "a.one", 2); !errors.Is(err, nntp.ErrNoPrevArticle) {
		t.Fatalf("prev at start %v", err)
	}
	if _, err := sess.Article(ctx, "a.one", 1); !errors.Is(err, nntp.ErrNoSuchArticle) {
		t.Fatalf("expired article %v", err)
	}
	news, _ := sess.NewNews(ctx, time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC))
	if fmt.Sprint(news) != "[{<1@x> a.one} {<1@x> a.two} {<3@x> a.one}]" {
		t.Fatalf("newnews %v", news)
	}
	if _, err := sess.Group(ctx, "nope"); !errors.Is(err, nntp.ErrNoSuchGroup) {
		t.Fatal(err)
	}
}

func TestAuthAndPermissions(t *testing.T) {
	ctx := context.Background()
	b := New("a.one")
	b.Anonymous = nntp.Permissions{}
	b.AddUser("u", "p")
	s, _ := b.NewSession(ctx, nntp.ConnInfo{})
	sess := s.(*Session)
	if err := sess.Post(ctx, art("<a@x>", "a.one")); !errors.Is(err, nntp.ErrPostingNotPermitted) {
		t.Fatalf("anonymous post: %v", err)
	}
	if err := sess.Authenticate(ctx, "u", "bad"); !errors.Is(err, nntp.ErrAuthRejected) {
		t.Fatal(err)
	}
	if err := sess.Authenticate(ctx, "x", "p"); !errors.Is(err, nntp.ErrAuthRejected) {
		t.Fatal(err)
	}
	if err := sess.Authenticate(ctx, "u", "p"); err != nil || !sess.Permissions().Post {
		t.Fatal(err)
	}
}

func TestCheckHookAndConcurrency(t *testing.T) {
	ctx := context.Background()
	b := New("a.one")
	b.Check = func(a []byte) error {
		if len(a) > 1000 {
			return fmt.Errorf("%w: too big", nntp.ErrRejected)
		}
		return nil
	}
	s, _ := b.NewSession(ctx, nntp.ConnInfo{})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("<c%d@x>", i)
			if err := s.(nntp.Transit).Receive(ctx, id, art(id, "a.one")); err != nil {
				t.Error(err)
			}
			s.Overview(ctx, "a.one", nntp.Range{Low: 1, High: -1}, func(*nntp.Overview) error { return nil })
		}()
	}
	wg.Wait()
	g, _ := s.Group(ctx, "a.one")
	if g.Count != 50 || g.High != 50 {
		t.Fatalf("%+v", g)
	}
	big := append(art("<big@x>", "a.one"), make([]byte, 2000)...)
	if err := s.(nntp.Poster).Post(ctx, big); !errors.Is(err, nntp.ErrRejected) {
		t.Fatalf("check hook: %v", err)
	}
}
