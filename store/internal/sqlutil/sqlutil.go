// Package sqlutil holds what the SQL stores (sqlite, postgres) share: DB,
// the SQL both run alike (written once, a Dialect saying how they
// differ), and what is not SQL: migration loading, input checks, the plan
// of an Insert, and the classification of connection failures as
// store.ErrUnavailable.
package sqlutil

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// Migration is one numbered schema change, NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads dir of fsys and returns its NNNN_name.sql files in
// version order. Two files with one version are an error.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := make(map[int]string)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// validMessageID applies news.CheckMessageID, naming the id.
func validMessageID(id string) error {
	if err := news.CheckMessageID(id); err != nil {
		return fmt.Errorf("bad message-id %q: %w", truncate(id), err)
	}
	return nil
}

// ValidGroupName applies news.CheckGroupName, naming the group.
func ValidGroupName(name string) error {
	if err := news.CheckGroupName(name); err != nil {
		return fmt.Errorf("bad group name %q: %w", truncate(name), err)
	}
	return nil
}

// ValidPending checks a post before AddPending keeps it.
func ValidPending(p *store.Pending) error {
	switch {
	case p == nil:
		return errors.New("nil pending post")
	case len(p.BodyHash) == 0:
		return errors.New("pending post without a body hash")
	case len(p.Groups) == 0:
		return errors.New("pending post without groups")
	}
	return validIDAndGroups(p.MessageID, p.Groups)
}

// validIDAndGroups checks a message-id and group names.
func validIDAndGroups(id string, groups []string) error {
	if err := validMessageID(id); err != nil {
		return err
	}
	for _, g := range groups {
		if err := ValidGroupName(g); err != nil {
			return err
		}
	}
	return nil
}

// ValidPendingBatch checks every post of a batch; the error names the
// first bad one.
func ValidPendingBatch(ps []*store.Pending) error {
	for i, p := range ps {
		if err := ValidPending(p); err != nil {
			if len(ps) == 1 {
				return err
			}
			return fmt.Errorf("post %d of the batch: %w", i, err)
		}
	}
	return nil
}

// ValidNewArticle checks an article before Insert stores it.
func ValidNewArticle(a *store.NewArticle) error {
	if a == nil {
		return errors.New("nil article")
	}
	if err := validIDAndGroups(a.MessageID, a.Groups); err != nil {
		return err
	}
	for _, p := range a.Peers {
		if p == "" {
			return errors.New("empty peer name")
		}
	}
	return nil
}

// SplitGroups splits the comma-joined group list a pending row keeps.
func SplitGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Plan is what Insert derives from its articles before touching the
// database: arrival times (now when zero), each article's groups without
// repeats, and its size and line count (computed when the caller left
// Bytes at 0).
type Plan struct {
	Arrived []time.Time
	Groups  [][]string
	Bytes   []int64
	Lines   []int64
}

// PlanInsert prepares the plan of arts.
func PlanInsert(arts []*store.NewArticle, now time.Time) (*Plan, error) {
	p := &Plan{
		Arrived: make([]time.Time, len(arts)),
		Groups:  make([][]string, len(arts)),
		Bytes:   make([]int64, len(arts)),
		Lines:   make([]int64, len(arts)),
	}
	for i, a := range arts {
		p.Arrived[i] = a.Arrived
		if a.Arrived.IsZero() {
			p.Arrived[i] = now
		}
		seen := make(map[string]bool, len(a.Groups))
		for _, g := range a.Groups {
			if !seen[g] {
				seen[g] = true
				p.Groups[i] = append(p.Groups[i], g)
			}
		}
		p.Bytes[i], p.Lines[i] = a.Bytes, a.Lines
		if a.Bytes == 0 {
			p.Bytes[i] = int64(len(a.Header) + 2 + len(a.Body))
			p.Lines[i] = int64(strings.Count(string(a.Body), "\n"))
		}
	}
	return p, nil
}

// GroupNames lists, without repeats, the groups of the articles at the
// indexes keep.
func (p *Plan) GroupNames(keep []int) []string {
	seen := make(map[string]bool)
	var out []string
	for _, i := range keep {
		for _, g := range p.Groups[i] {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

// Counts tells how many numbers each carried group (by id) needs for the
// articles at the indexes keep.
func (p *Plan) Counts(keep []int, ids map[string]int64) map[int64]int64 {
	need := make(map[int64]int64)
	for _, i := range keep {
		for _, g := range p.Groups[i] {
			if gid, ok := ids[g]; ok {
				need[gid]++
			}
		}
	}
	return need
}

// Numbering hands out numbers group by group, starting at the first free
// number of each, and builds the Xref of each article.
type Numbering struct {
	next map[int64]int64
}

// NewNumbering starts numbering at first[gid] in each group.
func NewNumbering(first map[int64]int64) *Numbering {
	return &Numbering{next: first}
}

// Take numbers one article in its groups (those found in ids), in
// Newsgroups order, and returns the numbers by group name and by group id,
// and the Xref value "group:number group:number".
func (n *Numbering) Take(groups []string, ids map[string]int64) (byName map[string]int64, byID []GroupNumber, xref string) {
	byName = make(map[string]int64, len(groups))
	var b strings.Builder
	for _, g := range groups {
		gid, ok := ids[g]
		if !ok {
			continue
		}
		num := n.next[gid]
		n.next[gid]++
		byName[g] = num
		byID = append(byID, GroupNumber{GroupID: gid, Number: num})
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(num, 10))
	}
	return byName, byID, b.String()
}

// GroupNumber is an article's number in one group.
type GroupNumber struct {
	GroupID int64
	Number  int64
}

// Unavailable wraps err in store.ErrUnavailable when it says the database
// could not be reached or did not answer in time (the generic cases, or
// when driverSays reports a driver-specific one); other errors are returned
// unchanged. nil stays nil.
func Unavailable(err error, driverSays func(error) bool) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if isUnavailable(err) || (driverSays != nil && driverSays(err)) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed),
		errors.As(err, &oe),
		errors.As(err, &ne):
		return true
	}
	return false
}
