package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

// TestKillLoop: nntpd on PostgreSQL is killed with SIGKILL again and again
// while 8 connections feed it (6 streaming TAKETHIS, 2 posting) and a
// reader follows the group with OVER from the last number it saw. After
// the last restart every article answered 239 or 240 is stored, none is
// stored twice,
// and the reader saw every number the group holds (none appeared below a
// number it had already passed). The suite runs 2 kills;
// ALTCRYPT_KILL_LOOP=N runs N (scripts/kill-loop runs 50 on a durable
// PostgreSQL).
func TestKillLoop(t *testing.T) {
	kills := 2
	if s := os.Getenv("ALTCRYPT_KILL_LOOP"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ALTCRYPT_KILL_LOOP=%q: want a positive number", s)
		}
		kills = n
	}
	bin := nntpdBinary(t)
	db := postgresKind().dsn(t)
	peersFile := filepath.Join(t.TempDir(), "peers")
	write(t, peersFile, "peer feeder {\n    accept-from: 127.0.0.1\n    path: feeder.example\n}\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := func() *process {
		return startNntpd(t, bin, "--db", db, "--peers", peersFile, "--listen", addr, "--release-interval", "0")
	}
	bodies := tt.Bodies(t)

	var (
		mu     sync.Mutex
		acked  = map[string]bool{} // answered 239
		nextID int
	)
	newIDs := func(n int) []string {
		mu.Lock()
		defer mu.Unlock()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("<kill.%d@feeder.example>", nextID)
			nextID++
		}
		return ids
	}
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// Feeders: a batch that was not answered (the server died) is sent
	// again on the next connection, where what was stored is a 439.
	const feeders, posters, batch = 6, 2, 8
	var wg sync.WaitGroup
	for f := range feeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pending []string
			for ctx.Err() == nil {
				c, err := nntp.Dial(ctx, addr, nil)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if c.ModeStream(ctx) != nil {
					c.Close()
					continue
				}
				for ctx.Err() == nil {
					if len(pending) == 0 {
						pending = newIDs(batch)
					}
					cmds := make([]nntp.StreamCommand, len(pending))
					for i, id := range pending {
						n, _ := strconv.Atoi(id[len("<kill.") : len(id)-len("@feeder.example>")])
						cmds[i] = nntp.StreamCommand{MessageID: id, TakeThis: true,
							Article: tt.Article(id, "feeder.example", time.Now(), bodies[(n+f)%len(bodies)])}
					}
					res, err := c.Stream(ctx, cmds)
					if err != nil || len(res) != len(cmds) {
						break // the server is gone: send the batch again
					}
					mu.Lock()
					for i, r := range res {
						if r.Code == 239 {
							acked[pending[i]] = true
						}
					}
					mu.Unlock()
					pending = nil
				}
				c.Close()
			}
		}()
	}

	// Posters: a post is told apart by its canonical body (what injection
	// stores). A post whose answer was lost is sent again: the replay
	// check must refuse the second copy if the first was stored. Each
	// has its own hsub-shaped Subject, kept unless a crash spent it.
	cm := newCipherMaker(t)
	var (
		postedMu sync.Mutex
		posted   = map[string]string{} // canonical body answered 240 -> subject
		nextPost int
	)
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var subject string
			var body []byte
			for ctx.Err() == nil {
				c, err := nntp.Dial(ctx, addr, nil)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				for ctx.Err() == nil {
					if body == nil {
						postedMu.Lock()
						subject = fmt.Sprintf("%048x", nextPost) // injection keeps 48 digits
						nextPost++
						postedMu.Unlock()
						body = cm.make(t, 1, 256)[0]
					}
					err := c.Post(ctx, postArticle(subject, body))
					if err != nil && nntpCode(err) != 441 {
						break // the server is gone: post it again
					}
					if err == nil {
						postedMu.Lock()
						canon, cerr := armor.Canonicalize(gpgtest.CRLF(body), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
						if cerr != nil {
							t.Error(cerr)
						} else {
							posted[string(canon.Body)] = subject
						}
						postedMu.Unlock()
					}
					body = nil
				}
				c.Close()
			}
		}()
	}

	// The reader follows the group across restarts.
	var (
		rmu  sync.Mutex
		seen = map[int64]bool{}
		last int64
	)
	readerDone := make(chan struct{})
	readerStop := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-readerStop:
				return
			default:
			}
			c, err := nntp.Dial(context.Background(), addr, nil)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			for {
				rctx := context.Background()
				if _, err := c.Group(rctx, group); err != nil {
					break
				}
				rmu.Lock()
				from := last + 1
				rmu.Unlock()
				err := c.Over(rctx, fmt.Sprintf("%d-", from), func(o *nntp.Overview) error {
					rmu.Lock()
					seen[o.Number] = true
					last = max(last, o.Number)
					rmu.Unlock()
					return nil
				})
				var ne *nntp.Error
				if err != nil && !(errors.As(err, &ne) && ne.Code == 423) {
					break
				}
				select {
				case <-readerStop:
					c.Close()
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
			c.Close()
		}
	}()

	for k := 0; k < kills; k++ {
		p := start()
		// Kill at a random moment once some articles went in.
		before := ackedCount()
		deadline := time.Now().Add(20 * time.Second)
		for ackedCount() < before+batch && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	p := start()
	before := ackedCount()
	for ackedCount() < before+batch {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()

	// A batch cut short by stop may still be stored: wait until the group
	// stops growing, then list it and let the reader reach its end.
	c := dial(t, p.Addr)
	var high int64 = -1
	for stable := 0; stable < 5; time.Sleep(200 * time.Millisecond) {
		g, err := c.Group(context.Background(), group)
		if err != nil {
			t.Fatal(err)
		}
		if g.High == high {
			stable++
		} else {
			high, stable = g.High, 0
		}
	}
	stored := map[string]int{}
	var numbers, postNumbers []int64
	subjectOf := map[int64]string{}
	if err := c.Over(context.Background(), "1-", func(o *nntp.Overview) error {
		stored[o.MessageID]++
		if !strings.HasSuffix(o.Subject, "@feeder.example") {
			postNumbers = append(postNumbers, o.Number)
			subjectOf[o.Number] = o.Subject
		}
		numbers = append(numbers, o.Number)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitUntil := time.Now().Add(30 * time.Second)
	for {
		rmu.Lock()
		reached := last
		rmu.Unlock()
		if len(numbers) == 0 || reached >= numbers[len(numbers)-1] {
			break
		}
		if time.Now().After(waitUntil) {
			t.Fatalf("the reader stopped at %d of %d", reached, numbers[len(numbers)-1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(readerStop)
	<-readerDone

	lost, dup, missed := 0, 0, 0
	for id := range acked {
		if stored[id] == 0 {
			lost++
			t.Errorf("acknowledged %s is not stored", id)
		}
	}
	for id, n := range stored {
		if n > 1 {
			dup++
			t.Errorf("%s stored %d times", id, n)
		}
	}
	postBodies := map[string]int{}
	retagged := 0
	for _, n := range postNumbers {
		_, _, body, err := c.Body(context.Background(), strconv.FormatInt(n, 10))
		if err != nil {
			t.Fatal(err)
		}
		postBodies[string(body)]++
		if sent, ok := posted[string(body)]; ok && sent != subjectOf[n] {
			retagged++
		}
	}
	postLost := 0
	for body, subject := range posted {
		if postBodies[body] == 0 {
			postLost++
			t.Errorf("post %s answered 240 is not in the group", subject)
		}
	}
	for _, n := range postBodies {
		if n > 1 {
			dup++
			t.Errorf("a post is stored %d times", n)
		}
	}
	for _, n := range numbers {
		if !seen[n] {
			missed++
			t.Errorf("the reader never saw article %d", n)
		}
	}
	t.Logf("%d kills: %d TAKETHIS acknowledged (239) of %d offered, %d POST acknowledged (240) of %d sent, %d articles stored (%d posts); lost %d TAKETHIS and %d POST, duplicated %d, numbers the reader missed %d; %d acknowledged posts got a new tag (their own was spent by an attempt cut short)",
		kills, len(acked), nextID, len(posted), nextPost, len(numbers), len(postNumbers), lost, postLost, dup, missed, retagged)
}
