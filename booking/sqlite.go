package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBusyTimeout is how long a connection waits for another process's
// write lock before giving up with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// newSQLiteDialect returns the dialect, with a placeholder cache of its own, of one
// store: ? placeholders, and no locks inside transactions, because
// InTx already runs one at a time.
func newSQLiteDialect() *dialect {
	return &dialect{
		name:        "sqlite",
		goose:       goose.DialectSQLite3,
		migrations:  "sqlite",
		lastAuditTx: `SELECT ` + auditColumns + ` FROM audit_log ORDER BY id DESC LIMIT 1`,
		recordsProbation: `COALESCE((SELECT json_extract(s.settings, '$.recordProbationCalls')
			FROM prison_settings s WHERE s.prison_id = b.prison_id), 0) = 1`,
		isUnique: func(err error) bool {
			var se *sqlite.Error
			if !errors.As(err, &se) {
				return false
			}
			c := se.Code()
			return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
	}
}

// SQLiteStore is the embedded Store: one SQLite file (modernc.org/sqlite, pure
// Go) in WAL mode. Writers are serialised: InTx holds an in-process lock
// and begins IMMEDIATE transactions, so another process sharing the file
// waits on busy_timeout instead of failing.
type SQLiteStore struct {
	*sqlStore
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates it to the newest schema.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	// Each connection of an in-memory database would be a separate,
	// empty database; query strings would override the settings below.
	if path == "" || strings.HasPrefix(path, ":") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite: %q is not a database file path", path)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	d := newSQLiteDialect()
	if err := migrate(ctx, db, d); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &SQLiteStore{newSQLStore(db, d, 1)}, nil
}

// InTx runs fn in one IMMEDIATE transaction, serialised with every other
// InTx on this store. See Store.
func (s *SQLiteStore) InTx(ctx context.Context, fn func(q Queries) error) error {
	return s.sqlStore.InTx(ctx, fn)
}
