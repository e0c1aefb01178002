// Package pgtest gives tests a real PostgreSQL: the server named by
// $DATABASE_URL, or else a throwaway one that the repository's
// scripts/pg-throwaway starts for the test binary and stops when its tests
// end. Each test gets a database of its own (NewDatabase).
//
// Tests that stop the database on purpose get a private server of their
// own: NewServer (which can be stopped and started again on the same data,
// a database restart) or StartServer.
//
// Tests never skip: when no server can be had, they fail and say why.
//
// Use it from TestMain, so the throwaway server is stopped:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver
)

var (
	mu      sync.Mutex
	inMain  bool
	shared  *server // the package's server, once started
	admin   *sql.DB // connection to shared's maintenance database
	sharedE error   // why shared could not be started
)

type server struct {
	url string
	dir string // the throwaway's directory; empty for $DATABASE_URL
}

// Main runs the tests of a package and stops the throwaway server, if one
// was started, before exiting.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	if admin != nil {
		admin.Close()
	}
	if shared != nil && shared.dir != "" {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the throwaway server: %v\n", err)
		}
	}
	mu.Unlock()
	os.Exit(code)
}

// URL returns the URL of the package's server (maintenance database),
// starting a throwaway server on first use when $DATABASE_URL is unset.
func URL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if err := ensureShared(); err != nil {
		t.Fatalf("pgtest: no PostgreSQL for the tests: %v", err)
	}
	return shared.url
}

func ensureShared() error {
	if shared != nil {
		return nil
	}
	if sharedE != nil {
		return sharedE
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		shared = &server{url: u}
	} else {
		if !inMain {
			sharedE = errors.New("DATABASE_URL is unset and the package does not call pgtest.Main from TestMain " +
				"(needed to stop the throwaway server)")
			return sharedE
		}
		s, err := start()
		if err != nil {
			sharedE = err
			return err
		}
		shared = s
	}
	db, err := sql.Open("postgres", shared.url)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		sharedE = fmt.Errorf("cannot connect to %s: %w", redact(shared.url), err)
		return sharedE
	}
	db.SetMaxOpenConns(4)
	admin = db
	return nil
}

// NewDatabase creates an empty database for t on the package's server and
// returns its DSN; the database is dropped when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := URL(t)
	mu.Lock()
	db := admin
	mu.Unlock()
	var b [8]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: CREATE DATABASE %s on %s: %v", name, redact(base), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: DROP DATABASE %s: %v", name, err)
		}
	})
	dsn, err := WithDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// WithDatabase returns dsn (a postgres:// URL or a key=value string) with
// its database replaced by name.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("bad DATABASE_URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}

// StartServer starts a throwaway server for t alone, whatever
// $DATABASE_URL says: for tests that stop a server on purpose. It returns
// the server's URL and a stop function (also run when t ends; a second
// call does nothing). To start it again after a stop, use NewServer.
func StartServer(t testing.TB) (dsn string, stop func()) {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("pgtest: cannot start a throwaway PostgreSQL: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := s.stop(); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s.url, stop
}

// Server is a throwaway PostgreSQL of one test that the test may stop
// and start again on the same data directory and port (a database
// restart): what was committed before Stop is there after Start.
type Server struct {
	// URL is the server's maintenance database (postgres), the same
	// before and after a restart.
	URL string
	s   *server
}

// NewServer starts a throwaway server for t alone, whatever $DATABASE_URL
// says. Its directory is removed when t ends, running or not.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("pgtest: cannot start a throwaway PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return &Server{URL: s.url, s: s}
}

// Stop shuts the server down as an operator would (pg_ctl -m fast:
// sessions are terminated, their transactions rolled back) and waits
// until it is down. The data directory stays.
func (s *Server) Stop() error {
	return s.s.pgctl("-m", "fast", "-w", "-t", "60", "stop")
}

// Start starts the stopped server again with the options it had (read
// from the data directory's postmaster.opts: same port, same socket
// directory) and waits until it accepts connections.
func (s *Server) Start() error {
	opts, err := os.ReadFile(filepath.Join(s.s.dir, "data", "postmaster.opts"))
	if err != nil {
		return fmt.Errorf("pgtest: the server's options: %w", err)
	}
	// The first word is the postgres binary; the rest are its arguments,
	// each double-quoted, as pg_ctl -o passes them on to a shell.
	_, args, ok := strings.Cut(strings.TrimSpace(string(opts)), " ")
	if !ok {
		return fmt.Errorf("pgtest: postmaster.opts holds no arguments: %q", opts)
	}
	return s.s.pgctl("-l", filepath.Join(s.s.dir, "server.log"), "-o", args, "-w", "-t", "60", "start")
}

// pgctl runs pg_ctl on the server's data directory, as the postgres user
// when we are root (as scripts/pg-throwaway does: the files are its).
func (s *server) pgctl(args ...string) error {
	bindir, err := os.ReadFile(filepath.Join(s.dir, "bindir"))
	if err != nil {
		return fmt.Errorf("pgtest: the server's binaries: %w", err)
	}
	argv := append([]string{filepath.Join(strings.TrimSpace(string(bindir)), "pg_ctl"), "-D", filepath.Join(s.dir, "data")}, args...)
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		return fmt.Errorf("pgtest: %s: %v\n%s\nserver.log ends:\n%s", strings.Join(argv, " "), err, out, log)
	}
	return nil
}

func start() (*server, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("/tmp", "pgt.")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // may install postgresql
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "pg-throwaway"), "start", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s := &server{dir: dir}
		s.stop()
		return nil, fmt.Errorf("scripts/pg-throwaway start %s: %v\n%s", dir, err, stderr.String())
	}
	u := strings.TrimSpace(string(out))
	if !strings.HasPrefix(u, "postgres") {
		s := &server{dir: dir}
		s.stop()
		return nil, fmt.Errorf("scripts/pg-throwaway printed %q, not a URL\n%s", u, stderr.String())
	}
	return &server{url: u, dir: dir}, nil
}

func (s *server) stop() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "pg-throwaway"), "stop", s.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/pg-throwaway stop %s: %v\n%s", s.dir, err, out)
	}
	return nil
}

// repoRoot walks up from the working directory (the package's directory
// under go test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: cannot find scripts/pg-throwaway")
		}
		dir = parent
	}
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
