package booking

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PrisonSettings reads a prison's settings over the defaults; a prison
// with none stored has Defaults().
func (q sqlQueries) PrisonSettings(ctx context.Context, prisonID int64) (Settings, error) {
	var raw string
	err := q.queryRow(ctx, `SELECT settings FROM prison_settings WHERE prison_id = ?`, prisonID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return Defaults(), nil
	} else if err != nil {
		return Settings{}, fmt.Errorf("read settings of prison %d: %w", prisonID, err)
	}
	s, err := decodeSettings(raw)
	if err != nil {
		return Settings{}, fmt.Errorf("settings of prison %d: %w", prisonID, err)
	}
	return s, nil
}

// SetPrisonSettings stores a prison's settings, replacing any.
func (q sqlQueries) SetPrisonSettings(ctx context.Context, prisonID int64, s Settings, by int64, at time.Time) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	_, err = q.exec(ctx, `
		INSERT INTO prison_settings (prison_id, settings, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (prison_id) DO UPDATE SET
			settings = excluded.settings, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		prisonID, string(raw), unix(at), nullID(by))
	if err != nil {
		return fmt.Errorf("store settings of prison %d: %w", prisonID, q.writeErr(err))
	}
	return nil
}
