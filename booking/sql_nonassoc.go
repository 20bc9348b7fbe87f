package booking

import (
	"context"
	"fmt"
	"time"
)

// orderedPair returns a and b smallest first, as non_associations stores
// them.
func orderedPair(a, b int64) (int64, int64) {
	if a > b {
		return b, a
	}
	return a, b
}

// AddNonAssociation stores a symmetric pair once.
func (q sqlQueries) AddNonAssociation(ctx context.Context, n NonAssociation) error {
	a, b := orderedPair(n.PrisonerID, n.OtherPrisonerID)
	_, err := q.exec(ctx, `
		INSERT INTO non_associations (prisoner_a, prisoner_b, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		a, b, n.Reason, n.CreatedBy, unix(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("add non-association of prisoners %d and %d: %w", a, b, q.writeErr(err))
	}
	return nil
}

// RemoveNonAssociation removes a pair.
func (q sqlQueries) RemoveNonAssociation(ctx context.Context, a, b int64) error {
	a, b = orderedPair(a, b)
	res, err := q.exec(ctx, `DELETE FROM non_associations WHERE prisoner_a = ? AND prisoner_b = ?`, a, b)
	if err != nil {
		return fmt.Errorf("remove non-association of prisoners %d and %d: %w", a, b, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove non-association of prisoners %d and %d: %w", a, b, err)
	} else if n == 0 {
		return fmt.Errorf("non-association of prisoners %d and %d: %w", a, b, ErrNotFound)
	}
	return nil
}

// NonAssociations lists a prisoner's pairs, from that prisoner's side.
func (q sqlQueries) NonAssociations(ctx context.Context, prisonerID int64) ([]NonAssociation, error) {
	rows, err := q.query(ctx, `
		SELECT CASE WHEN prisoner_a = ? THEN prisoner_b ELSE prisoner_a END AS other, reason, created_by, created_at
		FROM non_associations WHERE prisoner_a = ? OR prisoner_b = ? ORDER BY other`,
		prisonerID, prisonerID, prisonerID)
	if err != nil {
		return nil, fmt.Errorf("list non-associations of prisoner %d: %w", prisonerID, err)
	}
	defer rows.Close()
	out := []NonAssociation{}
	for rows.Next() {
		n := NonAssociation{PrisonerID: prisonerID}
		var at int64
		if err := rows.Scan(&n.OtherPrisonerID, &n.Reason, &n.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("scan non-association: %w", err)
		}
		n.CreatedAt = fromUnix(at)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list non-associations of prisoner %d: %w", prisonerID, err)
	}
	return out, nil
}

// SharedSlotBookings finds the active bookings of a and b, ending after t,
// that share a slot with an active booking of the other.
func (q sqlQueries) SharedSlotBookings(ctx context.Context, a, b int64, t time.Time) ([]int64, error) {
	booked, requested := string(StatusBooked), string(StatusRequested)
	rows, err := q.query(ctx, `
		SELECT x.id FROM bookings x
		WHERE x.prisoner_id IN (?, ?) AND x.status IN (?, ?) AND x.ends_at > ?
			AND EXISTS (SELECT 1 FROM bookings y
				WHERE y.slot_id = x.slot_id AND y.prisoner_id IN (?, ?) AND y.prisoner_id <> x.prisoner_id
				AND y.status IN (?, ?))
		ORDER BY x.id`,
		a, b, requested, booked, unix(t), a, b, requested, booked)
	if err != nil {
		return nil, fmt.Errorf("find shared slots of prisoners %d and %d: %w", a, b, err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan booking id: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find shared slots of prisoners %d and %d: %w", a, b, err)
	}
	return out, nil
}
