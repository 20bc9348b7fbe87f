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
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteBusyTimeout is how long a connection waits for another process's
// write lock before giving up with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// SQLiteStore is the embedded Store: one SQLite file (modernc.org/sqlite, pure
// Go) in WAL mode. Writers are serialised: InTx holds an in-process lock
// and begins IMMEDIATE transactions, so another process sharing the file
// waits on busy_timeout instead of failing.
type SQLiteStore struct {
	sqlQueries
	db     *sql.DB
	writer chan struct{} // a one-slot semaphore held for the length of InTx
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
	if err := migrate(ctx, db, goose.DialectSQLite3); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &SQLiteStore{
		sqlQueries: sqlQueries{db: db},
		db:         db,
		writer:     make(chan struct{}, 1),
	}, nil
}

// Ping checks that the database answers a query.
func (s *SQLiteStore) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// InTx runs fn in one IMMEDIATE transaction, serialised with every other
// InTx on this store. See Store.
func (s *SQLiteStore) InTx(ctx context.Context, fn func(q Queries) error) (err error) {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for write lock: %w", ctx.Err())
	}
	defer func() { <-s.writer }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) && err == nil {
				err = fmt.Errorf("rollback: %w", rerr)
			}
		}
	}()
	if err := fn(sqlQueries{db: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// dbtx is what *sql.DB and *sql.Tx have in common.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlQueries implements Queries over a database or a transaction. The SQL is
// kept portable (standard types, ? placeholders, RETURNING) so that a
// Postgres store can share most of it.
type sqlQueries struct {
	db dbtx
}

// notFound turns sql.ErrNoRows into ErrNotFound, naming what was missing.
func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("read %s %v: %w", what, id, err)
}

// unix converts a time to stored seconds; fromUnix converts back, in UTC.
func unix(t time.Time) int64 { return t.Unix() }

func fromUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// dateLayout is how civil dates are stored and sent.
const dateLayout = "2006-01-02"

// dateText stores a civil date; the zero time is NULL.
func dateText(d time.Time) sql.NullString {
	if d.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: d.Format(dateLayout), Valid: true}
}

// parseStoredDate reads a stored civil date; NULL is the zero time.
func parseStoredDate(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	d, err := time.Parse(dateLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored date %q: %w", s.String, err)
	}
	return d, nil
}

// nullID stores an optional id; 0 is NULL.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
