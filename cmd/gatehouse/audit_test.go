package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/booking/storetest"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/clock"
)

// auditEntries is how many entries the tests write.
const auditEntries = 20

// fillAudit appends auditEntries entries to the store's log through the
// service, and closes the store.
func fillAudit(t *testing.T, store booking.Store) {
	t.Helper()
	ctx := context.Background()
	signer, err := auth.NewJoinSigner([]byte("0123456789abcdef0123456789abcdef-audit-test"), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	svc := booking.NewService(store, signer, nil, nil, nil, booking.Config{})
	for i := range auditEntries {
		if err := svc.Audit(ctx, "system", "test.entry", fmt.Sprintf("thing:%d", i), map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// verify runs `gatehouse audit verify args...` with env and returns its
// status and output.
func verify(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runAudit(append([]string{"verify"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// tamper runs statements on the database behind the application's back.
func tamper(t *testing.T, driver, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// checkVerify checks an intact log, then one edited row, then a removed
// row, through run (which verifies the store) and edit (which changes it
// directly).
func checkVerify(t *testing.T, run func() (int, string, string), edit func(stmts ...string), unguard []string) {
	t.Helper()
	if code, out, errOut := run(); code != 0 || out != fmt.Sprintf("audit log intact: %d entries\n", auditEntries) {
		t.Fatalf("intact log: exit %d, %q %q", code, out, errOut)
	}
	edit(append(unguard, `UPDATE audit_log SET detail = '{"i":700}' WHERE id = 7`)...)
	if code, out, _ := run(); code != 1 || out != "audit log broken at entry 7: hash does not match its content\n" {
		t.Fatalf("edited entry: exit %d, %q", code, out)
	}
	// Put the content back and remove a later entry: the gap is named.
	edit(`UPDATE audit_log SET detail = '{"i":6}' WHERE id = 7`, `DELETE FROM audit_log WHERE id = 12`)
	if code, out, _ := run(); code != 1 || out != "audit log broken at entry 12: entry is missing (the log goes from entry 11 to entry 13)\n" {
		t.Fatalf("removed entry: exit %d, %q", code, out)
	}
}

// TestAuditVerifySQLite: the embedded store in --data-dir (or
// GATEHOUSE_DATA_DIR), as the server finds it.
func TestAuditVerifySQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := app.Config{DataDir: dir}.SQLitePath()
	store, err := booking.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	fillAudit(t, store)
	byEnv := func() (int, string, string) { return verify(t, map[string]string{"GATEHOUSE_DATA_DIR": dir}) }
	if code, out, _ := byEnv(); code != 0 || out != "audit log intact: 20 entries\n" {
		t.Fatalf("GATEHOUSE_DATA_DIR: exit %d %q", code, out)
	}
	checkVerify(t, func() (int, string, string) { return verify(t, nil, "--data-dir", dir) },
		func(stmts ...string) { tamper(t, "sqlite", path, stmts...) },
		[]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`})
}

// TestAuditVerifyPostgres: the PostgreSQL store of --database-url (or
// GATEHOUSE_DATABASE_URL).
func TestAuditVerifyPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	store, err := booking.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	fillAudit(t, store)
	if code, out, _ := verify(t, nil, "--database-url", url); code != 0 || out != "audit log intact: 20 entries\n" {
		t.Fatalf("--database-url: exit %d %q", code, out)
	}
	checkVerify(t, func() (int, string, string) { return verify(t, map[string]string{"GATEHOUSE_DATABASE_URL": url}) },
		func(stmts ...string) { tamper(t, "pgx", url, stmts...) },
		[]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`})
}

// TestAuditVerifyUsage: bad usage and a missing store exit 2 and create
// nothing; --help explains.
func TestAuditVerifyUsage(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	for _, args := range [][]string{nil, {"check"}, {"verify", "--bogus"}, {"verify", "extra"},
		{"verify", "--data-dir", empty}, {"verify", "--database-url", "postgres://x@[bad"}} {
		var stdout, stderr bytes.Buffer
		if code := runAudit(args, func(string) string { return "" }, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("verify created %v in an empty data directory", entries)
	}
	code, out, _ := verify(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "gatehouse audit verify") || !strings.Contains(out, "GATEHOUSE_DATABASE_URL") {
		t.Errorf("--help: exit %d %q", code, out)
	}
}

// TestAuditVerifyBinary: the gatehouse binary dispatches `audit verify`.
func TestAuditVerifyBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	store, err := booking.OpenSQLite(context.Background(), app.Config{DataDir: dir}.SQLitePath())
	if err != nil {
		t.Fatal(err)
	}
	fillAudit(t, store)
	out, err := exec.Command(bin, "audit", "verify", "--data-dir", dir).CombinedOutput()
	if err != nil || string(out) != "audit log intact: 20 entries\n" {
		t.Fatalf("gatehouse audit verify: %v %q", err, out)
	}
	tamper(t, "sqlite", app.Config{DataDir: dir}.SQLitePath(), `DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET actor = 'someone' WHERE id = 3`)
	cmd := exec.Command(bin, "audit", "verify", "--data-dir", dir)
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || string(out) != "audit log broken at entry 3: hash does not match its content\n" {
		t.Fatalf("tampered: %v %q", err, out)
	}
}
