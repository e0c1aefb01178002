// Package peers reads the peers file: the servers that feed us (recognised
// by address and/or AUTHINFO account) and the servers we feed. Its form is
// close to INN's incoming.conf and innfeed.conf so that a news operator
// reads it at a glance:
//
//	peer inn1 {
//	    accept-from: 127.0.0.1, 2001:db8::/32  # may feed us as this peer
//	    accept-user: someaccount               # or: AUTHINFO account that identifies it
//	    path:        news.example.net          # its Path name: never offered back
//	    send-to:     news.example.net:119      # where we feed it (omit: it only feeds us)
//	    groups:      alt.crypt.*               # wildmat of groups we send
//	    streaming:   yes                       # CHECK/TAKETHIS; no = IHAVE
//	    connections: 2
//	    tls:         no
//	    user:        feeder                    # AUTHINFO we send, if it wants one
//	    password:    secret
//	}
package peers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/altcrypt/altcrypt/news"
)

// Limits on the file, so that a mistaken path (a log, a binary) gives a
// clear error instead of a long parse.
const (
	MaxFileSize    = 1 << 20
	MaxLineLength  = 4096
	MaxConnections = 64
)

// Peer is one peer block.
type Peer struct {
	Name string
	Line int // line of the "peer" keyword, for messages

	// Incoming: who may feed us as this peer.
	AcceptFrom []netip.Prefix
	AcceptUser string

	// Path is the name the peer puts in Path; articles whose Path holds
	// it are never offered to it. Defaults to Name, as in INN's newsfeeds.
	Path string

	// Outgoing: empty SendTo means the peer only feeds us.
	SendTo      string // host:port
	Groups      *news.Wildmat
	GroupsText  string
	Streaming   bool
	Connections int
	TLS         bool
	User        string
	Password    string
}

// Sends reports whether we feed this peer.
func (p *Peer) Sends() bool { return p.SendTo != "" }

// Wants reports whether an article carried in groups should be queued for
// this peer: we feed it, one of the groups matches its wildmat, and its
// Path name is not already in path (the article's Path field).
func (p *Peer) Wants(groups []string, path string) bool {
	if !p.Sends() || news.InPath(path, p.Path) {
		return false
	}
	for _, g := range groups {
		if p.Groups.Match(g) {
			return true
		}
	}
	return false
}

// File is a parsed peers file. Read Peers directly only before the file is
// shared; its methods are safe while Replace swaps the list.
type File struct {
	mu    sync.RWMutex
	Peers []*Peer
}

// list returns the current peers.
func (f *File) list() []*Peer {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.Peers
}

// Replace makes f hold n's peers (nntpd reloads its peers file on SIGHUP)
// and reports the names of the peers added, removed and changed.
func (f *File) Replace(n *File) (added, removed, changed []string) {
	next := n.list()
	f.mu.Lock()
	defer f.mu.Unlock()
	old := map[string]*Peer{}
	for _, p := range f.Peers {
		old[p.Name] = p
	}
	seen := map[string]bool{}
	for _, p := range next {
		seen[p.Name] = true
		switch o, ok := old[p.Name]; {
		case !ok:
			added = append(added, p.Name)
		case !reflect.DeepEqual(o, p):
			changed = append(changed, p.Name)
		}
	}
	for _, p := range f.Peers {
		if !seen[p.Name] {
			removed = append(removed, p.Name)
		}
	}
	f.Peers = next
	return added, removed, changed
}

// Senders returns the peers we feed, in file order.
func (f *File) Senders() []*Peer {
	var out []*Peer
	for _, p := range f.list() {
		if p.Sends() {
			out = append(out, p)
		}
	}
	return out
}

// Peer returns the peer named name, or nil.
func (f *File) Peer(name string) *Peer {
	for _, p := range f.list() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Match returns the peer that a connection from remote, logged in as
// authUser ("" when not logged in), feeds us as, or nil when it may not
// feed us. A peer with accept-user matches only that account (and, if it
// also has accept-from, only from those addresses); a peer with only
// accept-from matches any connection from those addresses. Peers matched
// by account come first, then file order.
func (f *File) Match(remote net.Addr, authUser string) *Peer {
	if f == nil {
		return nil
	}
	list := f.list()
	addr, hasAddr := addrOf(remote)
	inFrom := func(p *Peer) bool {
		if !hasAddr {
			return false
		}
		for _, pr := range p.AcceptFrom {
			if pr.Contains(addr) {
				return true
			}
		}
		return false
	}
	if authUser != "" {
		for _, p := range list {
			if p.AcceptUser == authUser && (len(p.AcceptFrom) == 0 || inFrom(p)) {
				return p
			}
		}
	}
	for _, p := range list {
		if p.AcceptUser == "" && inFrom(p) {
			return p
		}
	}
	return nil
}

func addrOf(a net.Addr) (netip.Addr, bool) {
	if a == nil {
		return netip.Addr{}, false
	}
	switch v := a.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(v.IP)
		return ip.Unmap(), ok
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap(), true
	}
	if ip, err := netip.ParseAddr(a.String()); err == nil {
		return ip.Unmap(), true
	}
	return netip.Addr{}, false
}

// Error is a parse error with the line it was found on (0: the file as a whole).
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "peers: " + e.Msg
	}
	return fmt.Sprintf("peers: line %d: %s", e.Line, e.Msg)
}

// Load reads and parses the peers file at path.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads a peers file.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}
	}
	p := parser{f: &File{}, names: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength+2)
	line := 0
	for sc.Scan() {
		line++
		if err := p.line(line, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineLength)}
		}
		return nil, err
	}
	if p.cur != nil {
		return nil, &Error{Line: p.cur.Line, Msg: fmt.Sprintf("peer %q: missing closing }", p.cur.Name)}
	}
	return p.f, nil
}

type parser struct {
	f     *File
	cur   *Peer
	seen  map[string]int // keys seen in the current block -> line
	names map[string]bool
}

func (p *parser) line(n int, s string) error {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
		return &Error{Line: n, Msg: "control character"}
	}
	if p.cur == nil {
		return p.open(n, s)
	}
	if s == "}" {
		return p.close(n)
	}
	key, val, ok := strings.Cut(s, ":")
	if !ok || strings.ContainsAny(strings.TrimSpace(key), " \t") {
		return &Error{Line: n, Msg: fmt.Sprintf("expected \"key: value\" or \"}\", got %q", s)}
	}
	key = strings.ToLower(strings.TrimSpace(key))
	val = strings.TrimSpace(val)
	if prev, dup := p.seen[key]; dup {
		return &Error{Line: n, Msg: fmt.Sprintf("%s given twice (first on line %d)", key, prev)}
	}
	p.seen[key] = n
	if err := p.set(key, val); err != nil {
		return &Error{Line: n, Msg: err.Error()}
	}
	return nil
}

func (p *parser) open(n int, s string) error {
	f := strings.Fields(s)
	if len(f) != 3 || f[0] != "peer" || f[2] != "{" {
		if len(f) == 2 && f[0] == "peer" && strings.HasSuffix(f[1], "{") && len(f[1]) > 1 {
			f = []string{"peer", strings.TrimSuffix(f[1], "{"), "{"}
		} else {
			return &Error{Line: n, Msg: fmt.Sprintf("expected \"peer NAME {\", got %q", s)}
		}
	}
	name := f[1]
	if !validName(name) {
		return &Error{Line: n, Msg: fmt.Sprintf("invalid peer name %q (letters, digits, '.', '-', '_')", name)}
	}
	if p.names[name] {
		return &Error{Line: n, Msg: fmt.Sprintf("peer %q defined twice", name)}
	}
	p.names[name] = true
	p.cur = &Peer{Name: name, Line: n, Streaming: true, Connections: 1}
	p.seen = map[string]int{}
	return nil
}

func (p *parser) close(n int) error {
	c := p.cur
	p.cur = nil
	if c.Path == "" {
		c.Path = c.Name
	}
	if c.User != "" && c.Password == "" || c.User == "" && c.Password != "" {
		return &Error{Line: n, Msg: fmt.Sprintf("peer %q: user and password go together", c.Name)}
	}
	if c.SendTo == "" {
		for _, k := range []string{"groups", "streaming", "connections", "tls", "user", "password"} {
			if l, ok := p.seen[k]; ok {
				return &Error{Line: l, Msg: fmt.Sprintf("peer %q: %s needs send-to", c.Name, k)}
			}
		}
	}
	if c.Groups == nil {
		c.GroupsText = "*"
		c.Groups, _ = news.ParseWildmat("*")
	}
	if c.SendTo == "" && len(c.AcceptFrom) == 0 && c.AcceptUser == "" {
		return &Error{Line: n, Msg: fmt.Sprintf("peer %q neither feeds us (accept-from, accept-user) nor is fed (send-to)", c.Name)}
	}
	p.f.Peers = append(p.f.Peers, c)
	return nil
}

func (p *parser) set(key, val string) error {
	c := p.cur
	if val == "" {
		return fmt.Errorf("%s: empty value", key)
	}
	switch key {
	case "accept-from":
		for _, item := range splitList(val) {
			pr, err := parsePrefix(item)
			if err != nil {
				return err
			}
			c.AcceptFrom = append(c.AcceptFrom, pr)
		}
	case "accept-user":
		if strings.ContainsAny(val, " \t") {
			return fmt.Errorf("accept-user: %q contains a space", val)
		}
		c.AcceptUser = val
	case "path":
		if strings.ContainsAny(val, "! \t,") {
			return fmt.Errorf("path: %q is not one Path entry", val)
		}
		c.Path = val
	case "send-to":
		host, port, err := net.SplitHostPort(val)
		if err != nil {
			return fmt.Errorf("send-to: %q is not host:port (%v)", val, err)
		}
		if pn, err := strconv.Atoi(port); err != nil || pn < 1 || pn > 65535 || host == "" {
			return fmt.Errorf("send-to: %q is not host:port with a port 1-65535", val)
		}
		c.SendTo = val
	case "groups":
		text := strings.Join(splitList(val), ",")
		w, err := news.ParseWildmat(text)
		if err != nil {
			return fmt.Errorf("groups: %q is not a wildmat", val)
		}
		c.Groups, c.GroupsText = w, text
	case "streaming":
		b, err := parseBool(val)
		if err != nil {
			return fmt.Errorf("streaming: %v", err)
		}
		c.Streaming = b
	case "tls":
		b, err := parseBool(val)
		if err != nil {
			return fmt.Errorf("tls: %v", err)
		}
		c.TLS = b
	case "connections":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > MaxConnections {
			return fmt.Errorf("connections: %q is not a number from 1 to %d", val, MaxConnections)
		}
		c.Connections = n
	case "user":
		c.User = val
	case "password":
		c.Password = val
	default:
		return fmt.Errorf("unknown key %q (known: accept-from, accept-user, path, send-to, groups, streaming, connections, tls, user, password)", key)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		out = append(out, f)
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("accept-from: %q is not an address or address/bits", s)
		}
		return pr.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("accept-from: %q is not an address or address/bits (host names are not resolved)", s)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true, nil
	case "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
