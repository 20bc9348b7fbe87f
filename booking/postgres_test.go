package booking

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking/storetest"
)

// PostgreSQL-only behaviour of the store; what both stores share is in
// store_contract_test.go.

func TestNumberPlaceholders(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`SELECT ?`:                            `SELECT $1`,
		`a = ? AND b IN (?, ?)`:               `a = $1 AND b IN ($2, $3)`,
		`x = '?' AND y = ?`:                   `x = '?' AND y = $1`,
		`x = 'it''s ?' AND "a?b" = ?`:         `x = 'it''s ?' AND "a?b" = $1`,
		"-- what?\nSELECT ?":                  "-- what?\nSELECT $1",
		`SELECT 1`:                            `SELECT 1`,
		`? ? ? ? ? ? ? ? ? ? ?`:               `$1 $2 $3 $4 $5 $6 $7 $8 $9 $10 $11`,
		`unterminated '?`:                     `unterminated '?`,
		`CAST(? AS TEXT) || 'a' || CAST(? AS`: `CAST($1 AS TEXT) || 'a' || CAST($2 AS`,
	} {
		if got := numberPlaceholders(in); got != want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPostgresOpen: a bad URL is refused without echoing it, the pool size
// parameter is read, stores opened at once on a new database migrate it
// once, and a reopened store keeps its data.
func TestPostgresOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	if _, err := OpenPostgres(ctx, "postgres://user:s3cret@[bad"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: %v", err)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, bad := range []string{"0", "-1", "many"} {
		if _, err := OpenPostgres(ctx, url+sep+"pool_max_conns="+bad); err == nil {
			t.Errorf("pool_max_conns=%s accepted", bad)
		}
	}

	stores := make([]*PostgresStore, 4)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := OpenPostgres(ctx, url+sep+"pool_max_conns=3")
			if err != nil {
				t.Error(err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.FailNow()
		}
	}
	if got := stores[0].db.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("pool size %d, want 3", got)
	}
	if _, err := stores[1].CreatePrison(ctx, Prison{Code: "PGO", Name: "HMP Open"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.db.Stats().MaxOpenConnections; got != defaultPGPoolSize() {
		t.Errorf("default pool size %d, want %d", got, defaultPGPoolSize())
	}
	if ps, err := s.Prisons(ctx); err != nil || len(ps) != 1 {
		t.Fatalf("prisons after reopening: %v %v", ps, err)
	}
	var migrations int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	if want := len(mustGlob(t, "migrations/postgres/*.sql")); migrations != want {
		t.Errorf("%d migrations applied, want %d (once each)", migrations, want)
	}
}

// TestPostgresCommitCarriesTheAuditAppend: an audit append sent with the
// commit that fails takes the transaction's other writes with it and
// leaves the connection usable; a transaction that only appends works too.
func TestPostgresCommitCarriesTheAuditAppend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestPostgres(t)
	err := s.InTx(ctx, func(q Queries) error {
		if err := q.LockBooking(ctx, "1-20261123-0900", 1); err != nil {
			return err
		}
		if _, err := q.CreatePrison(ctx, Prison{Code: "BAD", Name: "rolled back"}); err != nil {
			return err
		}
		// PostgreSQL text cannot hold a NUL: the append fails at commit.
		return appendAudit(ctx, q, time.Now(), "staff:\x00", "test", "x", map[string]any{})
	})
	if err == nil {
		t.Fatal("an audit entry PostgreSQL cannot store was committed")
	}
	for range defaultPGPoolSize() + 1 { // every pooled connection is usable
		if ps, err := s.Prisons(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("after a failed commit: prisons %v %v", ps, err)
		}
	}
	for i := range 3 {
		err := s.InTx(ctx, func(q Queries) error {
			return appendAudit(ctx, q, time.Now(), "system", "test", "only", map[string]any{"i": i})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InTx(ctx, func(q Queries) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(q Queries) error {
		// Two appends in one transaction, with a read between them.
		if err := appendAudit(ctx, q, time.Now(), "system", "test", "first", map[string]any{}); err != nil {
			return err
		}
		if _, err := q.Prisons(ctx); err != nil {
			return err
		}
		if err := appendAudit(ctx, q, time.Now(), "system", "test", "second", map[string]any{}); err != nil {
			return err
		}
		return appendAudit(ctx, q, time.Now(), "system", "test", "third", map[string]any{})
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := VerifyAudit(ctx, s); err != nil || n != 6 {
		t.Fatalf("audit chain: %d %v", n, err)
	}
	last, err := s.LastAudit(ctx)
	if err != nil || last.Subject != "third" {
		t.Fatalf("last entry %+v %v", last, err)
	}
}

// TestPostgresDeadlockRetried: two transactions that lock two prisoners in
// opposite orders deadlock; PostgreSQL aborts one, InTx runs it again, and
// both succeed.
func TestPostgresDeadlockRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTestPostgres(t)
	var (
		runs    atomic.Int32
		ready   sync.WaitGroup
		wg      sync.WaitGroup
		prisons = [2]string{"AAA", "BBB"}
	)
	ready.Add(2)
	for i := range 2 {
		wg.Go(func() {
			first := true
			err := s.InTx(ctx, func(q Queries) error {
				runs.Add(1)
				a, b := int64(1+i), int64(2-i)
				if err := q.LockPrisoner(ctx, a); err != nil {
					return err
				}
				if first { // both hold their first lock before taking the second
					first = false
					ready.Done()
					ready.Wait()
				}
				if err := q.LockPrisoner(ctx, b); err != nil {
					return err
				}
				_, err := q.CreatePrison(ctx, Prison{Code: prisons[i], Name: "HMP " + prisons[i]})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ps, err := s.Prisons(ctx); err != nil || len(ps) != 2 {
		t.Fatalf("prisons %v %v", ps, err)
	}
	if got := runs.Load(); got != 3 {
		t.Errorf("fn ran %d times, want 3 (one retry after the deadlock)", got)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	names, err := fs.Glob(migrationFiles, pattern)
	if err != nil || len(names) == 0 {
		t.Fatalf("%s: %v %v", pattern, names, err)
	}
	return names
}
