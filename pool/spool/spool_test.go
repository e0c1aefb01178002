package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func rec(n int64, size int) *Record {
	return &Record{
		Kind:      KindOpenPGP,
		Number:    n,
		Date:      1700000000 + n,
		MessageID: fmt.Sprintf("<%d@example>", n),
		Subject:   fmt.Sprintf("subject %d", n),
		Body:      bytes.Repeat([]byte{byte(n)}, size),
	}
}

func collect(t *testing.T, dir string, from Position) ([]Record, Position) {
	t.Helper()
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	end := from
	err = r.Scan(from, func(batch []Record, e Position) error {
		for _, x := range batch {
			x.Body = append([]byte(nil), x.Body...)
			out = append(out, x)
		}
		end = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, end
}

func TestAppendCommitScan(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWriter(dir, "h:119", "g")
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= 100; n++ {
		if err := w.Append(rec(n, int(n*37))); err != nil {
			t.Fatal(err)
		}
		if n%30 == 0 {
			if err := w.Commit(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 91..100 appended but not committed: a crash now.
	w.Close()
	got, _ := collect(t, dir, Position{})
	if len(got) != 90 {
		t.Fatalf("%d records visible, want the 90 committed", len(got))
	}
	for i, r := range got {
		want := rec(int64(i+1), (i+1)*37)
		if r.Number != want.Number || r.MessageID != want.MessageID || r.Subject != want.Subject || r.Date != want.Date || !bytes.Equal(r.Body, want.Body) {
			t.Fatalf("record %d differs", i)
		}
	}
	// Reopen: the uncommitted tail is cut off and the high-water mark kept.
	w, err = OpenWriter(dir, "h:119", "g")
	if err != nil {
		t.Fatal(err)
	}
	if w.High() != 90 {
		t.Fatalf("high %d, want 90", w.High())
	}
	if _, err := OpenWriter(dir, "h:119", "g"); err == nil {
		t.Fatal("a second writer got the lock")
	}
	if _, err := OpenWriter(t.TempDir(), "h:119", "g"); err != nil {
		t.Fatal(err)
	}
	for n := int64(91); n <= 100; n++ {
		w.Append(rec(n, 10))
	}
	if err := w.Commit(100); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, end := collect(t, dir, Position{})
	if len(got) != 100 || got[99].Number != 100 || got[90].Number != 91 {
		t.Fatalf("after resume: %d records", len(got))
	}
	// Scanning from the end gives nothing; from the middle gives the rest.
	if more, _ := collect(t, dir, end); len(more) != 0 {
		t.Fatalf("%d records after the end", len(more))
	}
}

func TestBigRecordAndWindows(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, "s", "g")
	sizes := []int{10, WindowSize + 1000, 5, WindowSize / 2, WindowSize / 2, 7}
	for i, s := range sizes {
		w.Append(rec(int64(i+1), s))
	}
	if err := w.Commit(6); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _ := collect(t, dir, Position{})
	if len(got) != len(sizes) {
		t.Fatalf("%d records, want %d", len(got), len(sizes))
	}
	for i, r := range got {
		if len(r.Body) != sizes[i] {
			t.Fatalf("record %d: %d octets, want %d", i, len(r.Body), sizes[i])
		}
	}
}

// oneRecord returns a closed spool holding one committed record of size
// octets, for the tests that read a spool back.
func oneRecord(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	w, err := OpenWriter(dir, "s", "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(rec(1, size)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCorruptionDetected(t *testing.T) {
	dir := oneRecord(t, 100)
	seg := filepath.Join(dir, "00000001.seg")
	data, _ := os.ReadFile(seg)
	data[50] ^= 0xff
	os.WriteFile(seg, data, 0o600)
	r, _ := OpenReader(dir)
	err := r.Scan(Position{}, func([]Record, Position) error { return nil })
	if err == nil {
		t.Fatal("a flipped octet went unnoticed")
	}
}

func TestExamined(t *testing.T) {
	dir := oneRecord(t, 1)
	r, _ := OpenReader(dir)
	p, err := r.Examined()
	if err != nil || p != (Position{}) {
		t.Fatal(p, err)
	}
	unlock, err := r.LockRead()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LockRead(); err == nil {
		t.Fatal("second read lock granted")
	}
	unlock()
	if err := r.SetExamined(r.End()); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Examined(); p != r.End() {
		t.Fatalf("examined %v, want %v", p, r.End())
	}
}

func TestDirName(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:119": "127.0.0.1_119", "news.example.org:563": "news.example.org_563", "..": "_..", "[::1]:119": "___1__119"} {
		if got := DirName(in); got != want {
			t.Errorf("DirName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	b, _ := appendRecord(nil, rec(5, 20))
	f.Add(b)
	f.Add(b[:10])
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		used, _, err := parseRecord(b, &r)
		if err == nil && used > len(b) {
			t.Fatal("used past the end")
		}
	})
}

func TestSegmentRotation(t *testing.T) {
	dir := t.TempDir()
	var want []int64
	n := int64(0)
	// Three writer sessions, small segments, reads in between.
	var examined Position
	total := 0
	for session := 0; session < 3; session++ {
		w, err := OpenWriter(dir, "s", "g")
		if err != nil {
			t.Fatal(err)
		}
		w.segmentLimit = 1000
		for i := 0; i < 40; i++ {
			n++
			w.Append(rec(n, 90))
			want = append(want, n)
			if i%3 == 0 {
				if err := w.Commit(n); err != nil {
					t.Fatal(err)
				}
			}
		}
		w.Commit(n)
		w.Close()
		got, end := collect(t, dir, examined)
		total += len(got)
		if len(got) != 40 || got[0].Number != n-39 || got[39].Number != n {
			t.Fatalf("session %d: %d new records from %v", session, len(got), examined)
		}
		examined = end
	}
	r, _ := OpenReader(dir)
	if len(r.State().Segments) < 10 {
		t.Fatalf("only %d segments", len(r.State().Segments))
	}
	all, _ := collect(t, dir, Position{})
	if len(all) != len(want) || total != len(want) {
		t.Fatalf("%d records in all, want %d", len(all), len(want))
	}
	for i, x := range all {
		if x.Number != want[i] {
			t.Fatalf("record %d is article %d", i, x.Number)
		}
	}
	if p := r.Pending(Position{}); p != int64(len(want)) {
		t.Fatalf("pending %d", p)
	}
}

func TestWriterChecksServerAndGroup(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, "h:119", "g")
	w.Commit(0)
	w.Close()
	if _, err := OpenWriter(dir, "h_119", "g"); err == nil {
		t.Fatal("another server's store opened")
	}
	if _, err := OpenWriter(dir, "h:119", "other.group"); err == nil {
		t.Fatal("another group's store opened")
	}
}
