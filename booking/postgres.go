package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// PostgreSQL error codes the store acts on
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// Advisory lock keys (the two-int form, so they never collide with the
// one-bigint keys goose's migration lock uses). The first int is the class;
// the order in which a transaction takes classes is fixed: slot, then
// prisoner, then the audit chain head, which keeps lock waits free of
// cycles.
//
//	pg_advisory_xact_lock(1, 0)                 the audit chain head (migrations/postgres)
//	pg_advisory_xact_lock(2, hashtext(slot))    a slot
//	pg_advisory_xact_lock(3, hashint8(prisoner)) a prisoner
//
// Two slots or prisoners whose keys hash alike only share a lock: slower,
// never wrong.
const pgLockBooking = `SELECT pg_advisory_xact_lock(2, hashtext(CAST(? AS TEXT))),
	pg_advisory_xact_lock(3, hashint8(CAST(? AS BIGINT)))`

// pgLockPrisoner is pgLockBooking's prisoner lock alone, for changes to a
// prisoner (a move, a non-association) that bookings of them must not race.
const pgLockPrisoner = `SELECT pg_advisory_xact_lock(3, hashint8(CAST(? AS BIGINT)))`

// newPGDialect returns the dialect, with a placeholder cache of its own, of one
// store: $n placeholders, READ COMMITTED transactions in which each
// statement sees every commit made before it started, transaction-scoped
// advisory locks on the slot and prisoner a booking touches, and a lock on
// the audit chain head taken by the audit append, which goes with the
// COMMIT (postgres_tx.go).
func newPGDialect() *dialect {
	return &dialect{
		name:        "postgres",
		goose:       goose.DialectPostgres,
		migrations:  "postgres",
		numbered:    true,
		writableCTE: true,
		lockBooking: pgLockBooking,

		lockPrisoner: pgLockPrisoner,

		// audit_log_lock_head (migrations/postgres) takes the chain-head lock
		// and then reads the newest entry with a fresh snapshot, in one round
		// trip; the lock is held until the transaction ends.
		lastAuditTx:   `SELECT ` + auditColumns + ` FROM audit_log_lock_head()`,
		chainAudit:    `SELECT entry_id, entry_prev_hash, entry_hash FROM audit_log_append(?, ?, ?, ?, ?, ?)`,
		lockRecording: ` FOR UPDATE OF g`,
		recordsProbation: `COALESCE((SELECT CAST(s.settings AS jsonb) ->> 'recordProbationCalls'
			FROM prison_settings s WHERE s.prison_id = b.prison_id), 'false') = 'true'`,
		isUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == pgUniqueViolation
		},
		isRetryable: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && (pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected)
		},
		txOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		newLazyTx: newPGTx,
	}
}

// PostgresStore is the Store on a PostgreSQL server (15 or newer), through
// pgx/v5's database/sql driver. Transactions run concurrently: InTx is READ
// COMMITTED, and the booking rules take transaction-scoped advisory locks
// on exactly the slot and prisoner they check (LockBooking) and on the audit
// chain head (ChainAudit), so two bookings of different slots and prisoners
// only wait for each other while the server appends to the audit log and
// commits: the append travels with the COMMIT, in one round trip.
type PostgresStore struct {
	*sqlStore
}

// pgPoolSizeParam is the connection-string parameter that sets the pool
// size, named as pgxpool names it.
const pgPoolSizeParam = "pool_max_conns"

// defaultPGPoolSize is the pool size when the URL does not set one.
// Transactions spend most of their time waiting on round trips and locks,
// so a few connections per CPU keep the server busy; more only queue inside
// the server. See the booking benchmark for the measurement behind it.
func defaultPGPoolSize() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL
// or a key=value connection string, as pgx reads it; pool_max_conns=N sets
// the pool size) and migrates it to the newest schema. Concurrent openers,
// for example several API nodes starting together, migrate one at a time.
func OpenPostgres(ctx context.Context, url string) (*PostgresStore, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("open postgres: the database URL is not valid")
	}
	poolSize := defaultPGPoolSize()
	if v, ok := cfg.RuntimeParams[pgPoolSizeParam]; ok {
		delete(cfg.RuntimeParams, pgPoolSizeParam)
		if poolSize, err = strconv.Atoi(v); err != nil || poolSize < 1 {
			return nil, fmt.Errorf("open postgres: %s=%q is not a positive number", pgPoolSizeParam, v)
		}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "gatehouse"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(poolSize)
	db.SetMaxIdleConns(poolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	d := newPGDialect()
	if err := migrate(ctx, db, d); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	return &PostgresStore{newSQLStore(db, d, poolSize)}, nil
}

// InTx runs fn in one READ COMMITTED transaction. See Store: fn must call
// LockBooking before it checks and writes a booking, and may run more than
// once when PostgreSQL reports a deadlock or serialization failure.
func (s *PostgresStore) InTx(ctx context.Context, fn func(q Queries) error) error {
	return s.sqlStore.InTx(ctx, fn)
}
