package app

import (
	"context"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/sfu"
)

// Media returns the process's media server (for tests that go at it
// directly, as any code in the process could).
func (a *App) Media() *sfu.SFU { return a.media }

// AuditEntries returns up to limit audit entries after afterID, oldest
// first.
func (a *App) AuditEntries(ctx context.Context, afterID int64, limit int) ([]booking.AuditEntry, error) {
	return a.store.AuditEntries(ctx, afterID, limit)
}

// RecordingsDir is where the media server writes recordings.
func (a *App) RecordingsDir() string { return a.cfg.recordingsDir() }
