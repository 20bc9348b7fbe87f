package booking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// bookingInsert inserts one booking and returns its id.
const bookingInsert = `INSERT INTO bookings (reference, prison_id, room_id, template_id, slot_id, prisoner_id,
		call_type, status, starts_at, ends_at, created_by, created_at, status_reason,
		override_capacity, override_allowance, override_reason, rebook_offered, needs_review, review_reason)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// bookingArgs are the parameters of bookingInsert.
func bookingArgs(b Booking) []any {
	return []any{b.Reference, b.PrisonID, b.RoomID, b.TemplateID, b.SlotID, b.PrisonerID, string(b.CallType),
		string(b.Status), unix(b.StartsAt), unix(b.EndsAt), b.CreatedBy, unix(b.CreatedAt), b.StatusReason,
		b.Override != nil && b.Override.Capacity, b.Override != nil && b.Override.Allowance, b.Override.reason(),
		b.RebookOffered, b.NeedsReview, b.ReviewReason}
}

// CreateBooking inserts a booking and its participants, in order: in one
// statement where the dialect lets a WITH clause insert (PostgreSQL: one
// round trip), else in two.
func (q sqlQueries) CreateBooking(ctx context.Context, b Booking) (int64, error) {
	if q.d.writableCTE && len(b.Participants) > 0 {
		return q.createBookingOneStatement(ctx, b)
	}
	var id int64
	if err := q.queryRow(ctx, bookingInsert, bookingArgs(b)...).Scan(&id); err != nil {
		return 0, fmt.Errorf("insert booking %s: %w", b.Reference, q.writeErr(err))
	}
	if len(b.Participants) == 0 {
		return id, nil
	}
	// One statement for every participant: one round trip, not one each.
	var sb strings.Builder
	sb.WriteString(`INSERT INTO booking_participants (id, booking_id, position, role, name, contact_id, prisoner_id) VALUES `)
	args := make([]any, 0, 7*len(b.Participants))
	for i, p := range b.Participants {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, p.ID, id, i, string(p.Role), p.Name, nullID(p.ContactID), nullID(p.PrisonerID))
	}
	if _, err := q.exec(ctx, sb.String(), args...); err != nil {
		return 0, fmt.Errorf("insert participants of booking %d: %w", id, q.writeErr(err))
	}
	return id, nil
}

// createBookingOneStatement inserts the booking and its participants with
// one statement. (The casts give PostgreSQL the types of parameters in a
// VALUES list that is not itself inserted.)
func (q sqlQueries) createBookingOneStatement(ctx context.Context, b Booking) (int64, error) {
	var sb strings.Builder
	sb.WriteString(`WITH b AS (` + bookingInsert + `), p AS (
		INSERT INTO booking_participants (id, booking_id, position, role, name, contact_id, prisoner_id)
		SELECT v.id, b.id, v.position, v.role, v.name, v.contact_id, v.prisoner_id
		FROM b, (VALUES `)
	args := bookingArgs(b)
	for i, p := range b.Participants {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT))")
		args = append(args, p.ID, i, string(p.Role), p.Name, nullID(p.ContactID), nullID(p.PrisonerID))
	}
	sb.WriteString(`) AS v (id, position, role, name, contact_id, prisoner_id))
	SELECT id FROM b`)
	var id int64
	if err := q.queryRow(ctx, sb.String(), args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("insert booking %s: %w", b.Reference, q.writeErr(err))
	}
	return id, nil
}

// bookingColumns are the columns scanBooking reads, of bookings b joined
// with their room r. The last two are worked out from the prison's settings
// (whether the call is recorded) and the prisoner (the one-way video
// policy) as they are now.
func (q sqlQueries) bookingColumns() string {
	return `b.id, b.reference, b.prison_id, b.room_id, r.name, b.template_id, b.slot_id, b.prisoner_id,
	b.call_type, b.status, b.starts_at, b.ends_at, b.created_by, b.created_at, b.status_reason,
	b.override_capacity, b.override_allowance, b.override_reason, b.rebook_offered, b.needs_review, b.review_reason,
	b.sight_only, b.sight_only_reason,
	(b.call_type = 'social' OR (b.call_type = 'probation' AND ` + q.d.recordsProbation + `)),
	(SELECT pr.one_way_video FROM prisoners pr WHERE pr.id = b.prisoner_id)`
}

func scanBooking(sc interface{ Scan(...any) error }) (Booking, error) {
	var (
		b                      Booking
		starts, ends, creation int64
		over                   Override
	)
	if err := sc.Scan(&b.ID, &b.Reference, &b.PrisonID, &b.RoomID, &b.RoomName, &b.TemplateID, &b.SlotID,
		&b.PrisonerID, &b.CallType, &b.Status, &starts, &ends, &b.CreatedBy, &creation, &b.StatusReason,
		&over.Capacity, &over.Allowance, &over.Reason, &b.RebookOffered, &b.NeedsReview, &b.ReviewReason,
		&b.SightOnly, &b.SightOnlyReason, &b.Recorded, &b.OneWayVideo); err != nil {
		return Booking{}, err
	}
	b.StartsAt, b.EndsAt, b.CreatedAt = fromUnix(starts), fromUnix(ends), fromUnix(creation)
	if over.Capacity || over.Allowance {
		b.Override = &over
	}
	b.Participants = []Participant{}
	return b, nil
}

const participantColumns = `p.booking_id, p.id, p.role, p.name, p.contact_id, p.prisoner_id`

// scanParticipants reads rows of participantColumns, ordered by booking and
// position, and calls add for each.
func scanParticipants(rows *sql.Rows, add func(bookingID int64, p Participant)) error {
	defer rows.Close()
	for rows.Next() {
		var (
			bid               int64
			p                 Participant
			contact, prisoner sql.NullInt64
		)
		if err := rows.Scan(&bid, &p.ID, &p.Role, &p.Name, &contact, &prisoner); err != nil {
			return fmt.Errorf("scan participant: %w", err)
		}
		p.ContactID, p.PrisonerID = contact.Int64, prisoner.Int64
		add(bid, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read participants: %w", err)
	}
	return nil
}

// scanBookings reads and closes rows of bookingColumns.
func scanBookings(rows *sql.Rows) ([]Booking, error) {
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Booking reads one booking with its participants.
func (q sqlQueries) Booking(ctx context.Context, id int64) (Booking, error) {
	b, err := scanBooking(q.queryRow(ctx, `SELECT `+q.bookingColumns()+`
		FROM bookings b JOIN rooms r ON r.id = b.room_id WHERE b.id = ?`, id))
	if err != nil {
		return Booking{}, notFound(err, "booking", id)
	}
	rows, err := q.query(ctx, `SELECT `+participantColumns+`
		FROM booking_participants p WHERE p.booking_id = ? ORDER BY p.position`, id)
	if err != nil {
		return Booking{}, fmt.Errorf("read participants of booking %d: %w", id, err)
	}
	err = scanParticipants(rows, func(_ int64, p Participant) { b.Participants = append(b.Participants, p) })
	if err != nil {
		return Booking{}, err
	}
	return b, nil
}

// Bookings lists a prison's bookings starting in [from, to), with their
// participants, by start time.
func (q sqlQueries) Bookings(ctx context.Context, prisonID int64, from, to time.Time) ([]Booking, error) {
	return q.bookingsWhere(ctx, `b.prison_id = ? AND b.starts_at >= ? AND b.starts_at < ?`,
		prisonID, unix(from), unix(to))
}

// bookingsWhere lists the bookings (alias b) meeting cond, with their
// participants, by start time.
func (q sqlQueries) bookingsWhere(ctx context.Context, cond string, args ...any) ([]Booking, error) {
	rows, err := q.query(ctx, `SELECT `+q.bookingColumns()+`
		FROM bookings b JOIN rooms r ON r.id = b.room_id
		WHERE `+cond+`
		ORDER BY b.starts_at, b.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	out, err := scanBookings(rows)
	if err != nil {
		return nil, fmt.Errorf("list bookings: %w", err)
	}
	index := make(map[int64]int, len(out))
	for i, b := range out {
		index[b.ID] = i
	}
	if len(out) == 0 {
		return []Booking{}, nil
	}
	prows, err := q.query(ctx, `SELECT `+participantColumns+`
		FROM booking_participants p JOIN bookings b ON b.id = p.booking_id
		WHERE `+cond+`
		ORDER BY p.booking_id, p.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	err = scanParticipants(prows, func(bid int64, p Participant) {
		if i, ok := index[bid]; ok {
			out[i].Participants = append(out[i].Participants, p)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ActiveCounts counts active bookings per slot id among a prison's bookings
// starting in [from, to).
func (q sqlQueries) ActiveCounts(ctx context.Context, prisonID int64, from, to time.Time) (map[string]int, error) {
	rows, err := q.query(ctx, `
		SELECT slot_id, COUNT(*) FROM bookings
		WHERE prison_id = ? AND starts_at >= ? AND starts_at < ? AND status IN (?, ?)
		GROUP BY slot_id`, prisonID, unix(from), unix(to), string(StatusRequested), string(StatusBooked))
	if err != nil {
		return nil, fmt.Errorf("count bookings per slot: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			slot string
			n    int
		)
		if err := rows.Scan(&slot, &n); err != nil {
			return nil, fmt.Errorf("count bookings per slot: %w", err)
		}
		out[slot] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count bookings per slot: %w", err)
	}
	return out, nil
}

// ActiveInSlot counts the active bookings of one slot.
func (q sqlQueries) ActiveInSlot(ctx context.Context, slotID string) (int, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status IN (?, ?)`,
		slotID, string(StatusRequested), string(StatusBooked)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count bookings of slot %s: %w", slotID, err)
	}
	return n, nil
}

// PrisonerBusy reports whether the prisoner has an active booking
// overlapping [start, end).
func (q sqlQueries) PrisonerBusy(ctx context.Context, prisonerID int64, start, end time.Time) (bool, error) {
	var n int
	err := q.queryRow(ctx, `
		SELECT COUNT(*) FROM bookings
		WHERE prisoner_id = ? AND status IN (?, ?) AND starts_at < ? AND ends_at > ?`,
		prisonerID, string(StatusRequested), string(StatusBooked), unix(end), unix(start)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check bookings of prisoner %d: %w", prisonerID, err)
	}
	return n > 0, nil
}

// ReferenceTaken reports whether a booking already has reference ref.
func (q sqlQueries) ReferenceTaken(ctx context.Context, ref string) (bool, error) {
	var n int
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM bookings WHERE reference = ?`, ref).Scan(&n); err != nil {
		return false, fmt.Errorf("check reference: %w", err)
	}
	return n > 0, nil
}

// SetBookingStatus moves an active booking to st with a reason.
func (q sqlQueries) SetBookingStatus(ctx context.Context, id int64, st Status, reason string) error {
	res, err := q.exec(ctx, `
		UPDATE bookings SET status = ?, status_reason = ? WHERE id = ? AND status IN (?, ?)`,
		string(st), reason, id, string(StatusRequested), string(StatusBooked))
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
	err = q.queryRow(ctx, `SELECT status FROM bookings WHERE id = ?`, id).Scan(&status)
	if err != nil {
		return notFound(err, "booking", id)
	}
	return refuse(ErrNotActive, "booking %d is %s, not active", id, status)
}
