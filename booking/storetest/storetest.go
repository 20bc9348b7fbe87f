// Package storetest gives tests a real PostgreSQL database of their own.
//
// The test command (make test, or scripts/with-services.sh CMD) starts a
// throwaway PostgreSQL server on loopback and names it in
// GATEHOUSE_TEST_DATABASE_URL. PostgresURL creates a fresh, empty database
// on that server for one test and drops it when the test ends, so tests
// never see each other's rows and may run in parallel.
//
// Without the variable, PostgreSQL tests are skipped, except under CI=true,
// where a missing server is a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvDatabaseURL names the environment variable holding the URL of the test
// server, as a postgres:// URL whose database the tests may create
// databases from (typically postgres://postgres@127.0.0.1:PORT/postgres).
const EnvDatabaseURL = "GATEHOUSE_TEST_DATABASE_URL"

// ServerURL returns the test server's URL from the environment. When it is
// not set, it skips tb, or fails it when CI=true.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvDatabaseURL)
	if u != "" {
		return u
	}
	msg := EnvDatabaseURL + " is not set, so there is no PostgreSQL server to test against; " +
		"run `make test`, or ./scripts/with-services.sh go test ..., which start one"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// PostgresURL creates a new, empty database on the test server and returns
// its URL. The database is dropped when tb ends, after tb's later Cleanup
// functions (so stores opened on it may close first).
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL", EnvDatabaseURL)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := admin(ctx, server, `CREATE DATABASE `+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends sessions a failed test may have left open.
		if err := admin(ctx, server, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's own database.
func admin(ctx context.Context, server, stmt string) error {
	db, err := sql.Open("pgx", server)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(stmt)[0]+" "+strings.Fields(stmt)[1], err)
	}
	return nil
}
