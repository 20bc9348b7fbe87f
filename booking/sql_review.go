package booking

import (
	"context"
	"fmt"
	"math"
	"time"
)

// ChangeBookingStatus moves a booking from one status to another.
func (q sqlQueries) ChangeBookingStatus(ctx context.Context, id int64, from, to Status, reason string, rebookOffered bool) error {
	res, err := q.exec(ctx, `
		UPDATE bookings SET status = ?, status_reason = ?, rebook_offered = ? WHERE id = ? AND status = ?`,
		string(to), reason, rebookOffered, id, string(from))
	if err != nil {
		return fmt.Errorf("set status of booking %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("set status of booking %d: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	var status Status
	if err := q.queryRow(ctx, `SELECT status FROM bookings WHERE id = ?`, id).Scan(&status); err != nil {
		return notFound(err, "booking", id)
	}
	return refuse(ErrInvalidTransition, "booking %d is %s, not %s", id, status, from)
}

// SetBookingReview sets or clears a booking's review flag.
func (q sqlQueries) SetBookingReview(ctx context.Context, id int64, needsReview bool, reason string) error {
	res, err := q.exec(ctx, `UPDATE bookings SET needs_review = ?, review_reason = ? WHERE id = ?`,
		needsReview, reason, id)
	if err != nil {
		return fmt.Errorf("set review of booking %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set review of booking %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("booking %d: %w", id, ErrNotFound)
	}
	return nil
}

// PrisonerBookings lists a prisoner's active bookings ending after t.
func (q sqlQueries) PrisonerBookings(ctx context.Context, prisonerID int64, t time.Time) ([]Booking, error) {
	rows, err := q.query(ctx, `SELECT `+q.bookingColumns()+`
		FROM bookings b JOIN rooms r ON r.id = b.room_id
		WHERE b.prisoner_id = ? AND b.status IN (?, ?) AND b.ends_at > ?
		ORDER BY b.starts_at, b.id`, prisonerID, string(StatusRequested), string(StatusBooked), unix(t))
	if err != nil {
		return nil, fmt.Errorf("list bookings of prisoner %d: %w", prisonerID, err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("list bookings of prisoner %d: %w", prisonerID, err)
	}
	if out == nil {
		out = []Booking{}
	}
	return out, nil
}

// ReviewQueue lists a prison's active bookings flagged for review.
func (q sqlQueries) ReviewQueue(ctx context.Context, prisonID int64, from, to time.Time) ([]Booking, error) {
	lo, hi := unix(from), unix(to)
	if from.IsZero() {
		lo = math.MinInt64
	}
	if to.IsZero() {
		hi = math.MaxInt64
	}
	return q.bookingsWhere(ctx, `b.prison_id = ? AND b.needs_review = ? AND b.status IN (?, ?)
		AND b.starts_at >= ? AND b.starts_at < ?`,
		prisonID, true, string(StatusRequested), string(StatusBooked), lo, hi)
}

// MovePrisoner sets a prisoner's prison and status.
func (q sqlQueries) MovePrisoner(ctx context.Context, prisonerID, prisonID int64, st PrisonerStatus) error {
	res, err := q.exec(ctx, `UPDATE prisoners SET prison_id = ?, status = ? WHERE id = ?`,
		prisonID, string(st), prisonerID)
	if err != nil {
		return fmt.Errorf("move prisoner %d: %w", prisonerID, q.writeErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("move prisoner %d: %w", prisonerID, err)
	} else if n == 0 {
		return fmt.Errorf("prisoner %d: %w", prisonerID, ErrNotFound)
	}
	return nil
}

// LockPrisoner takes the prisoner lock of LockBooking alone, until the
// transaction ends. See RulesQueries.
func (q sqlQueries) LockPrisoner(ctx context.Context, prisonerID int64) error {
	if !q.tx {
		return fmt.Errorf("lock prisoner %d: %w", prisonerID, errNotInTx)
	}
	if q.d.lockPrisoner == "" {
		return nil
	}
	if _, err := q.exec(ctx, q.d.lockPrisoner, prisonerID); err != nil {
		return fmt.Errorf("lock prisoner %d: %w", prisonerID, err)
	}
	return nil
}
