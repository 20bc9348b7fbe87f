package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// staffRequest is the body of POST /api/v1/staff. PrisonID is required for
// every role but admin.
type staffRequest struct {
	Username string    `json:"username"`
	Name     string    `json:"name"`
	Role     StaffRole `json:"role"`
	PrisonID int64     `json:"prisonId,omitempty"`
	Password string    `json:"password"`
}

// staffUpdate is the body of PUT /api/v1/staff/{id}. DownloadRecordings,
// when sent, gives or takes away a security officer's permission to
// download recordings; left out, it stays as it is (and goes with the
// security role).
type staffUpdate struct {
	Name               string    `json:"name"`
	Role               StaffRole `json:"role"`
	PrisonID           int64     `json:"prisonId,omitempty"`
	DownloadRecordings *bool     `json:"downloadRecordings,omitempty"`
}

// checkStaffTerms validates a staff member's name, role and prison (not
// yet that the prison exists).
func checkStaffTerms(name string, role StaffRole, prisonID int64) (string, error) {
	name, err := cleanText("name", name, maxNameLen)
	if err != nil {
		return "", err
	}
	if !role.Valid() {
		return "", refuse(ErrValidation, "role must be admin, clerk, probation or security")
	}
	if prisonID < 0 || prisonID == 0 && role != StaffAdmin {
		return "", refuse(ErrValidation, "prisonId (a positive id) is required for a %s", role)
	}
	return name, nil
}

// staffList lists every staff account (admins only), without password
// hashes.
func (s *Service) staffList(ctx context.Context, actor Staff) ([]Staff, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	return s.store.AllStaff(ctx)
}

// createStaff opens a staff account (admins only). The password is hashed
// (auth.HashPassword) and never stored or shown.
func (s *Service) createStaff(ctx context.Context, actor Staff, req staffRequest) (Staff, error) {
	if err := requireAdmin(actor); err != nil {
		return Staff{}, err
	}
	if err := checkUsername(req.Username); err != nil {
		return Staff{}, err
	}
	name, err := checkStaffTerms(req.Name, req.Role, req.PrisonID)
	if err != nil {
		return Staff{}, err
	}
	if err := checkPassword(req.Password); err != nil {
		return Staff{}, err
	}
	// Refuse what is sure to be refused before the (slow) hashing; the
	// transaction checks again.
	if _, err := s.store.StaffByUsername(ctx, req.Username); err == nil {
		return Staff{}, refuse(ErrAlreadyExists, "the username %q is taken", req.Username)
	} else if !errors.Is(err, ErrNotFound) {
		return Staff{}, fmt.Errorf("create staff: %w", err)
	}
	if req.PrisonID != 0 {
		if _, err := s.store.Prison(ctx, req.PrisonID); err != nil {
			return Staff{}, err
		}
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return Staff{}, refuse(ErrValidation, "the password cannot be used: %v", err)
	}
	st := Staff{Username: req.Username, Name: name, Role: req.Role, PrisonID: req.PrisonID, PasswordHash: hash}
	err = s.adminTx(ctx, actor, "staff.create", func(q Queries, now time.Time) error {
		if st.PrisonID != 0 {
			if _, err := q.Prison(ctx, st.PrisonID); err != nil {
				return err
			}
		}
		if st.ID, err = q.CreateStaff(ctx, st); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "staff.create", staffActor(st), nil, st)
	})
	return st, err
}

// updateStaff changes a staff member's name, role, prison and permission
// to download recordings (admins only; not their own role or prison, so
// that the last admin cannot lock everyone out by mistake). The permission
// is a security officer's only: it goes when the role changes. Caseload entries that no longer apply (the role is no
// longer probation, or the prisoner is not at the new prison) are removed,
// in the same audited change.
func (s *Service) updateStaff(ctx context.Context, actor Staff, id int64, req staffUpdate) (Staff, error) {
	if err := requireAdmin(actor); err != nil {
		return Staff{}, err
	}
	name, err := checkStaffTerms(req.Name, req.Role, req.PrisonID)
	if err != nil {
		return Staff{}, err
	}
	if req.DownloadRecordings != nil && *req.DownloadRecordings && req.Role != StaffSecurity {
		return Staff{}, refuse(ErrValidation, "downloadRecordings is for security officers only")
	}
	var after Staff
	err = s.adminTx(ctx, actor, "staff.update", func(q Queries, now time.Time) error {
		before, err := q.StaffByID(ctx, id)
		if err != nil {
			return err
		}
		if id == actor.ID && (req.Role != before.Role || req.PrisonID != before.PrisonID) {
			return refuse(ErrForbidden, "you may not change your own role or prison; ask another administrator")
		}
		if req.PrisonID != 0 && req.PrisonID != before.PrisonID {
			if _, err := q.Prison(ctx, req.PrisonID); err != nil {
				return err
			}
		}
		after = before
		after.Name, after.Role, after.PrisonID = name, req.Role, req.PrisonID
		if req.DownloadRecordings != nil {
			after.DownloadRecordings = *req.DownloadRecordings
		}
		if after.Role != StaffSecurity {
			after.DownloadRecordings = false
		}
		if err := q.UpdateStaff(ctx, after); err != nil {
			return err
		}
		removed, err := pruneCaseload(ctx, q, after)
		if err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "staff.update", staffActor(after),
			map[string]any{"before": before, "after": after, "caseloadRemoved": removed})
	})
	return after, err
}

// pruneCaseload takes off st's caseload every prisoner who no longer
// belongs there, and returns their ids.
func pruneCaseload(ctx context.Context, q Queries, st Staff) ([]int64, error) {
	list, err := q.Caseload(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	removed := []int64{}
	for _, p := range list {
		if st.Role == StaffProbation && p.PrisonID == st.PrisonID {
			continue
		}
		if err := q.RemoveFromCaseload(ctx, st.ID, p.ID); err != nil {
			return nil, err
		}
		removed = append(removed, p.ID)
	}
	return removed, nil
}

// disableStaff disables a staff account and ends its sessions (admins
// only; not their own). Disabling a disabled account changes nothing but
// is audited all the same.
func (s *Service) disableStaff(ctx context.Context, actor Staff, id int64) (Staff, error) {
	if err := requireAdmin(actor); err != nil {
		return Staff{}, err
	}
	if id == actor.ID {
		return Staff{}, refuse(ErrForbidden, "you may not disable your own account")
	}
	var after Staff
	err := s.adminTx(ctx, actor, "staff.disable", func(q Queries, now time.Time) error {
		before, err := q.StaffByID(ctx, id)
		if err != nil {
			return err
		}
		after = before
		after.Disabled = true
		if err := q.UpdateStaff(ctx, after); err != nil {
			return err
		}
		ended, err := q.DeleteStaffSessions(ctx, id)
		if err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "staff.disable", staffActor(after),
			map[string]any{"before": before, "after": after, "sessionsEnded": ended})
	})
	return after, err
}

// staffOf reads a staff account for an admin; any other reader is
// refused.
func (s *Service) staffOf(ctx context.Context, id int64) (Staff, error) {
	st, err := s.store.StaffByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Staff{}, notFoundf("staff %d", id)
	}
	return st, err
}
