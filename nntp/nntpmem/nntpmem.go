// Package nntpmem is an in-memory nntp.Backend: the reference backend the
// protocol layer is tested against, in the manner of go-imap's
// imapmemserver. It keeps groups, numbered articles and a message-id
// history behind one mutex, stores posted and received articles as they
// came, and understands just enough of an article (Message-ID, Newsgroups
// and the overview fields) to file it.
package nntpmem

import (
	"bytes"
	"context"

	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
)

// Backend is an in-memory news store. Set its exported fields before
// serving.
type Backend struct {
	// Name is the server name written in Xref.
	Name string
	// Anonymous and Authenticated are the permissions of a session before
	// and after AUTHINFO.
	Anonymous, Authenticated nntp.Permissions
	// Check, if set, vets every posted or received article; its error is
	// returned to the client (wrap nntp.ErrRejected to refuse).
	Check func(article []byte) error
	// Now is the clock (time.Now if nil).
	Now func() time.Time

	mu      sync.RWMutex
	groups  map[string]*group
	byID    map[string]*article
	history map[string]bool
	arrival []*article // in arrival order, for NEWNEWS
	users   map[string]string
	serial  atomic.Int64
}

type group struct {
	info nntp.Group
	nums []int64 // ascending
	arts map[int64]*article
	next int64
}

type article struct {
	id      string
	header  []byte
	body    []byte
	arrived time.Time
	places  []place
	ov      nntp.Overview
}

type place struct {
	group string
	n     int64
}

// New returns a backend carrying the named groups, where anyone may read,
// post and feed.
func New(groups ...string) *Backend {
	b := &Backend{
		Name:          "nntpmem",
		Anonymous:     nntp.Permissions{Post: true, Feed: true},
		Authenticated: nntp.Permissions{Post: true, Feed: true},
		groups:        map[string]*group{},
		byID:          map[string]*article{},
		history:       map[string]bool{},
		users:         map[string]string{},
	}
	for _, g := range groups {
		b.AddGroup(g, "")
	}
	return b
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// AddGroup creates a group (or updates its description).
func (b *Backend) AddGroup(name, description string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if g, ok := b.groups[name]; ok {
		g.info.Description = description
		return
	}
	b.groups[name] = &group{
		info: nntp.Group{Name: name, Low: 1, High: 0, Status: "y", Created: b.now(), Creator: "nntpmem", Description: description},
		arts: map[int64]*article{},
		next: 1,
	}
}

// AddUser lets user log in with pass.
func (b *Backend) AddUser(user, pass string) {
	b.mu.Lock()
	b.users[user] = pass
	b.mu.Unlock()
}

// Errors of article filing; they wrap nntp.ErrRejected so a client sees
// 441/437/439 with the reason.
var (
	errNoGroups    = fmt.Errorf("%w: no carried newsgroup in Newsgroups", nntp.ErrRejected)
	errNoMessageID = fmt.Errorf("%w: missing or invalid Message-ID", nntp.ErrRejected)
	errIDMismatch  = fmt.Errorf("%w: Message-ID does not match the command", nntp.ErrRejected)
	errNoHeader    = fmt.Errorf("%w: no header", nntp.ErrRejected)
)

// Add stores an article as if posted, without permission checks, and
// returns its message-id. Tests use it to fill the store.
func (b *Backend) Add(raw []byte) (string, error) {
	return b.store(raw, "", true)
}

// Expire removes an article from its groups; its message-id stays in the
// history.
func (b *Backend) Expire(messageID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.byID[messageID]
	if !ok {
		return
	}
	delete(b.byID, messageID)
	for _, p := range a.places {
		g := b.groups[p.group]
		delete(g.arts, p.n)
		i := sort.Search(len(g.nums), func(i int) bool { return g.nums[i] >= p.n })
		if i < len(g.nums) && g.nums[i] == p.n {
			g.nums = append(g.nums[:i], g.nums[i+1:]...)
		}
		g.refresh()
	}
}

func (g *group) refresh() {
	g.info.High = g.next - 1
	g.info.Count = int64(len(g.nums))
	if len(g.nums) > 0 {
		g.info.Low = g.nums[0]
	} else {
		g.info.Low = g.next
	}
}

// splitArticle splits raw at the blank line into header (each line ending
// in CRLF, without the blank line) and body.
func splitArticle(raw []byte) (header, body []byte) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, raw[2:]
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+2], raw[i+4:]
	}
	return raw, nil
}

func field(header []byte, name string) string {
	for _, line := range strings.SplitAfter(string(header), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) && !strings.ContainsAny(k, " \t") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// store files an article. wantID, if set, must equal its Message-ID
// (transit). generateID allows adding a Message-ID to an injected article
// that has none.
func (b *Backend) store(raw []byte, wantID string, generateID bool) (string, error) {
	header, body := splitArticle(raw)
	if len(header) == 0 {
		return "", errNoHeader
	}
	id := field(header, "Message-ID")
	if id == "" && generateID {
		id = fmt.Sprintf("<%d.%d@%s>", b.now().UnixNano(), b.serial.Add(1), b.Name)
		header = append([]byte("Message-ID: "+id+"\r\n"), header...)
	}
	if !news.ValidMessageID(id) {
		return "", errNoMessageID
	}
	if wantID != "" && id != wantID {
		return "", errIDMismatch
	}
	if b.Check != nil {
		if err := b.Check(raw); err != nil {
			return "", err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.history[id] {
		return "", nntp.ErrDuplicate
	}
	var targets []*group
	seen := map[string]bool{}
	for _, name := range strings.Split(field(header, "Newsgroups"), ",") {
		name = strings.TrimSpace(name)
		if g, ok := b.groups[name]; ok && !seen[name] {
			seen[name] = true
			targets = append(targets, g)
		}
	}
	if len(targets) == 0 {
		return "", errNoGroups
	}
	a := &article{
		id:      id,
		header:  append([]byte(nil), header...),
		body:    append([]byte(nil), body...),
		arrived: b.now(),
	}
	var xref []string
	for _, g := range targets {
		n := g.next
		g.next++
		g.nums = append(g.nums, n)
		g.arts[n] = a
		g.refresh()
		a.places = append(a.places, place{g.info.Name, n})
		xref = append(xref, fmt.Sprintf("%s:%d", g.info.Name, n))
	}
	a.ov = nntp.Overview{
		Subject:    field(header, "Subject"),
		From:       field(header, "From"),
		Date:       field(header, "Date"),
		MessageID:  id,
		References: field(header, "References"),
		Bytes:      int64(len(a.header) + 2 + len(a.body)),
		Lines:      int64(bytes.Count(a.body, []byte("\n"))),
		Xref:       b.Name + " " + strings.Join(xref, " "),
	}
	if len(a.body) > 0 && a.body[len(a.body)-1] != '\n' {
		a.ov.Lines++
	}
	b.history[id] = true
	b.byID[id] = a
	b.arrival = append(b.arrival, a)
	return id, nil
}

// NewSession opens a session; nntpmem ignores the connection details.
func (b *Backend) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	return &Session{b: b}, nil
}

// Session is one connection's view of the Backend. It implements
// nntp.Session, nntp.Poster, nntp.Authenticator and nntp.Transit, and is
// safe for the concurrent Transit calls of a streaming connection.
type Session struct {
	b      *Backend
	authed atomic.Bool
}

var (
	_ nntp.Session       = (*Session)(nil)
	_ nntp.Poster        = (*Session)(nil)
	_ nntp.Authenticator = (*Session)(nil)
	_ nntp.Transit       = (*Session)(nil)
)

func (s *Session) Permissions() nntp.Permissions {
	if s.authed.Load() {
		return s.b.Authenticated
	}
	return s.b.Anonymous
}

func (s *Session) Close() error { return nil }

func (s *Session) Groups(ctx context.Context) ([]nntp.Group, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	out := make([]nntp.Group, 0, len(s.b.groups))
	for _, g := range s.b.groups {
		out = append(out, g.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Session) Group(ctx context.Context, name string) (nntp.Group, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	g, ok := s.b.groups[name]
	if !ok {
		return nntp.Group{}, nntp.ErrNoSuchGroup
	}
	return g.info, nil
}

// span returns the numbers of g within r.
func (g *group) span(r nntp.Range) []int64 {
	i := sort.Search(len(g.nums), func(i int) bool { return g.nums[i] >= r.Low })
	j := len(g.nums)
	if r.High >= 0 {
		j = sort.Search(len(g.nums), func(i int) bool { return g.nums[i] > r.High })
	}
	if i >= j {
		return nil
	}
	return g.nums[i:j]
}

func (s *Session) Numbers(ctx context.Context, name string, r nntp.Range) ([]int64, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	g, ok := s.b.groups[name]
	if !ok {
		return nil, nntp.ErrNoSuchGroup
	}
	return append([]int64(nil), g.span(r)...), nil
}

func (s *Session) Overview(ctx context.Context, name string, r nntp.Range, fn func(*nntp.Overview) error) error {
	s.b.mu.RLock()
	g, ok := s.b.groups[name]
	if !ok {
		s.b.mu.RUnlock()
		return nntp.ErrNoSuchGroup
	}
	nums := g.span(r)
	ovs := make([]nntp.Overview, len(nums))
	for i, n := range nums {
		ovs[i] = g.arts[n].ov
		ovs[i].Number = n
	}
	s.b.mu.RUnlock()
	for i := range ovs {
		if err := fn(&ovs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) OverviewByID(ctx context.Context, id string) (*nntp.Overview, error) {
	a, err := s.byID(id)
	if err != nil {
		return nil, err
	}
	ov := a.ov
	ov.Number = 0
	return &ov, nil
}

func (a *article) export(n int64) *nntp.Article {
	return &nntp.Article{Number: n, MessageID: a.id, Header: a.header, Body: a.body}
}

func (s *Session) Article(ctx context.Context, name string, n int64) (*nntp.Article, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	g, ok := s.b.groups[name]
	if !ok {
		return nil, nntp.ErrNoSuchGroup
	}
	a, ok := g.arts[n]
	if !ok {
		return nil, nntp.ErrNoSuchArticle
	}
	return a.export(n), nil
}

func (s *Session) ArticleByID(ctx context.Context, id string) (*nntp.Article, error) {
	a, err := s.byID(id)
	if err != nil {
		return nil, err
	}
	return a.export(0), nil
}

// byID finds an article by message-id; articles are never changed after
// they are stored, so the caller may read it without the lock.
func (s *Session) byID(id string) (*article, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	a, ok := s.b.byID[id]
	if !ok {
		return nil, nntp.ErrNoSuchArticle
	}
	return a, nil
}

func (s *Session) Next(ctx context.Context, name string, n int64) (int64, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	g, ok := s.b.groups[name]
	if !ok {
		return 0, nntp.ErrNoSuchGroup
	}
	i := sort.Search(len(g.nums), func(i int) bool { return g.nums[i] > n })
	if i == len(g.nums) {
		return 0, nntp.ErrNoNextArticle
	}
	return g.nums[i], nil
}

func (s *Session) Prev(ctx context.Context, name string, n int64) (int64, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	g, ok := s.b.groups[name]
	if !ok {
		return 0, nntp.ErrNoSuchGroup
	}
	i := sort.Search(len(g.nums), func(i int) bool { return g.nums[i] >= n })
	if i == 0 {
		return 0, nntp.ErrNoPrevArticle
	}
	return g.nums[i-1], nil
}

func (s *Session) NewGroups(ctx context.Context, since time.Time) ([]nntp.Group, error) {
	all, _ := s.Groups(ctx)
	var out []nntp.Group
	for _, g := range all {
		if !g.Created.Before(since) {
			out = append(out, g)
		}
	}
	return out, nil
}

func (s *Session) NewNews(ctx context.Context, since time.Time) ([]nntp.NewsEntry, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	i := sort.Search(len(s.b.arrival), func(i int) bool { return !s.b.arrival[i].arrived.Before(since) })
	var out []nntp.NewsEntry
	for _, a := range s.b.arrival[i:] {
		if _, ok := s.b.byID[a.id]; !ok {
			continue // expired
		}
		for _, p := range a.places {
			out = append(out, nntp.NewsEntry{MessageID: a.id, Group: p.group})
		}
	}
	return out, nil
}

// Post files an injected article; it adds a Message-ID if there is none.
func (s *Session) Post(ctx context.Context, raw []byte) error {
	if !s.Permissions().Post {
		return nntp.ErrPostingNotPermitted
	}
	_, err := s.b.store(raw, "", true)
	return err
}

// Authenticate checks user and pass against the users added with AddUser.
func (s *Session) Authenticate(ctx context.Context, user, pass string) error {
	s.b.mu.RLock()
	want, ok := s.b.users[user]
	s.b.mu.RUnlock()
	if !ok || want != pass {
		return nntp.ErrAuthRejected
	}
	s.authed.Store(true)
	return nil
}

// Wanted reports ErrDuplicate for a message-id in the history.
func (s *Session) Wanted(ctx context.Context, id string) error {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	if s.b.history[id] {
		return nntp.ErrDuplicate
	}
	return nil
}

// Receive files a transit article byte for byte; its Message-ID must be id.
func (s *Session) Receive(ctx context.Context, id string, raw []byte) error {
	_, err := s.b.store(raw, id, false)
	return err
}
