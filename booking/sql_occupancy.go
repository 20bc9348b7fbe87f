package booking

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SlotOccupancy reads, in one round trip, what the capacity and
// non-association rules need of one slot at now, for one prisoner.
func (q sqlQueries) SlotOccupancy(ctx context.Context, slotID string, prisonerID int64, now time.Time) (Occupancy, error) {
	booked, requested := string(StatusBooked), string(StatusRequested)
	at := unix(now)
	var o Occupancy
	err := q.queryRow(ctx, `
		SELECT
			(SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status IN (?, ?)),
			(SELECT COUNT(*) FROM holds WHERE slot_id = ? AND expires_at > ? AND prisoner_id <> ?),
			(SELECT COUNT(*) FROM holds WHERE slot_id = ? AND expires_at > ? AND prisoner_id = ?),
			(SELECT COUNT(*) FROM non_associations n
				WHERE (n.prisoner_a = ? OR n.prisoner_b = ?)
				AND (EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = ? AND b.status IN (?, ?)
						AND b.prisoner_id IN (n.prisoner_a, n.prisoner_b) AND b.prisoner_id <> ?)
					OR EXISTS (SELECT 1 FROM holds h WHERE h.slot_id = ? AND h.expires_at > ?
						AND h.prisoner_id IN (n.prisoner_a, n.prisoner_b) AND h.prisoner_id <> ?)))`,
		slotID, requested, booked,
		slotID, at, prisonerID,
		slotID, at, prisonerID,
		prisonerID, prisonerID, slotID, requested, booked, prisonerID, slotID, at, prisonerID,
	).Scan(&o.Booked, &o.Held, &o.OwnHolds, &o.NonAssociated)
	if err != nil {
		return Occupancy{}, fmt.Errorf("read occupancy of slot %s: %w", slotID, err)
	}
	return o, nil
}

// SocialMinutes sums the minutes of a prisoner's social bookings that use
// the allowance and start in [from, to).
func (q sqlQueries) SocialMinutes(ctx context.Context, prisonerID int64, from, to time.Time) (int, error) {
	args := []any{prisonerID, string(CallSocial), unix(from), unix(to)}
	for _, st := range allowanceStatuses() {
		args = append(args, string(st))
	}
	var seconds int64
	err := q.queryRow(ctx, `
		SELECT CAST(COALESCE(SUM(ends_at - starts_at), 0) AS BIGINT) FROM bookings
		WHERE prisoner_id = ? AND call_type = ? AND starts_at >= ? AND starts_at < ?
			AND status IN (`+placeholders(len(allowanceStatuses()))+`)`, args...).Scan(&seconds)
	if err != nil {
		return 0, fmt.Errorf("sum allowance of prisoner %d: %w", prisonerID, err)
	}
	return int(seconds / 60), nil
}

// placeholders returns n comma-separated placeholders, for an IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
