// Package spool is the local store of downloaded articles: one directory per
// server, holding append-only segment files of length-prefixed, checksummed
// records (package doc of record.go has the layout) and two small state files
// replaced atomically:
//
//	sync.json  what sync committed: the high-water mark (last article number
//	           fetched from the server) and the committed size of each segment
//	read.json  how far read has examined the segments
//
// A sync appends records, fsyncs the segment, then renames a new sync.json
// into place. Anything past the committed size (a crash between the two) is
// cut off when the writer next opens, so nothing half-written is ever read
// and the articles behind it are fetched again. Scans read big windows of a
// segment, with no per-article file opens.
package spool

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/altcrypt/altcrypt/pool/internal/atomicfile"
)

// SegmentLimit is the size after which a new segment file is started.
const SegmentLimit = 256 << 20

const (
	syncFile = "sync.json"
	readFile = "read.json"
)

// Segment is one committed segment file.
type Segment struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Records int64  `json:"records"`
}

// SyncState is the content of sync.json.
type SyncState struct {
	Version  int       `json:"version"`
	Server   string    `json:"server"`
	Group    string    `json:"group"`
	High     int64     `json:"high"` // last article number fetched, 0 before the first sync
	Segments []Segment `json:"segments"`
}

// Position is a place in the spool: a segment index and an offset in it.
type Position struct {
	Segment int   `json:"segment"`
	Offset  int64 `json:"offset"`
}

// ReadState is the content of read.json.
type ReadState struct {
	Version  int      `json:"version"`
	Examined Position `json:"examined"`
}

// DirName turns a server address into a directory name.
func DirName(server string) string {
	var b strings.Builder
	for _, c := range server {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || strings.HasPrefix(b.String(), ".") {
		return "_" + b.String()
	}
	return b.String()
}

func loadJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("spool: %s: %w", path, err)
	}
	return true, nil
}

func saveJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// lock takes an exclusive advisory lock on dir/name, failing at once if
// another process holds it.
func lock(dir, name, what string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: another %s is running on %s", what, dir)
	}
	return f, nil
}

// Writer appends records for one server. Only one Writer per directory may
// exist at a time (a lock file enforces it).
type Writer struct {
	dir   string
	lockf *os.File
	state SyncState
	seg   *os.File
	buf   *bufio.Writer
	size  int64 // bytes written to the current segment, committed or not
	recs  int64
	enc   []byte
	dirty bool
	fresh bool // the segment file may be new since the last directory sync

	segmentLimit int64 // SegmentLimit when 0 (tests set it)
}

func (w *Writer) limit() int64 {
	if w.segmentLimit > 0 {
		return w.segmentLimit
	}
	return SegmentLimit
}

// OpenWriter opens (creating) the spool directory dir for server and group.
func OpenWriter(dir, server, group string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lf, err := lock(dir, "sync.lock", "pool sync")
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, lockf: lf}
	ok, err := loadJSON(filepath.Join(dir, syncFile), &w.state)
	if err != nil {
		lf.Close()
		return nil, err
	}
	if !ok {
		w.state = SyncState{Version: 1, Server: server, Group: group}
	}
	if w.state.Server != server {
		lf.Close()
		return nil, fmt.Errorf("spool: %s holds articles of server %s, not %s", dir, w.state.Server, server)
	}
	if w.state.Group != group {
		lf.Close()
		return nil, fmt.Errorf("spool: %s holds group %s, not %s", dir, w.state.Group, group)
	}
	if err := w.openSegment(); err != nil {
		lf.Close()
		return nil, err
	}
	return w, nil
}

// openSegment opens the last segment for appending, cutting off whatever
// lies past its committed size.
func (w *Writer) openSegment() error {
	if len(w.state.Segments) == 0 || w.state.Segments[len(w.state.Segments)-1].Size >= w.limit() {
		w.state.Segments = append(w.state.Segments, Segment{Name: fmt.Sprintf("%08d.seg", len(w.state.Segments)+1)})
	}
	last := w.state.Segments[len(w.state.Segments)-1]
	f, err := os.OpenFile(filepath.Join(w.dir, last.Name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(last.Size); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(last.Size, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	w.seg, w.size, w.recs = f, last.Size, last.Records
	w.fresh = last.Size == 0
	w.buf = bufio.NewWriterSize(f, 1<<20)
	return nil
}

// High is the committed high-water mark: the last article number fetched.
func (w *Writer) High() int64 { return w.state.High }

// Append adds a record; it becomes visible to readers at the next Commit.
func (w *Writer) Append(r *Record) error {
	var err error
	w.enc, err = appendRecord(w.enc[:0], r)
	if err != nil {
		return err
	}
	if _, err := w.buf.Write(w.enc); err != nil {
		return err
	}
	w.size += int64(len(w.enc))
	w.recs++
	w.dirty = true
	return nil
}

// Commit makes every appended record durable and visible, and records high
// as the new high-water mark.
func (w *Writer) Commit(high int64) error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if w.dirty {
		if err := w.seg.Sync(); err != nil {
			return err
		}
		if w.fresh {
			// A new segment file: make its directory entry durable too.
			if err := atomicfile.SyncDir(w.dir); err != nil {
				return err
			}
			w.fresh = false
		}
	}
	last := &w.state.Segments[len(w.state.Segments)-1]
	last.Size, last.Records = w.size, w.recs
	if high > w.state.High {
		w.state.High = high
	}
	if err := saveJSON(filepath.Join(w.dir, syncFile), &w.state); err != nil {
		return err
	}
	w.dirty = false
	if w.size >= w.limit() {
		if err := w.seg.Close(); err != nil {
			return err
		}
		return w.openSegment()
	}
	return nil
}

// Close releases the writer without committing what was appended since the
// last Commit.
func (w *Writer) Close() error {
	err := w.seg.Close()
	w.lockf.Close()
	return err
}

// Reader scans a spool directory. Several readers may scan at once; only
// one may record progress at a time (SetExamined takes a lock).
type Reader struct {
	dir   string
	state SyncState
}

// OpenReader opens the spool directory dir as last committed.
func OpenReader(dir string) (*Reader, error) {
	r := &Reader{dir: dir}
	ok, err := loadJSON(filepath.Join(dir, syncFile), &r.state)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("spool: %s has never been synced", dir)
	}
	return r, nil
}

// State returns the committed sync state.
func (r *Reader) State() SyncState { return r.state }

// End is the position after the last committed record.
func (r *Reader) End() Position {
	n := len(r.state.Segments)
	if n == 0 {
		return Position{}
	}
	return Position{Segment: n - 1, Offset: r.state.Segments[n-1].Size}
}

// Pending counts the committed records after from (whole segments are
// counted exactly; the first partial one is estimated by size).
func (r *Reader) Pending(from Position) int64 {
	var n int64
	for i := from.Segment; i < len(r.state.Segments); i++ {
		s := r.state.Segments[i]
		if i == from.Segment && from.Offset > 0 && s.Size > 0 {
			n += int64(float64(s.Records) * float64(s.Size-from.Offset) / float64(s.Size))
			continue
		}
		n += s.Records
	}
	return n
}

// Examined returns how far read has got.
func (r *Reader) Examined() (Position, error) {
	var st ReadState
	if _, err := loadJSON(filepath.Join(r.dir, readFile), &st); err != nil {
		return Position{}, err
	}
	return st.Examined, nil
}

// SetExamined records how far read has got.
func (r *Reader) SetExamined(p Position) error {
	return saveJSON(filepath.Join(r.dir, readFile), &ReadState{Version: 1, Examined: p})
}

// LockRead takes the lock that keeps two reads from recording progress at
// once; call the returned function to release it.
func (r *Reader) LockRead() (func(), error) {
	f, err := lock(r.dir, "read.lock", "pool read")
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// WindowSize is how much of a segment a scan reads at a time.
const WindowSize = 16 << 20

// Scan calls fn with the committed records after from, a window at a time,
// in order. end is the position just after the batch. The records (and their
// bodies) are only valid during the call.
func (r *Reader) Scan(from Position, fn func(batch []Record, end Position) error) error {
	buf := make([]byte, WindowSize)
	var batch []Record
	for si := from.Segment; si < len(r.state.Segments); si++ {
		seg := r.state.Segments[si]
		off := int64(0)
		if si == from.Segment {
			off = from.Offset
		}
		if off >= seg.Size {
			continue
		}
		f, err := os.Open(filepath.Join(r.dir, seg.Name))
		if err != nil {
			return err
		}
		for off < seg.Size {
			want := seg.Size - off
			if want > int64(len(buf)) {
				want = int64(len(buf))
			}
			n, err := f.ReadAt(buf[:want], off)
			if int64(n) < want {
				f.Close()
				if err == nil || err == io.EOF {
					err = fmt.Errorf("spool: %s is shorter than committed", seg.Name)
				}
				return err
			}
			batch = batch[:0]
			p := 0
			for p < n {
				batch = append(batch, Record{})
				used, need, err := parseRecord(buf[p:n], &batch[len(batch)-1])
				if err != nil {
					f.Close()
					return fmt.Errorf("%w in %s at offset %d", err, seg.Name, off+int64(p))
				}
				if used == 0 {
					batch = batch[:len(batch)-1]
					if p == 0 {
						// One record larger than the window: grow it.
						if need > len(buf) {
							buf = make([]byte, need)
						}
						if int64(need) > seg.Size-off {
							f.Close()
							return fmt.Errorf("%w: record runs past the committed end of %s", ErrCorrupt, seg.Name)
						}
					}
					break
				}
				p += used
			}
			if p == 0 {
				continue // window grown; read again
			}
			off += int64(p)
			if err := fn(batch, Position{Segment: si, Offset: off}); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}
