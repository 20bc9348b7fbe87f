package booking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Prisons lists every prison by id.
func (q sqlQueries) Prisons(ctx context.Context) ([]Prison, error) {
	rows, err := q.query(ctx, `SELECT id, code, name, timezone FROM prisons ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list prisons: %w", err)
	}
	defer rows.Close()
	var out []Prison
	for rows.Next() {
		var p Prison
		if err := rows.Scan(&p.ID, &p.Code, &p.Name, &p.Timezone); err != nil {
			return nil, fmt.Errorf("scan prison: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list prisons: %w", err)
	}
	return out, nil
}

// Prison reads one prison.
func (q sqlQueries) Prison(ctx context.Context, id int64) (Prison, error) {
	var p Prison
	err := q.queryRow(ctx, `SELECT id, code, name, timezone FROM prisons WHERE id = ?`, id).
		Scan(&p.ID, &p.Code, &p.Name, &p.Timezone)
	if err != nil {
		return Prison{}, notFound(err, "prison", id)
	}
	return p, nil
}

// CreatePrison inserts a prison; an empty Timezone becomes DefaultTimezone.
func (q sqlQueries) CreatePrison(ctx context.Context, p Prison) (int64, error) {
	if p.Timezone == "" {
		p.Timezone = DefaultTimezone
	}
	var id int64
	err := q.queryRow(ctx,
		`INSERT INTO prisons (code, name, timezone) VALUES (?, ?, ?) RETURNING id`,
		p.Code, p.Name, p.Timezone).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create prison %s: %w", p.Code, q.writeErr(err))
	}
	return id, nil
}

// CreateRoom inserts a room.
func (q sqlQueries) CreateRoom(ctx context.Context, r Room) (int64, error) {
	var id int64
	err := q.queryRow(ctx,
		`INSERT INTO rooms (prison_id, name) VALUES (?, ?) RETURNING id`, r.PrisonID, r.Name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create room %q: %w", r.Name, q.writeErr(err))
	}
	return id, nil
}

// CreateSlotTemplate inserts a slot template. Its prison is taken from its
// room. (The casts give PostgreSQL the parameters' types, which a SELECT
// list does not.)
func (q sqlQueries) CreateSlotTemplate(ctx context.Context, t SlotTemplate) (int64, error) {
	types := make([]string, len(t.CallTypes))
	for i, c := range t.CallTypes {
		types[i] = string(c)
	}
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO slot_templates (prison_id, room_id, weekday, start_minute, end_minute,
			slot_minutes, capacity, call_types, valid_from, valid_to, repeat_weeks)
		SELECT prison_id, id, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER),
			CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER)
		FROM rooms WHERE id = ?
		RETURNING id`,
		int(t.Weekday), t.StartMinute, t.EndMinute, t.SlotMinutes, t.Capacity,
		strings.Join(types, ","), t.ValidFrom.Format(dateLayout), dateText(t.ValidTo), max(1, t.RepeatWeeks),
		t.RoomID).Scan(&id)
	if err != nil {
		return 0, notFound(err, "room", t.RoomID)
	}
	return id, nil
}

// templateColumns ends with the template's repeat and its excluded dates
// (see templateExclusions).
const templateColumns = `t.id, t.prison_id, t.room_id, r.name, t.weekday, t.start_minute, t.end_minute,
	t.slot_minutes, t.capacity, t.call_types, t.valid_from, t.valid_to, t.repeat_weeks, ` + templateExclusions

func scanTemplate(sc interface{ Scan(...any) error }) (SlotTemplate, error) {
	var (
		t        SlotTemplate
		weekday  int
		types    string
		from, to sql.NullString
		excluded sql.NullString
	)
	if err := sc.Scan(&t.ID, &t.PrisonID, &t.RoomID, &t.RoomName, &weekday, &t.StartMinute, &t.EndMinute,
		&t.SlotMinutes, &t.Capacity, &types, &from, &to, &t.RepeatWeeks, &excluded); err != nil {
		return SlotTemplate{}, err
	}
	t.Weekday = time.Weekday(weekday)
	for _, c := range strings.Split(types, ",") {
		if c != "" {
			t.CallTypes = append(t.CallTypes, CallType(c))
		}
	}
	var err error
	if t.ValidFrom, err = parseStoredDate(from); err != nil {
		return SlotTemplate{}, err
	}
	if t.ValidTo, err = parseStoredDate(to); err != nil {
		return SlotTemplate{}, err
	}
	if t.ExcludedDates, err = parseExcludedDates(excluded); err != nil {
		return SlotTemplate{}, err
	}
	return t, nil
}

// SlotTemplate reads one template with its room name.
func (q sqlQueries) SlotTemplate(ctx context.Context, id int64) (SlotTemplate, error) {
	row := q.queryRow(ctx, `SELECT `+templateColumns+`
		FROM slot_templates t JOIN rooms r ON r.id = t.room_id WHERE t.id = ?`, id)
	t, err := scanTemplate(row)
	if err != nil {
		return SlotTemplate{}, notFound(err, "slot template", id)
	}
	return t, nil
}

// SlotTemplates lists a prison's templates with their room names.
func (q sqlQueries) SlotTemplates(ctx context.Context, prisonID int64) ([]SlotTemplate, error) {
	rows, err := q.query(ctx, `SELECT `+templateColumns+`
		FROM slot_templates t JOIN rooms r ON r.id = t.room_id WHERE t.prison_id = ? ORDER BY t.id`, prisonID)
	if err != nil {
		return nil, fmt.Errorf("list slot templates: %w", err)
	}
	defer rows.Close()
	var out []SlotTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("scan slot template: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list slot templates: %w", err)
	}
	return out, nil
}
