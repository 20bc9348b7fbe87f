package booking

import (
	"context"
	"fmt"
	"log/slog"
)

// PrisonSettings returns the settings of a prison for an admin. Anyone
// else is refused with ErrForbidden, or told the prison does not exist
// when they cannot see it; a missing prison wraps ErrNotFound.
func (s *Service) PrisonSettings(ctx context.Context, actor Staff, prisonID int64) (Settings, error) {
	if err := settingsAccess(actor, prisonID); err != nil {
		return Settings{}, err
	}
	if _, err := s.store.Prison(ctx, prisonID); err != nil {
		return Settings{}, err
	}
	set, err := s.store.PrisonSettings(ctx, prisonID)
	if err != nil {
		return Settings{}, wrapUnlessRefused(err, "read settings")
	}
	return set, nil
}

// SetPrisonSettings replaces the settings of a prison, for an admin, after
// checking every field's bounds, and audits the change with the settings
// before and after. A new retention applies to the prison's recordings
// already made too. It returns the settings now in force.
func (s *Service) SetPrisonSettings(ctx context.Context, actor Staff, prisonID int64, set Settings) (Settings, error) {
	if err := settingsAccess(actor, prisonID); err != nil {
		return Settings{}, err
	}
	if err := set.validate(); err != nil {
		return Settings{}, err
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error {
		if _, err := q.Prison(ctx, prisonID); err != nil {
			return err
		}
		before, err := q.PrisonSettings(ctx, prisonID)
		if err != nil {
			return err
		}
		if err := q.SetPrisonSettings(ctx, prisonID, set, actor.ID, now); err != nil {
			return err
		}
		if set.RecordingRetentionDays != before.RecordingRetentionDays {
			if err := q.SetRetention(ctx, prisonID, set.retention()); err != nil {
				return err
			}
		}
		return appendAudit(ctx, q, now, staffActor(actor), "prison.settings", fmt.Sprintf("prison:%d", prisonID),
			map[string]any{"before": before, "after": set})
	})
	if err != nil {
		return Settings{}, wrapUnlessRefused(err, "store settings")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "prison settings changed", slog.Int64("prison_id", prisonID),
		slog.Int64("staff_id", actor.ID))
	return set, nil
}

// settingsAccess lets admins through; staff who cannot see the prison are
// told there is none, the others are refused.
func settingsAccess(actor Staff, prisonID int64) error {
	if !actor.canSeePrison(prisonID) {
		return errNoPrison(prisonID)
	}
	if actor.Role != StaffAdmin {
		return refuse(ErrForbidden, "only an admin may read or change a prison's settings")
	}
	return nil
}

// errNoPrison is the error of a prison that does not exist or that the
// caller cannot see.
func errNoPrison(id int64) error { return fmt.Errorf("prison %d: %w", id, ErrNotFound) }
