package booking

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OpenBookings lists a prison's active bookings whose room is open at now.
func (q sqlQueries) OpenBookings(ctx context.Context, prisonID int64, now time.Time) ([]Booking, error) {
	return q.bookingsWhere(ctx, `b.prison_id = ? AND b.status IN (?, ?) AND b.starts_at <= ? AND b.ends_at > ?`,
		prisonID, string(StatusRequested), string(StatusBooked), unix(now.Add(RoomOpensBefore)), unix(now))
}

// SetSightOnly sets a booking's sight-only supervision and its reason.
func (q sqlQueries) SetSightOnly(ctx context.Context, id int64, on bool, reason string) error {
	return q.execOne(ctx, "booking", id, `UPDATE bookings SET sight_only = ?, sight_only_reason = ? WHERE id = ?`,
		on, reason, id)
}

// recordingColumns are the columns scanRecording reads, of recordings g
// joined with their booking b.
const recordingColumns = `g.id, g.booking_id, g.prison_id, b.reference, b.call_type, g.dir, g.status, g.failure,
	g.manifest_sha256, g.started_at, g.ended_at, g.delete_after, g.hold_reason, g.held_by, g.held_at, g.deleted_at`

// recordingFrom is the FROM clause of recordingColumns.
const recordingFrom = ` FROM recordings g JOIN bookings b ON b.id = g.booking_id`

func scanRecording(sc rowScanner) (Recording, error) {
	var (
		r                        Recording
		started, deleteAfter     int64
		ended, heldAt, deletedAt sql.NullInt64
		heldBy                   sql.NullInt64
	)
	if err := sc.Scan(&r.ID, &r.BookingID, &r.PrisonID, &r.Reference, &r.CallType, &r.Dir, &r.Status, &r.Failure,
		&r.ManifestSHA256, &started, &ended, &deleteAfter, &r.HoldReason, &heldBy, &heldAt, &deletedAt); err != nil {
		return Recording{}, err
	}
	r.StartedAt, r.DeleteAfter, r.HeldBy = fromUnix(started), fromUnix(deleteAfter), heldBy.Int64
	r.EndedAt, r.HeldAt, r.DeletedAt = fromNullUnix(ended), fromNullUnix(heldAt), fromNullUnix(deletedAt)
	return r, nil
}

// nullUnix stores an optional time; the zero time is NULL.
func nullUnix(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: unix(t), Valid: true}
}

// fromNullUnix reads an optional time; NULL is the zero time.
func fromNullUnix(s sql.NullInt64) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return fromUnix(s.Int64)
}

// CreateRecording inserts a recording.
func (q sqlQueries) CreateRecording(ctx context.Context, r Recording) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO recordings (booking_id, prison_id, dir, status, failure, manifest_sha256, started_at, ended_at,
			delete_after, hold_reason, held_by, held_at, deleted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.BookingID, r.PrisonID, r.Dir, string(r.Status), r.Failure, r.ManifestSHA256, unix(r.StartedAt),
		nullUnix(r.EndedAt), unix(r.DeleteAfter), r.HoldReason, nullID(r.HeldBy), nullUnix(r.HeldAt),
		nullUnix(r.DeletedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create recording of booking %d: %w", r.BookingID, q.writeErr(err))
	}
	return id, nil
}

// lockRecording is what ends a query of recordings to lock them: inside
// InTx, where the dialect needs it.
func (q sqlQueries) lockRecording() string {
	if q.tx {
		return q.d.lockRecording
	}
	return ""
}

// Recording reads one recording; inside InTx it stays locked until the
// transaction ends.
func (q sqlQueries) Recording(ctx context.Context, id int64) (Recording, error) {
	r, err := scanRecording(q.queryRow(ctx, `SELECT `+recordingColumns+recordingFrom+` WHERE g.id = ?`+q.lockRecording(), id))
	if err != nil {
		return Recording{}, notFound(err, "recording", id)
	}
	return r, nil
}

// RecordingOfBooking reads the recording of a booking; inside InTx it
// stays locked until the transaction ends.
func (q sqlQueries) RecordingOfBooking(ctx context.Context, bookingID int64) (Recording, error) {
	r, err := scanRecording(q.queryRow(ctx, `SELECT `+recordingColumns+recordingFrom+` WHERE g.booking_id = ?`+
		q.lockRecording(), bookingID))
	if err != nil {
		return Recording{}, notFound(err, "recording of booking", bookingID)
	}
	return r, nil
}

// Recordings lists a prison's recordings started in [from, to).
func (q sqlQueries) Recordings(ctx context.Context, prisonID int64, from, to time.Time) ([]Recording, error) {
	return q.recordingsWhere(ctx, `g.prison_id = ? AND g.started_at >= ? AND g.started_at < ? ORDER BY g.started_at, g.id`,
		prisonID, unix(from), unix(to))
}

// DueRecordings lists the recordings retention should delete at now.
func (q sqlQueries) DueRecordings(ctx context.Context, now time.Time, limit int) ([]Recording, error) {
	return q.recordingsWhere(ctx, `g.status <> ? AND g.held_at IS NULL AND g.delete_after <= ?
		ORDER BY g.delete_after, g.id LIMIT ?`, string(RecordingStatusDeleted), unix(now), limit)
}

// recordingsWhere lists the recordings (alias g, booking b) meeting cond,
// which also orders them.
func (q sqlQueries) recordingsWhere(ctx context.Context, cond string, args ...any) ([]Recording, error) {
	rows, err := q.query(ctx, `SELECT `+recordingColumns+recordingFrom+` WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	defer rows.Close()
	out := []Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("scan recording: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	return out, nil
}

// UpdateRecording stores the changeable fields of r.
func (q sqlQueries) UpdateRecording(ctx context.Context, r Recording) error {
	return q.execOne(ctx, "recording", r.ID, `
		UPDATE recordings SET status = ?, failure = ?, manifest_sha256 = ?, ended_at = ?, delete_after = ?,
			hold_reason = ?, held_by = ?, held_at = ?, deleted_at = ?
		WHERE id = ?`,
		string(r.Status), r.Failure, r.ManifestSHA256, nullUnix(r.EndedAt), unix(r.DeleteAfter), r.HoldReason,
		nullID(r.HeldBy), nullUnix(r.HeldAt), nullUnix(r.DeletedAt), r.ID)
}

// SetRetention recomputes the deletion date of a prison's recordings.
func (q sqlQueries) SetRetention(ctx context.Context, prisonID int64, keep time.Duration) error {
	_, err := q.exec(ctx, `
		UPDATE recordings SET delete_after = COALESCE(ended_at, started_at) + ?
		WHERE prison_id = ? AND status <> ?`,
		int64(keep/time.Second), prisonID, string(RecordingStatusDeleted))
	if err != nil {
		return fmt.Errorf("set retention of the recordings of prison %d: %w", prisonID, err)
	}
	return nil
}

// AddStaffAction records an action taken on a call.
func (q sqlQueries) AddStaffAction(ctx context.Context, a StaffActionRecord) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO staff_actions (booking_id, at, staff_id, action, participant_id, reason)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		a.BookingID, unix(a.At), a.StaffID, a.Action, a.ParticipantID, a.Reason).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record %s on booking %d: %w", a.Action, a.BookingID, q.writeErr(err))
	}
	return id, nil
}

// StaffActions lists the actions taken on a booking's call, by time.
func (q sqlQueries) StaffActions(ctx context.Context, bookingID int64) ([]StaffActionRecord, error) {
	rows, err := q.query(ctx, `
		SELECT a.id, a.booking_id, a.at, a.staff_id, s.name, a.action, a.participant_id, a.reason
		FROM staff_actions a JOIN staff s ON s.id = a.staff_id
		WHERE a.booking_id = ? ORDER BY a.at, a.id`, bookingID)
	if err != nil {
		return nil, fmt.Errorf("staff actions of booking %d: %w", bookingID, err)
	}
	defer rows.Close()
	out := []StaffActionRecord{}
	for rows.Next() {
		var (
			a  StaffActionRecord
			at int64
		)
		if err := rows.Scan(&a.ID, &a.BookingID, &at, &a.StaffID, &a.StaffName, &a.Action, &a.ParticipantID,
			&a.Reason); err != nil {
			return nil, fmt.Errorf("scan staff action: %w", err)
		}
		a.At = fromUnix(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("staff actions of booking %d: %w", bookingID, err)
	}
	return out, nil
}
