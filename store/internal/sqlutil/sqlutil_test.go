package sqlutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/altcrypt/altcrypt/store"
)

func TestMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql":  {Data: []byte("two")},
		"m/0001_init.sql":  {Data: []byte("one")},
		"m/0010_later.sql": {Data: []byte("ten")},
		"m/README":         {Data: []byte("not a migration")},
	}
	got, err := Migrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got {
		order = append(order, fmt.Sprintf("%d:%s:%s", m.Version, m.Name, m.SQL))
	}
	if want := "1:0001_init.sql:one 2:0002_more.sql:two 10:0010_later.sql:ten"; strings.Join(order, " ") != want {
		t.Fatalf("got %v, want %s", order, want)
	}
	for name, bad := range map[string]fstest.MapFS{
		"duplicate": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"no number": {"m/init.sql": {}},
		"zero":      {"m/0_init.sql": {}},
	} {
		if _, err := Migrations(bad, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPlanAndNumbering(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	arts := []*store.NewArticle{
		{MessageID: "<1@x>", Groups: []string{"b", "a", "b", "x"}, Header: []byte("H: v\r\n"), Body: []byte("l1\r\nl2\r\n")},
		{MessageID: "<2@x>", Groups: []string{"a"}, Bytes: 7, Lines: 3, Arrived: now.Add(-time.Hour)},
		{MessageID: "<3@x>", Groups: []string{"c"}},
	}
	p, err := PlanInsert(arts, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Arrived[0].Equal(now) || !p.Arrived[1].Equal(now.Add(-time.Hour)) {
		t.Errorf("arrived %v", p.Arrived)
	}
	if strings.Join(p.Groups[0], ",") != "b,a,x" {
		t.Errorf("groups without repeats: %v", p.Groups[0])
	}
	if p.Bytes[0] != 6+2+8 || p.Lines[0] != 2 || p.Bytes[1] != 7 || p.Lines[1] != 3 {
		t.Errorf("bytes %v lines %v", p.Bytes, p.Lines)
	}
	keep := []int{0, 1}
	if got := strings.Join(p.GroupNames(keep), ","); got != "b,a,x" {
		t.Errorf("GroupNames = %s", got)
	}
	ids := map[string]int64{"a": 1, "b": 2, "c": 3} // x is not carried
	need := p.Counts(keep, ids)
	if !maps.Equal(need, map[int64]int64{1: 2, 2: 1}) {
		t.Errorf("Counts = %v", need)
	}
	n := NewNumbering(map[int64]int64{1: 10, 2: 5})
	byName, byID, xref := n.Take(p.Groups[0], ids)
	if xref != "b:5 a:10" || !maps.Equal(byName, map[string]int64{"a": 10, "b": 5}) || len(byID) != 2 || byID[0] != (GroupNumber{2, 5}) {
		t.Errorf("first: %v %v %q", byName, byID, xref)
	}
	_, _, xref = n.Take(p.Groups[1], ids)
	if xref != "a:11" {
		t.Errorf("second: %q", xref)
	}
}

func TestUnavailable(t *testing.T) {
	plain := errors.New("syntax error")
	driverSays := func(err error) bool { return strings.Contains(err.Error(), "driver-down") }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{io.ErrUnexpectedEOF, true},
		{errors.New("driver-down"), true},
		{plain, false},
		{context.Canceled, false},
	} {
		got := Unavailable(c.err, driverSays)
		if errors.Is(got, store.ErrUnavailable) != c.want || !errors.Is(got, c.err) {
			t.Errorf("Unavailable(%v) = %v, want unavailable=%v and the cause kept", c.err, got, c.want)
		}
	}
	if Unavailable(nil, nil) != nil {
		t.Error("nil became an error")
	}
	once := Unavailable(io.EOF, nil)
	if Unavailable(once, nil) != once {
		t.Error("wrapped twice")
	}
}
