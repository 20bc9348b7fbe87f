package booking

import (
	"context"
	"fmt"
)

// AddToCaseload puts a prisoner on a staff member's caseload.
func (q sqlQueries) AddToCaseload(ctx context.Context, staffID, prisonerID int64) error {
	_, err := q.exec(ctx, `INSERT INTO caseloads (staff_id, prisoner_id) VALUES (?, ?)`, staffID, prisonerID)
	if err != nil {
		return fmt.Errorf("add prisoner %d to the caseload of staff %d: %w", prisonerID, staffID, q.writeErr(err))
	}
	return nil
}

// RemoveFromCaseload takes a prisoner off a staff member's caseload.
func (q sqlQueries) RemoveFromCaseload(ctx context.Context, staffID, prisonerID int64) error {
	return q.execOne(ctx, "caseload entry", fmt.Sprintf("%d/%d", staffID, prisonerID),
		`DELETE FROM caseloads WHERE staff_id = ? AND prisoner_id = ?`, staffID, prisonerID)
}

// Caseload lists a staff member's caseload by prisoner name.
func (q sqlQueries) Caseload(ctx context.Context, staffID int64) ([]Prisoner, error) {
	rows, err := q.query(ctx, `
		SELECT `+prisonerColumns+`
		FROM caseloads c JOIN prisoners p ON p.id = c.prisoner_id
		WHERE c.staff_id = ? ORDER BY p.name, p.id`, staffID)
	if err != nil {
		return nil, fmt.Errorf("caseload of staff %d: %w", staffID, err)
	}
	defer rows.Close()
	out := []Prisoner{}
	for rows.Next() {
		p, err := scanPrisoner(rows)
		if err != nil {
			return nil, fmt.Errorf("scan prisoner: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("caseload of staff %d: %w", staffID, err)
	}
	return out, nil
}

// OnCaseload reports whether a prisoner is on a staff member's caseload.
func (q sqlQueries) OnCaseload(ctx context.Context, staffID, prisonerID int64) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM caseloads WHERE staff_id = ? AND prisoner_id = ?`,
		staffID, prisonerID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("caseload of staff %d: %w", staffID, err)
	}
	return n > 0, nil
}
