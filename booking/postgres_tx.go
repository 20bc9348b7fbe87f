package booking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx is an InTx transaction on PostgreSQL that sends BEGIN and COMMIT
// itself, each in the same round trip as the statement next to it:
//
//   - BEGIN goes with the transaction's first lock (LockBooking,
//     LockPrisoner), which the booking rules take before anything else;
//   - the audit append (ChainAudit) waits and goes with COMMIT, so the
//     audit chain head is locked, appended to and released inside one
//     round trip, and every other transaction waits for it only as long
//     as the server takes to run the append and commit (not a network
//     round trip, nor the application's work).
//
// A booking then costs two round trips fewer, and the one lock every
// writer shares is held for the shortest time possible. The combined
// messages use PostgreSQL's simple query protocol (several statements in
// one message, parameters quoted by pgx); every other statement runs as
// usual, prepared and cached, on the same connection.
type pgTx struct {
	conn    *sql.Conn
	begun   bool
	pending *pgStatement // the audit append to send with COMMIT
}

type pgStatement struct {
	sql  string
	args []any
}

// pgBegin starts the transactions of InTx: READ COMMITTED, so that each
// statement sees what was committed before it began (what the advisory
// locks rely on).
const pgBegin = "BEGIN ISOLATION LEVEL READ COMMITTED"

func newPGTx(conn *sql.Conn) lazyTx { return &pgTx{conn: conn} }

// simple sends statements (separated by ;) in one message, with args
// quoted into $n placeholders by pgx.
func (t *pgTx) simple(ctx context.Context, statements []string, args []any) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres transaction on a %T connection", dc)
		}
		_, err := c.Conn().Exec(ctx, strings.Join(statements, "; "),
			append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		return err
	})
}

func (t *pgTx) before(ctx context.Context) error {
	if !t.begun {
		t.begun = true
		if err := t.simple(ctx, []string{pgBegin}, nil); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
	}
	if p := t.pending; p != nil {
		t.pending = nil
		if _, err := t.conn.ExecContext(ctx, p.sql, p.args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *pgTx) lock(ctx context.Context, query string, args ...any) error {
	if t.begun {
		if err := t.before(ctx); err != nil {
			return err
		}
		_, err := t.conn.ExecContext(ctx, query, args...)
		return err
	}
	t.begun = true
	return t.simple(ctx, []string{pgBegin, query}, args)
}

func (t *pgTx) deferAudit(ctx context.Context, query string, args ...any) error {
	// An append already waiting goes first, keeping the chain in order.
	if t.pending != nil {
		if err := t.before(ctx); err != nil {
			return err
		}
	}
	t.pending = &pgStatement{sql: query, args: args}
	return nil
}

func (t *pgTx) commit(ctx context.Context) error {
	var statements []string
	if !t.begun {
		if t.pending == nil {
			return nil // nothing was read or written
		}
		statements = append(statements, pgBegin)
	}
	var args []any
	if p := t.pending; p != nil {
		statements = append(statements, p.sql)
		args = p.args
	}
	t.begun, t.pending = true, nil
	// When the append fails, PostgreSQL skips the COMMIT after it in the
	// message and the transaction stays open, failed: the caller rolls it
	// back.
	if err := t.simple(ctx, append(statements, "COMMIT"), args); err != nil {
		return err
	}
	t.begun = false
	return nil
}

func (t *pgTx) rollback(ctx context.Context) error {
	t.pending = nil
	if !t.begun {
		return nil
	}
	t.begun = false
	return t.simple(ctx, []string{"ROLLBACK"}, nil)
}
