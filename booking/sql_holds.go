package booking

import (
	"context"
	"fmt"
	"time"
)

// CreateHold inserts a hold.
func (q sqlQueries) CreateHold(ctx context.Context, h Hold) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO holds (prison_id, slot_id, prisoner_id, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		h.PrisonID, h.SlotID, h.PrisonerID, h.CreatedBy, unix(h.CreatedAt), unix(h.ExpiresAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert hold of slot %s: %w", h.SlotID, q.writeErr(err))
	}
	return id, nil
}

// Hold reads one hold.
func (q sqlQueries) Hold(ctx context.Context, id int64) (Hold, error) {
	var (
		h                Hold
		created, expires int64
	)
	err := q.queryRow(ctx, `
		SELECT id, prison_id, slot_id, prisoner_id, created_by, created_at, expires_at FROM holds WHERE id = ?`, id).
		Scan(&h.ID, &h.PrisonID, &h.SlotID, &h.PrisonerID, &h.CreatedBy, &created, &expires)
	if err != nil {
		return Hold{}, notFound(err, "hold", id)
	}
	h.CreatedAt, h.ExpiresAt = fromUnix(created), fromUnix(expires)
	return h, nil
}

// DeleteHold removes one hold.
func (q sqlQueries) DeleteHold(ctx context.Context, id int64) error {
	res, err := q.exec(ctx, `DELETE FROM holds WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete hold %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete hold %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("hold %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeletePrisonerHolds removes a prisoner's holds on a slot.
func (q sqlQueries) DeletePrisonerHolds(ctx context.Context, slotID string, prisonerID int64) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM holds WHERE slot_id = ? AND prisoner_id = ?`, slotID, prisonerID)
	if err != nil {
		return 0, fmt.Errorf("delete holds of prisoner %d on slot %s: %w", prisonerID, slotID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete holds of prisoner %d on slot %s: %w", prisonerID, slotID, err)
	}
	return n, nil
}

// DeleteExpiredHolds removes the holds expired at now, of one slot or of
// all.
func (q sqlQueries) DeleteExpiredHolds(ctx context.Context, slotID string, now time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM holds WHERE expires_at <= ? AND (slot_id = ? OR CAST(? AS TEXT) = '')`,
		unix(now), slotID, slotID)
	if err != nil {
		return 0, fmt.Errorf("delete expired holds: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired holds: %w", err)
	}
	return n, nil
}

// HeldCounts counts a prison's unexpired holds per slot.
func (q sqlQueries) HeldCounts(ctx context.Context, prisonID int64, now time.Time) (map[string]int, error) {
	rows, err := q.query(ctx, `
		SELECT slot_id, COUNT(*) FROM holds WHERE prison_id = ? AND expires_at > ? GROUP BY slot_id`,
		prisonID, unix(now))
	if err != nil {
		return nil, fmt.Errorf("count holds per slot: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			slot string
			n    int
		)
		if err := rows.Scan(&slot, &n); err != nil {
			return nil, fmt.Errorf("count holds per slot: %w", err)
		}
		out[slot] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count holds per slot: %w", err)
	}
	return out, nil
}
