package sqlite

import (
	"errors"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/altcrypt/altcrypt/store/internal/sqlutil"
)

// wrap marks failures to use the database file (busy beyond the timeout,
// I/O errors, a full disk, a file that cannot be opened, a statement
// interrupted because its context ended) as store.ErrUnavailable: the
// caller should answer "try later".
func wrap(err error) error {
	return sqlutil.Unavailable(err, func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return false
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_INTERRUPT:
			return true
		}
		return false
	})
}
