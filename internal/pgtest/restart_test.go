package pgtest

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// A stopped and restarted server keeps its data and its URL, and refuses
// connections while it is down.
func TestServerRestart(t *testing.T) {
	ctx := context.Background()
	srv := NewServer(t)
	db, err := sql.Open("postgres", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before the restart')`); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = db.PingContext(down)
	cancel()
	if err == nil {
		t.Fatal("the stopped server still answers")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool's old connections are dead; database/sql retries on a new one.
	var v string
	if err := db.QueryRowContext(ctx, `SELECT v FROM kept`).Scan(&v); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if v != "before the restart" {
		t.Fatalf("read back %q", v)
	}
	// A second round, to show Start leaves the server as Stop needs it.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM kept`).Scan(&v); err != nil || v != "1" {
		t.Fatalf("after the second restart: %q %v", v, err)
	}
}
