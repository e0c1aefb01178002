package outbox

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seeded is a deterministic randomness source for statistical tests.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSeeded() seeded {
	var seed [32]byte
	return seeded{rand.NewChaCha8(seed)}
}

func TestLifecycle(t *testing.T) {
	o, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := o.Add([]byte("article A\r\n\r\nbody\r\n"), "news.example:119", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := o.Add([]byte("article B"), "nntps://other.example", now.Add(-time.Minute))
	c, _ := o.Add([]byte("article C"), "news.example:119", now)
	// A crash's leftovers are ignored.
	os.WriteFile(filepath.Join(o.Dir(), "q", ".x.tmp123"), []byte("half"), 0o600)

	ms, err := o.List()
	if err != nil || len(ms) != 3 || ms[0].ID != b.ID || ms[1].ID != c.ID || ms[2].ID != a.ID {
		t.Fatalf("List: %v %v", ms, err)
	}
	if !bytes.Equal(ms[2].Article, a.Article) || ms[2].Server != "news.example:119" || !ms[2].Due.Equal(a.Due) || ms[2].Attempts != 0 {
		t.Fatalf("read back %+v", ms[2])
	}
	if err := o.Attempting(ms[0]); err != nil {
		t.Fatal(err)
	}
	if err := o.Retry(ms[0], now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := o.Posted(ms[1]); err != nil {
		t.Fatal(err)
	}
	if err := o.Posted(ms[1]); err != nil {
		t.Fatalf("posting twice must be harmless: %v", err)
	}
	if err := o.Failed(ms[2], "441 no-armor: nope"); err != nil {
		t.Fatal(err)
	}
	ms, _ = o.List()
	if len(ms) != 1 || ms[0].ID != b.ID || ms[0].Attempts != 1 || !ms[0].Due.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("after the transitions: %+v", ms)
	}
	reason, err := os.ReadFile(filepath.Join(o.Dir(), "failed", a.ID+".reason"))
	if err != nil || !strings.Contains(string(reason), "no-armor") {
		t.Fatalf("failed reason: %q %v", reason, err)
	}
	if _, err := o.Add([]byte("x"), "a\nb", now); err == nil {
		t.Fatal("a server with a newline was accepted")
	}
}

func TestLock(t *testing.T) {
	o, _ := Open(t.TempDir())
	unlock, err := o.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Lock(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := o.Lock()
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}

func TestCorruptFileIsAnError(t *testing.T) {
	o, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(o.Dir(), "q", "bad"), []byte("not an outbox file\n\nx"), 0o600)
	if _, err := o.List(); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("List: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(magic + "\nserver s:1\ndue 5\nattempts 0\n\nart"))
	f.Add([]byte(magic + "\nserver s\ndue x\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parse("id", data)
		if err != nil {
			return
		}
		if m.Server == "" || m.Attempts < 0 {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// TestExp: the delays have the asked mean and the exponential's spread
// (standard deviation equal to the mean).
func TestExp(t *testing.T) {
	rnd := newSeeded()
	const n = 20000
	mean := 30 * time.Minute
	var sum, sq float64
	for i := 0; i < n; i++ {
		d := Exp(mean, rnd)
		if d < 0 {
			t.Fatal("negative delay")
		}
		x := d.Seconds()
		sum += x
		sq += x * x
	}
	m := sum / n
	sd := math.Sqrt(sq/n - m*m)
	if math.Abs(m-mean.Seconds()) > 0.05*mean.Seconds() || math.Abs(sd-mean.Seconds()) > 0.05*mean.Seconds() {
		t.Fatalf("mean %.0fs, sd %.0fs; want both near %.0fs", m, sd, mean.Seconds())
	}
	if Exp(0, nil) != 0 {
		t.Fatal("mean 0 must mean no delay")
	}
}

func TestShapes(t *testing.T) {
	o, _ := Open(t.TempDir())
	if s, err := o.Shapes(); err != nil || len(s) != 0 {
		t.Fatalf("%v %v", s, err)
	}
	if _, ok := SampleShape(nil, nil); ok {
		t.Fatal("sampled from nothing")
	}
	small := Shape{Key: "v4/18/Curve25519", Cipher: 7, Bucket: 1024}
	big := Shape{Key: "v6/25/Curve25519", Cipher: 9, Bucket: 16384}
	for i := 0; i < 3; i++ {
		o.NoteShape(small)
	}
	o.NoteShape(big)
	counts, err := o.Shapes()
	if err != nil || counts[small] != 3 || counts[big] != 1 {
		t.Fatalf("%v %v", counts, err)
	}
	if err := o.NoteShape(Shape{Key: "a b", Cipher: 7, Bucket: 1}); err == nil {
		t.Fatal("bad shape accepted")
	}
	rnd := newSeeded()
	got := map[Shape]int{}
	for i := 0; i < 4000; i++ {
		s, _ := SampleShape(counts, rnd)
		got[s]++
	}
	if f := float64(got[small]) / 4000; math.Abs(f-0.75) > 0.03 {
		t.Fatalf("small drawn %.3f of the time, want 0.75", f)
	}
	os.WriteFile(filepath.Join(o.Dir(), shapesFile), []byte("x 1\n"), 0o600)
	if _, err := o.Shapes(); err == nil {
		t.Fatal("corrupt shapes file accepted")
	}
}
