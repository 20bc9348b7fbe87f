package booking

import (
	"context"
	"database/sql"
	"fmt"
)

// CreatePrisoner inserts a prisoner; an empty Status becomes active.
func (q sqlQueries) CreatePrisoner(ctx context.Context, p Prisoner) (int64, error) {
	if p.Status == "" {
		p.Status = PrisonerActive
	}
	var id int64
	err := q.queryRow(ctx,
		`INSERT INTO prisoners (prison_id, number, name, status, location, one_way_video) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		p.PrisonID, p.Number, p.Name, string(p.Status), p.Location, p.OneWayVideo).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create prisoner %s: %w", p.Number, q.writeErr(err))
	}
	return id, nil
}

// prisonerColumns are the columns scanPrisoner reads, of prisoners p.
const prisonerColumns = `p.id, p.prison_id, p.number, p.name, p.status, p.location, p.one_way_video`

// scanPrisoner reads one row of prisonerColumns.
func scanPrisoner(sc rowScanner) (Prisoner, error) {
	var p Prisoner
	err := sc.Scan(&p.ID, &p.PrisonID, &p.Number, &p.Name, &p.Status, &p.Location, &p.OneWayVideo)
	return p, err
}

// Prisoner reads one prisoner.
func (q sqlQueries) Prisoner(ctx context.Context, id int64) (Prisoner, error) {
	p, err := scanPrisoner(q.queryRow(ctx, `SELECT `+prisonerColumns+` FROM prisoners p WHERE p.id = ?`, id))
	if err != nil {
		return Prisoner{}, notFound(err, "prisoner", id)
	}
	return p, nil
}

// Prisoners lists a prison's prisoners by name.
func (q sqlQueries) Prisoners(ctx context.Context, prisonID int64) ([]Prisoner, error) {
	rows, err := q.query(ctx,
		`SELECT `+prisonerColumns+` FROM prisoners p WHERE p.prison_id = ? ORDER BY p.name, p.id`, prisonID)
	if err != nil {
		return nil, fmt.Errorf("list prisoners: %w", err)
	}
	defer rows.Close()
	var out []Prisoner
	for rows.Next() {
		p, err := scanPrisoner(rows)
		if err != nil {
			return nil, fmt.Errorf("scan prisoner: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list prisoners: %w", err)
	}
	return out, nil
}

// CreateContact inserts a contact.
func (q sqlQueries) CreateContact(ctx context.Context, c Contact) (int64, error) {
	var id int64
	err := q.queryRow(ctx,
		`INSERT INTO contacts (name, kind, date_of_birth) VALUES (?, ?, ?) RETURNING id`,
		c.Name, string(c.Kind), dateText(c.DateOfBirth)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create contact: %w", q.writeErr(err))
	}
	return id, nil
}

// LinkContact puts a contact on a prisoner's list, or updates the link.
func (q sqlQueries) LinkContact(ctx context.Context, pc PrisonerContact) error {
	_, err := q.exec(ctx, `
		INSERT INTO prisoner_contacts (prisoner_id, contact_id, relationship, approved, banned)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (prisoner_id, contact_id) DO UPDATE SET
			relationship = excluded.relationship, approved = excluded.approved, banned = excluded.banned`,
		pc.PrisonerID, pc.ID, pc.Relationship, pc.Approved, pc.Banned)
	if err != nil {
		return fmt.Errorf("link contact %d to prisoner %d: %w", pc.ID, pc.PrisonerID, q.writeErr(err))
	}
	return nil
}

// PrisonerContacts lists the contacts on a prisoner's list, by name.
func (q sqlQueries) PrisonerContacts(ctx context.Context, prisonerID int64) ([]PrisonerContact, error) {
	rows, err := q.query(ctx, `
		SELECT pc.prisoner_id, c.id, c.name, c.kind, c.date_of_birth, pc.relationship, pc.approved, pc.banned
		FROM prisoner_contacts pc JOIN contacts c ON c.id = pc.contact_id
		WHERE pc.prisoner_id = ? ORDER BY c.name, c.id`, prisonerID)
	if err != nil {
		return nil, fmt.Errorf("list contacts of prisoner %d: %w", prisonerID, err)
	}
	defer rows.Close()
	var out []PrisonerContact
	for rows.Next() {
		var (
			pc  PrisonerContact
			dob sql.NullString
		)
		if err := rows.Scan(&pc.PrisonerID, &pc.ID, &pc.Name, &pc.Kind, &dob, &pc.Relationship,
			&pc.Approved, &pc.Banned); err != nil {
			return nil, fmt.Errorf("scan contact: %w", err)
		}
		if pc.DateOfBirth, err = parseStoredDate(dob); err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contacts of prisoner %d: %w", prisonerID, err)
	}
	return out, nil
}
