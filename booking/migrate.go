package booking

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the schema history of each dialect, in
// migrations/<dialect>/. Both histories have the same version numbers and
// build the same logical schema; a change to the schema is one new
// migration in each.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrate brings db up to the newest schema of dialect d with goose.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	fsys, err := fs.Sub(migrationFiles, "migrations/"+d.migrations)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if d.goose == goose.DialectPostgres {
		// Several processes may start on one database at once: they take
		// turns, through a session-level advisory lock.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}
