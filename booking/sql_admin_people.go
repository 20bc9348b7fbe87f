package booking

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// UpdatePrisoner sets a prisoner's name, location and one-way video policy.
func (q sqlQueries) UpdatePrisoner(ctx context.Context, p Prisoner) error {
	return q.execOne(ctx, "prisoner", p.ID, `UPDATE prisoners SET name = ?, location = ?, one_way_video = ? WHERE id = ?`,
		p.Name, p.Location, p.OneWayVideo, p.ID)
}

// Contact reads one contact.
func (q sqlQueries) Contact(ctx context.Context, id int64) (Contact, error) {
	var (
		c   Contact
		dob sql.NullString
	)
	err := q.queryRow(ctx, `SELECT id, name, kind, date_of_birth FROM contacts WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.Kind, &dob)
	if err != nil {
		return Contact{}, notFound(err, "contact", id)
	}
	if c.DateOfBirth, err = parseStoredDate(dob); err != nil {
		return Contact{}, err
	}
	return c, nil
}

// PrisonerContact reads one contact on one prisoner's list.
func (q sqlQueries) PrisonerContact(ctx context.Context, prisonerID, contactID int64) (PrisonerContact, error) {
	var (
		pc  PrisonerContact
		dob sql.NullString
	)
	err := q.queryRow(ctx, `
		SELECT pc.prisoner_id, c.id, c.name, c.kind, c.date_of_birth, pc.relationship, pc.approved, pc.banned
		FROM prisoner_contacts pc JOIN contacts c ON c.id = pc.contact_id
		WHERE pc.prisoner_id = ? AND pc.contact_id = ?`, prisonerID, contactID).
		Scan(&pc.PrisonerID, &pc.ID, &pc.Name, &pc.Kind, &dob, &pc.Relationship, &pc.Approved, &pc.Banned)
	if err != nil {
		return PrisonerContact{}, notFound(err, "contact of prisoner", fmt.Sprintf("%d/%d", prisonerID, contactID))
	}
	if pc.DateOfBirth, err = parseStoredDate(dob); err != nil {
		return PrisonerContact{}, err
	}
	return pc, nil
}

// AllStaff lists every staff account by username.
func (q sqlQueries) AllStaff(ctx context.Context) ([]Staff, error) {
	rows, err := q.query(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	out := []Staff{}
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("scan staff: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return out, nil
}

// UpdateStaff sets an account's name, role, prison, disabled flag and
// permission to download recordings.
func (q sqlQueries) UpdateStaff(ctx context.Context, s Staff) error {
	return q.execOne(ctx, "staff", s.ID, `UPDATE staff SET name = ?, role = ?, prison_id = ?, disabled = ?,
		download_recordings = ? WHERE id = ?`,
		s.Name, string(s.Role), nullID(s.PrisonID), s.Disabled, s.DownloadRecordings, s.ID)
}

// DeleteStaffSessions ends every session of a staff member.
func (q sqlQueries) DeleteStaffSessions(ctx context.Context, staffID int64) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE staff_id = ?`, staffID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of staff %d: %w", staffID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete sessions of staff %d: %w", staffID, err)
	}
	return n, nil
}

// TouchSession records that a session was used at at (never moving its
// last use back).
func (q sqlQueries) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`,
		unix(at), tokenHash, unix(at))
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// lastSeen is the last use of a session being stored: its creation when
// not set.
func lastSeen(s Session) time.Time {
	if s.LastSeenAt.IsZero() {
		return s.CreatedAt
	}
	return s.LastSeenAt
}
