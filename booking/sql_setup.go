package booking

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// templateExclusions is the column of templateColumns that lists a
// template's excluded dates, comma-separated (NULL for none): those of the
// template, of its room and of its whole prison, within its validity.
// string_agg is in PostgreSQL and in SQLite since 3.44.
const templateExclusions = `(SELECT string_agg(e.date, ',') FROM excluded_dates e
	WHERE e.prison_id = t.prison_id AND (e.room_id IS NULL OR e.room_id = t.room_id)
		AND (e.template_id IS NULL OR e.template_id = t.id)
		AND e.date >= t.valid_from AND (t.valid_to IS NULL OR e.date <= t.valid_to))`

// parseExcludedDates reads templateExclusions, sorted and without
// duplicates (a date may be excluded at more than one level).
func parseExcludedDates(s sql.NullString) ([]time.Time, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	parts := strings.Split(s.String, ",")
	sort.Strings(parts)
	out := make([]time.Time, 0, len(parts))
	for i, p := range parts {
		if i > 0 && p == parts[i-1] {
			continue
		}
		d, err := parseStoredDate(sql.NullString{String: p, Valid: true})
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// execOne runs a write that must touch exactly one row: none wraps
// ErrNotFound naming what and id.
func (q sqlQueries) execOne(ctx context.Context, what string, id any, query string, args ...any) error {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("write %s %v: %w", what, id, q.writeErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("write %s %v: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %v: %w", what, id, ErrNotFound)
	}
	return nil
}

// UpdatePrison sets a prison's name and time zone.
func (q sqlQueries) UpdatePrison(ctx context.Context, p Prison) error {
	return q.execOne(ctx, "prison", p.ID, `UPDATE prisons SET name = ?, timezone = ? WHERE id = ?`,
		p.Name, p.Timezone, p.ID)
}

// Room reads one room.
func (q sqlQueries) Room(ctx context.Context, id int64) (Room, error) {
	var r Room
	err := q.queryRow(ctx, `SELECT id, prison_id, name FROM rooms WHERE id = ?`, id).Scan(&r.ID, &r.PrisonID, &r.Name)
	if err != nil {
		return Room{}, notFound(err, "room", id)
	}
	return r, nil
}

// Rooms lists a prison's rooms by name.
func (q sqlQueries) Rooms(ctx context.Context, prisonID int64) ([]Room, error) {
	rows, err := q.query(ctx, `SELECT id, prison_id, name FROM rooms WHERE prison_id = ? ORDER BY name, id`, prisonID)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	out := []Room{}
	for rows.Next() {
		var r Room
		if err := rows.Scan(&r.ID, &r.PrisonID, &r.Name); err != nil {
			return nil, fmt.Errorf("scan room: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	return out, nil
}

// UpdateRoom renames a room.
func (q sqlQueries) UpdateRoom(ctx context.Context, r Room) error {
	return q.execOne(ctx, "room", r.ID, `UPDATE rooms SET name = ? WHERE id = ?`, r.Name, r.ID)
}

// RoomUse counts a room's templates and bookings.
func (q sqlQueries) RoomUse(ctx context.Context, id int64) (int, int, error) {
	var templates, bookings int
	err := q.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM slot_templates WHERE room_id = ?),
		(SELECT COUNT(*) FROM bookings WHERE room_id = ?)`, id, id).Scan(&templates, &bookings)
	if err != nil {
		return 0, 0, fmt.Errorf("use of room %d: %w", id, err)
	}
	return templates, bookings, nil
}

// DeleteRoom deletes a room; its excluded dates go with it.
func (q sqlQueries) DeleteRoom(ctx context.Context, id int64) error {
	return q.execOne(ctx, "room", id, `DELETE FROM rooms WHERE id = ?`, id)
}

// UpdateSlotTemplate sets a template's capacity, call types and ValidTo.
func (q sqlQueries) UpdateSlotTemplate(ctx context.Context, t SlotTemplate) error {
	types := make([]string, len(t.CallTypes))
	for i, c := range t.CallTypes {
		types[i] = string(c)
	}
	return q.execOne(ctx, "slot template", t.ID,
		`UPDATE slot_templates SET capacity = ?, call_types = ?, valid_to = ? WHERE id = ?`,
		t.Capacity, strings.Join(types, ","), dateText(t.ValidTo), t.ID)
}

// TemplateBookings counts a template's bookings, whatever their status.
func (q sqlQueries) TemplateBookings(ctx context.Context, id int64) (int, error) {
	var n int
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM bookings WHERE template_id = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("bookings of slot template %d: %w", id, err)
	}
	return n, nil
}

// DeleteSlotTemplate deletes a template; its excluded dates go with it.
func (q sqlQueries) DeleteSlotTemplate(ctx context.Context, id int64) error {
	return q.execOne(ctx, "slot template", id, `DELETE FROM slot_templates WHERE id = ?`, id)
}

// CreateExcludedDate inserts an excluded date.
func (q sqlQueries) CreateExcludedDate(ctx context.Context, e ExcludedDate) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO excluded_dates (prison_id, room_id, template_id, date, reason)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		e.PrisonID, nullID(e.RoomID), nullID(e.TemplateID), e.Date.Format(dateLayout), e.Reason).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create excluded date %s: %w", e.Date.Format(dateLayout), q.writeErr(err))
	}
	return id, nil
}

const excludedColumns = `id, prison_id, room_id, template_id, date, reason`

func scanExcluded(sc interface{ Scan(...any) error }) (ExcludedDate, error) {
	var (
		e              ExcludedDate
		room, template sql.NullInt64
		date           string
	)
	if err := sc.Scan(&e.ID, &e.PrisonID, &room, &template, &date, &e.Reason); err != nil {
		return ExcludedDate{}, err
	}
	e.RoomID, e.TemplateID = room.Int64, template.Int64
	var err error
	if e.Date, err = parseStoredDate(sql.NullString{String: date, Valid: true}); err != nil {
		return ExcludedDate{}, err
	}
	return e, nil
}

// ExcludedDate reads one excluded date.
func (q sqlQueries) ExcludedDate(ctx context.Context, id int64) (ExcludedDate, error) {
	e, err := scanExcluded(q.queryRow(ctx, `SELECT `+excludedColumns+` FROM excluded_dates WHERE id = ?`, id))
	if err != nil {
		return ExcludedDate{}, notFound(err, "excluded date", id)
	}
	return e, nil
}

// ExcludedDates lists a prison's excluded dates by date.
func (q sqlQueries) ExcludedDates(ctx context.Context, prisonID int64) ([]ExcludedDate, error) {
	rows, err := q.query(ctx, `SELECT `+excludedColumns+` FROM excluded_dates WHERE prison_id = ?
		ORDER BY date, id`, prisonID)
	if err != nil {
		return nil, fmt.Errorf("list excluded dates: %w", err)
	}
	defer rows.Close()
	out := []ExcludedDate{}
	for rows.Next() {
		e, err := scanExcluded(rows)
		if err != nil {
			return nil, fmt.Errorf("scan excluded date: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list excluded dates: %w", err)
	}
	return out, nil
}

// DeleteExcludedDate deletes an excluded date.
func (q sqlQueries) DeleteExcludedDate(ctx context.Context, id int64) error {
	return q.execOne(ctx, "excluded date", id, `DELETE FROM excluded_dates WHERE id = ?`, id)
}
