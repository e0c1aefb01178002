package postgres

import (
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/altcrypt/altcrypt/store/internal/sqlutil"
)

var errBadConn = driver.ErrBadConn

// wrap marks failures to reach or use the database as store.ErrUnavailable
// (the caller answers "try later"): no connection, a connection lost or
// terminated, a server shutting down or starting, too many connections, a
// statement cancelled by a timeout, and the transient conflicts
// (serialization failure, deadlock) that a retry resolves.
func wrap(err error) error {
	return sqlutil.Unavailable(err, func(err error) bool {
		var pe *pq.Error
		if !errors.As(err, &pe) {
			return false
		}
		switch pe.Code.Class() {
		case pqerror.ClassConnectionException, "53" /* insufficient resources */, "57" /* operator intervention */, "58" /* system error */ :
			return true
		}
		switch pe.Code {
		case pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected:
			return true
		}
		return false
	})
}
