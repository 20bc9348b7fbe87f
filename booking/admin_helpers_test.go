package booking

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"
)

// tableCounts counts the rows of every table of e's store (found from the
// database's catalogue, so that new tables are counted too).
func (e *env) tableCounts() map[string]int {
	e.t.Helper()
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if e.store.d.name == "postgres" {
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	}
	rows, err := e.store.db.QueryContext(e.ctx, query)
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			e.t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, name := range tables {
		var n int
		if err := e.store.db.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// sameCounts reports the tables whose counts differ.
func sameCounts(before, after map[string]int) []string {
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if before[k] != after[k] {
			diff = append(diff, k)
		}
	}
	return diff
}

// session opens a session for st directly in the store (no bcrypt, so
// tests may open many) and returns its token and CSRF token.
func (e *env) session(st Staff) (string, string) {
	e.t.Helper()
	token, csrf := newSecret(), newSecret()
	now := e.clock.Now()
	if err := e.store.CreateSession(e.ctx, Session{TokenHash: hashToken(token), StaffID: st.ID, CSRFToken: csrf,
		CreatedAt: now, ExpiresAt: now.Add(SessionTTL), LastSeenAt: now}); err != nil {
		e.t.Fatal(err)
	}
	return token, csrf
}

// staff reads a staff account by username.
func (e *env) staff(username string) Staff {
	e.t.Helper()
	st, err := e.store.StaffByUsername(e.ctx, username)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// auditSince returns the audit entries after id, oldest first.
func (e *env) auditSince(id int64) []AuditEntry {
	e.t.Helper()
	list, err := e.store.AuditEntries(e.ctx, id, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// lastAuditID is the newest audit entry's id (0 for none).
func (e *env) lastAuditID() int64 {
	e.t.Helper()
	last, err := e.store.LastAudit(e.ctx)
	if err != nil {
		return 0
	}
	return last.ID
}

// auditChangeDetail decodes an administrative audit entry's detail.
type auditChangeDetail struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

func decodeChange(t *testing.T, e AuditEntry) (map[string]any, map[string]any) {
	t.Helper()
	var d auditChangeDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatalf("audit detail %s: %v", e.Detail, err)
	}
	var before, after map[string]any
	if string(d.Before) != "null" {
		if err := json.Unmarshal(d.Before, &before); err != nil {
			t.Fatalf("before %s: %v", d.Before, err)
		}
	}
	if string(d.After) != "null" {
		if err := json.Unmarshal(d.After, &after); err != nil {
			t.Fatalf("after %s: %v", d.After, err)
		}
	}
	return before, after
}

// day parses a civil date.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
