package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/app"
)

// Exit statuses of `gatehouse audit verify`.
const (
	auditIntact = 0 // the chain holds
	auditBroken = 1 // the chain is broken: the first broken entry is named
	auditFailed = 2 // the check could not run: bad usage, no store, a store error
)

// auditUsage explains `gatehouse audit`.
const auditUsage = `Usage: gatehouse audit verify [--data-dir DIR | --database-url URL]

Checks the whole hash-chained audit log of the booking store the server
uses (the same flags and GATEHOUSE_* environment variables as the server:
--data-dir for the embedded SQLite store, --database-url or
GATEHOUSE_DATABASE_URL for PostgreSQL) and prints either
  audit log intact: N entries                      (exit 0)
or the first entry that was edited, removed or relinked, e.g.
  audit log broken at entry 17: hash does not match its content   (exit 1).
Exit 2 when the check cannot run. Removing the newest entries leaves a
shorter chain that still holds: compare N with a count noted earlier.
`

// runAudit runs `gatehouse audit ARGS...` and returns the exit status.
func runAudit(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		return auditFailed
	}
	cfg, err := parseConfig(args[1:], getenv, io.Discard)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, auditUsage)
		return auditIntact
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return auditFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := openAuditStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return auditFailed
	}
	defer store.Close()
	n, err := booking.VerifyAudit(ctx, store)
	var brk *booking.AuditBreak
	switch {
	case errors.As(err, &brk):
		fmt.Fprintln(stdout, brk.Error())
		return auditBroken
	case err != nil:
		fmt.Fprintln(stderr, "gatehouse audit verify:", err)
		return auditFailed
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return auditIntact
}

// openAuditStore opens the store the server with cfg uses: PostgreSQL when
// a database URL is set, else the SQLite file in the data directory, which
// must exist (the check never creates an empty store to find it intact).
// Opening a store applies any migrations it lacks, as the server would.
func openAuditStore(ctx context.Context, cfg app.Config) (booking.Store, error) {
	if cfg.DatabaseURL != "" {
		return booking.OpenPostgres(ctx, cfg.DatabaseURL)
	}
	path := cfg.SQLitePath()
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("no store at %s: set --data-dir to the server's data directory, or --database-url", path)
	}
	return booking.OpenSQLite(ctx, path)
}
