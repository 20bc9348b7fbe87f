package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
)

// The SQL core: one implementation of Store over database/sql, shared by the
// SQLite and PostgreSQL stores. Every query is written once, with ?
// placeholders and portable SQL (standard types, RETURNING, ON CONFLICT);
// a dialect supplies the few things that differ.

// dialect is what one database engine needs from the SQL core.
type dialect struct {
	// name is the engine's name in error messages: "sqlite", "postgres".
	name string
	// goose is the migration dialect; migrations is the directory of this
	// dialect's history under migrations/.
	goose      goose.Dialect
	migrations string
	// numbered placeholders: ? is rewritten as $1, $2, ... .
	numbered bool
	// writableCTE: a WITH clause may insert (INSERT ... RETURNING inside
	// WITH), so a booking and its participants go in one statement.
	writableCTE bool
	// lockBooking, when set, is the statement LockBooking runs inside InTx,
	// with the slot id and the prisoner id as its parameters.
	lockBooking string
	// lockPrisoner, when set, is the statement LockPrisoner runs inside
	// InTx, with the prisoner id as its parameter: lockBooking's prisoner
	// lock alone.
	lockPrisoner string
	// lastAuditTx is the query LastAudit runs inside InTx: it may also lock
	// the chain head until commit.
	lastAuditTx string
	// chainAudit, when set, is the statement ChainAudit runs: it locks the
	// chain head, numbers, hashes and inserts an entry in one step, given
	// (at, actor, action, subject, detail, canonical JSON tail), and
	// returns (id, prev_hash, hash).
	chainAudit string
	// lockRecording, when set, ends a query of recordings g inside InTx so
	// that the recordings read stay locked until the transaction ends.
	lockRecording string
	// recordsProbation is an SQL condition true when the prison of booking
	// b records probation calls (Settings.RecordProbationCalls, read from
	// the JSON in prison_settings; false when the prison stored none).
	recordsProbation string
	// isUnique reports whether err is a unique-constraint violation.
	isUnique func(error) bool
	// isRetryable reports whether a transaction that failed with err may
	// succeed when run again (a serialization failure or deadlock).
	isRetryable func(error) bool
	// txOptions are the options of InTx's transactions.
	txOptions *sql.TxOptions
	// newLazyTx, when set, runs InTx's transactions on a connection of
	// their own instead of a *sql.Tx (see lazyTx).
	newLazyTx func(conn *sql.Conn) lazyTx

	// bound caches the rewritten form of each query (numbered only).
	bound sync.Map // string -> string
}

// bind returns query with its placeholders in the dialect's form.
func (d *dialect) bind(query string) string {
	if !d.numbered {
		return query
	}
	if q, ok := d.bound.Load(query); ok {
		return q.(string)
	}
	q := numberPlaceholders(query)
	d.bound.Store(query, q)
	return q
}

// numberPlaceholders rewrites each ? outside quotes and comments as $1, $2,
// and so on.
func numberPlaceholders(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			// Copy a quoted literal or identifier through its closing quote
			// (a doubled quote inside it reopens and closes again).
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// maxTxAttempts bounds how many times InTx runs a transaction that keeps
// failing with a retryable error.
const maxTxAttempts = 8

// sqlStore is the Store over one database/sql pool.
type sqlStore struct {
	sqlQueries // direct reads and writes, each on its own
	db         *sql.DB
	// txGate is a semaphore held for the length of each InTx, with as many
	// places as transactions may run at once: one for SQLite (the
	// whole-database serialisation it needs), the pool size for
	// PostgreSQL. Its waiters are served in order, unlike database/sql's
	// (which picks a waiting request at random), so under load no request
	// waits much longer than the others.
	txGate chan struct{}
}

// newSQLStore returns the store over db; maxTx transactions run at once.
func newSQLStore(db *sql.DB, d *dialect, maxTx int) *sqlStore {
	return &sqlStore{sqlQueries: sqlQueries{db: db, d: d}, db: db, txGate: make(chan struct{}, maxTx)}
}

// Ping checks that the database answers a query.
func (s *sqlStore) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	return nil
}

// Close closes the database.
func (s *sqlStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.d.name, err)
	}
	return nil
}

// InTx runs fn in one transaction; see Store. A transaction that fails
// with a retryable error (a deadlock or serialization failure, which only
// PostgreSQL reports) is rolled back and fn runs again, a bounded number of
// times.
func (s *sqlStore) InTx(ctx context.Context, fn func(q Queries) error) error {
	select {
	case s.txGate <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a transaction: %w", ctx.Err())
	}
	defer func() { <-s.txGate }()
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, fn)
		if err == nil || attempt == maxTxAttempts || s.d.isRetryable == nil || !s.d.isRetryable(err) {
			return err
		}
		// Back off for a random while, longer after each failure, so that
		// the transactions that collided do not collide again.
		wait := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w (retry abandoned: %w)", err, ctx.Err())
		}
	}
}

// inTx runs fn in one transaction, once.
func (s *sqlStore) inTx(ctx context.Context, fn func(q Queries) error) (err error) {
	if s.d.newLazyTx != nil {
		return s.inLazyTx(ctx, fn)
	}
	tx, err := s.db.BeginTx(ctx, s.d.txOptions)
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
	if err := fn(sqlQueries{db: tx, d: s.d, tx: true}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// inLazyTx runs fn once in a transaction that sends BEGIN and COMMIT
// itself, on a connection of its own.
func (s *sqlStore) inLazyTx(ctx context.Context, fn func(q Queries) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A connection given back inside a transaction (say after a failed
	// rollback) is closed by the driver rather than reused.
	defer conn.Close()
	tx := s.d.newLazyTx(conn)
	if err := fn(sqlQueries{db: conn, d: s.d, tx: true, lazy: tx}); err != nil {
		if rerr := tx.rollback(ctx); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.commit(ctx); err != nil {
		_ = tx.rollback(ctx)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// lazyTx is a transaction that sends BEGIN and COMMIT itself, so that they
// share round trips with the statements next to them: BEGIN with the first
// lock, COMMIT with the audit append (PostgreSQL: postgres_tx.go). The
// statements of the transaction run on its connection.
type lazyTx interface {
	// before readies the transaction for a statement: it begins it if
	// needed and sends a deferred audit append.
	before(ctx context.Context) error
	// lock runs one of the dialect's lock statements, and begins the
	// transaction with it when it is the first.
	lock(ctx context.Context, query string, args ...any) error
	// deferAudit keeps the audit append query(args) to send with the
	// commit, or before the next statement.
	deferAudit(ctx context.Context, query string, args ...any) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// dbtx is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlQueries implements Queries over a database or a transaction (tx).
type sqlQueries struct {
	db   dbtx
	d    *dialect
	tx   bool
	lazy lazyTx // the transaction, when the dialect runs its own
}

// rowScanner is one row of a result, or the error that prevented it.
type rowScanner interface {
	Scan(dest ...any) error
}

// errRow is a row that could not be read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (q sqlQueries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.lazy != nil {
		if query != "" && (query == q.d.lockBooking || query == q.d.lockPrisoner) {
			return driverResult{}, q.lazy.lock(ctx, q.d.bind(query), args...)
		}
		if err := q.lazy.before(ctx); err != nil {
			return nil, err
		}
	}
	return q.db.ExecContext(ctx, q.d.bind(query), args...)
}

func (q sqlQueries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if q.lazy != nil {
		if err := q.lazy.before(ctx); err != nil {
			return nil, err
		}
	}
	return q.db.QueryContext(ctx, q.d.bind(query), args...)
}

func (q sqlQueries) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	if q.lazy != nil {
		if err := q.lazy.before(ctx); err != nil {
			return errRow{err}
		}
	}
	return q.db.QueryRowContext(ctx, q.d.bind(query), args...)
}

// driverResult is the result of a lock statement: no rows, no id.
type driverResult struct{}

func (driverResult) LastInsertId() (int64, error) { return 0, errors.New("no insert id") }
func (driverResult) RowsAffected() (int64, error) { return 0, nil }

// LockBooking takes, until the end of the transaction, the locks that make
// the booking rules of one slot and one prisoner safe to check and then
// write. See BookingQueries.
func (q sqlQueries) LockBooking(ctx context.Context, slotID string, prisonerID int64) error {
	if !q.tx {
		return fmt.Errorf("lock booking of slot %s: %w", slotID, errNotInTx)
	}
	if q.d.lockBooking == "" {
		return nil
	}
	if _, err := q.exec(ctx, q.d.lockBooking, slotID, prisonerID); err != nil {
		return fmt.Errorf("lock slot %s and prisoner %d: %w", slotID, prisonerID, err)
	}
	return nil
}

// errNotInTx is returned by the calls that only make sense inside InTx.
var errNotInTx = errors.New("only valid inside InTx")

// ErrDuplicate means a write would have duplicated a unique value: a prison
// code, prisoner number, username, booking reference, id... Store errors
// wrap it.
var ErrDuplicate = errors.New("booking: duplicate")

// duplicateError is a unique-constraint violation: it is ErrDuplicate and
// unwraps to the driver's error.
type duplicateError struct{ err error }

func (e duplicateError) Error() string        { return e.err.Error() }
func (e duplicateError) Unwrap() error        { return e.err }
func (e duplicateError) Is(target error) bool { return target == ErrDuplicate }

// writeErr maps a driver error of a write to the store's errors.
func (q sqlQueries) writeErr(err error) error {
	if err != nil && q.d.isUnique != nil && q.d.isUnique(err) {
		return duplicateError{err}
	}
	return err
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
