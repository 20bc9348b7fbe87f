package booking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

const auditColumns = `id, at, actor, action, subject, detail, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (AuditEntry, error) {
	var (
		e      AuditEntry
		at     int64
		detail string
	)
	if err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &detail, &e.PrevHash, &e.Hash); err != nil {
		return AuditEntry{}, err
	}
	e.At, e.Detail = fromUnix(at), []byte(detail)
	return e, nil
}

// LastAudit returns the newest audit entry, or ErrNotFound. Inside InTx it
// also holds the chain head until the transaction ends, where the dialect
// needs a lock for that (PostgreSQL), so that the entry appended next is the
// only one to follow it.
func (q sqlQueries) LastAudit(ctx context.Context) (AuditEntry, error) {
	query := `SELECT ` + auditColumns + ` FROM audit_log ORDER BY id DESC LIMIT 1`
	if q.tx {
		query = q.d.lastAuditTx
	}
	e, err := scanAudit(q.queryRow(ctx, query))
	if err != nil {
		return AuditEntry{}, notFound(err, "audit entry", "last")
	}
	return e, nil
}

// ChainAudit appends e to the chain inside InTx: where the dialect hashes
// in SQL (PostgreSQL) with one statement, sent with the commit when the
// transaction runs its own BEGIN and COMMIT; else by reading the head
// (which locks it, where needed), hashing and inserting.
func (q sqlQueries) ChainAudit(ctx context.Context, e AuditEntry) error {
	if !q.tx {
		return fmt.Errorf("append audit %s %s: %w", e.Action, e.Subject, errNotInTx)
	}
	if q.d.chainAudit != "" {
		// The canonical JSON of e with id 0 is `{"id":0` and then the
		// tail, which the database appends to `{"id":<id>`.
		e.ID = 0
		canon, err := auditCanonicalJSON(e)
		if err != nil {
			return err
		}
		tail, ok := bytes.CutPrefix(canon, []byte(`{"id":0`))
		if !ok {
			return fmt.Errorf("canonical audit entry %q does not start with its id", canon)
		}
		args := []any{unix(e.At), e.Actor, e.Action, e.Subject, string(e.Detail), tail}
		if q.lazy != nil {
			err = q.lazy.deferAudit(ctx, q.d.bind(q.d.chainAudit), args...)
		} else {
			_, err = q.exec(ctx, q.d.chainAudit, args...)
		}
		if err != nil {
			return fmt.Errorf("append audit %s %s: %w", e.Action, e.Subject, q.writeErr(err))
		}
		return nil
	}
	e.ID, e.PrevHash = 1, auditGenesis
	last, err := q.LastAudit(ctx)
	switch {
	case err == nil:
		e.ID, e.PrevHash = last.ID+1, last.Hash
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if e.Hash, err = auditHash(e.PrevHash, e); err != nil {
		return err
	}
	return q.AppendAudit(ctx, e)
}

// AppendAudit inserts an entry exactly as given (id and hashes included).
func (q sqlQueries) AppendAudit(ctx context.Context, e AuditEntry) error {
	_, err := q.exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, unix(e.At), e.Actor, e.Action, e.Subject, string(e.Detail), e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append audit %s %s: %w", e.Action, e.Subject, q.writeErr(err))
	}
	return nil
}

// AuditEntries returns up to limit entries after afterID, oldest first.
func (q sqlQueries) AuditEntries(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error) {
	rows, err := q.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`,
		afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("scan audit entry: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
