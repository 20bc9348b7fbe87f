package booking

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// caseloadRequest is the body of POST /api/v1/staff/{id}/caseload.
type caseloadRequest struct {
	PrisonerID int64 `json:"prisonerId"`
}

// caseload lists a probation officer's caseload: for admins, and for the
// officer themself.
func (s *Service) caseload(ctx context.Context, actor Staff, staffID int64) ([]Prisoner, error) {
	if !actor.canAdminister() && actor.ID != staffID {
		return nil, refuse(ErrForbidden, "only administrators and the officer may see a caseload")
	}
	if _, err := s.staffOf(ctx, staffID); err != nil {
		return nil, err
	}
	return s.store.Caseload(ctx, staffID)
}

// addToCaseload puts a prisoner on a probation officer's caseload (admins
// only). The prisoner must be held at the officer's prison.
func (s *Service) addToCaseload(ctx context.Context, actor Staff, staffID int64, req caseloadRequest) (Prisoner, error) {
	if err := requireAdmin(actor); err != nil {
		return Prisoner{}, err
	}
	if req.PrisonerID <= 0 {
		return Prisoner{}, refuse(ErrValidation, "prisonerId must be a positive id")
	}
	var p Prisoner
	err := s.adminTx(ctx, actor, "caseload.add", func(q Queries, now time.Time) error {
		officer, err := q.StaffByID(ctx, staffID)
		if err != nil {
			return err
		}
		if officer.Role != StaffProbation {
			return refuse(ErrNotProbation, "%s is a %s, not a probation officer", officer.Username, officer.Role)
		}
		if p, err = q.Prisoner(ctx, req.PrisonerID); errors.Is(err, ErrNotFound) {
			return refuse(ErrPrisonerNotFound, "there is no prisoner %d", req.PrisonerID)
		} else if err != nil {
			return err
		}
		if p.PrisonID != officer.PrisonID {
			return refuse(ErrPrisonerNotAtPrison, "%s (%s) is not held at %s's prison", p.Name, p.Number, officer.Username)
		}
		if err := q.AddToCaseload(ctx, staffID, p.ID); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "caseload.add", caseloadSubject(staffID, p.ID), nil,
			map[string]any{"staffId": staffID, "prisonerId": p.ID})
	})
	return p, err
}

// removeFromCaseload takes a prisoner off a caseload (admins only).
func (s *Service) removeFromCaseload(ctx context.Context, actor Staff, staffID, prisonerID int64) error {
	return s.adminTx(ctx, actor, "caseload.remove", func(q Queries, now time.Time) error {
		if err := q.RemoveFromCaseload(ctx, staffID, prisonerID); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "caseload.remove", caseloadSubject(staffID, prisonerID),
			map[string]any{"staffId": staffID, "prisonerId": prisonerID}, nil)
	})
}

func caseloadSubject(staffID, prisonerID int64) string {
	return fmt.Sprintf("caseload:%d:%d", staffID, prisonerID)
}
