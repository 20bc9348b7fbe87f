package booking

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ExcludedDate is a civil date on which a prison generates no slots: in
// every room (RoomID and TemplateID 0), in one room (RoomID), or for one
// slot template (TemplateID) — a bank holiday, a lockdown, a room being
// refitted. Bookings already made on that date stay; the slots are no
// longer listed or bookable.
type ExcludedDate struct {
	ID         int64
	PrisonID   int64
	RoomID     int64
	TemplateID int64
	Date       time.Time // civil date, midnight UTC
	Reason     string
}

// excludedRequest is the body of POST
// /api/v1/prisons/{prisonId}/excluded-dates: at most one of roomId and
// templateId; neither means the whole prison.
type excludedRequest struct {
	Date       string `json:"date"`
	RoomID     int64  `json:"roomId,omitempty"`
	TemplateID int64  `json:"templateId,omitempty"`
	Reason     string `json:"reason"`
}

// excludedView is an excluded date as the API shows it.
type excludedView struct {
	ID         int64  `json:"id"`
	PrisonID   int64  `json:"prisonId"`
	RoomID     *int64 `json:"roomId"`
	TemplateID *int64 `json:"templateId"`
	Date       string `json:"date"`
	Reason     string `json:"reason"`
}

// view presents e.
func (e ExcludedDate) view() excludedView {
	v := excludedView{ID: e.ID, PrisonID: e.PrisonID, Date: e.Date.Format(dateLayout), Reason: e.Reason}
	if e.RoomID != 0 {
		v.RoomID = &e.RoomID
	}
	if e.TemplateID != 0 {
		v.TemplateID = &e.TemplateID
	}
	return v
}

// excludedDates lists a prison's excluded dates for actor (anyone who can
// see the prison).
func (s *Service) excludedDates(ctx context.Context, actor Staff, prisonID int64) ([]ExcludedDate, error) {
	if err := s.checkPrisonVisible(ctx, actor, prisonID); err != nil {
		return nil, err
	}
	return s.store.ExcludedDates(ctx, prisonID)
}

// createExcludedDate excludes a date at a prison, in one of its rooms or
// for one of its templates (admins only).
func (s *Service) createExcludedDate(ctx context.Context, actor Staff, prisonID int64, req excludedRequest) (ExcludedDate, error) {
	if err := requireAdmin(actor); err != nil {
		return ExcludedDate{}, err
	}
	e := ExcludedDate{PrisonID: prisonID, RoomID: req.RoomID, TemplateID: req.TemplateID}
	var err error
	if e.Date, err = ParseDate(req.Date); err != nil {
		return ExcludedDate{}, err
	}
	if e.Reason, err = cleanText("reason", req.Reason, maxExcludedReason); err != nil {
		return ExcludedDate{}, err
	}
	if e.RoomID < 0 || e.TemplateID < 0 || e.RoomID != 0 && e.TemplateID != 0 {
		return ExcludedDate{}, refuse(ErrValidation, "give roomId or templateId (positive ids), not both, or neither for the whole prison")
	}
	err = s.adminTx(ctx, actor, "excluded_date.create", func(q Queries, now time.Time) error {
		if _, err := q.Prison(ctx, prisonID); err != nil {
			return err
		}
		if err := checkExclusionScope(ctx, q, e); err != nil {
			return err
		}
		if e.ID, err = q.CreateExcludedDate(ctx, e); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "excluded_date.create", excludedSubject(e.ID), nil, e.view())
	})
	return e, err
}

// checkExclusionScope checks that e's room or template is at e's prison.
func checkExclusionScope(ctx context.Context, q Queries, e ExcludedDate) error {
	switch {
	case e.RoomID != 0:
		r, err := q.Room(ctx, e.RoomID)
		if errors.Is(err, ErrNotFound) || err == nil && r.PrisonID != e.PrisonID {
			return notFoundf("room %d at prison %d", e.RoomID, e.PrisonID)
		}
		return err
	case e.TemplateID != 0:
		t, err := q.SlotTemplate(ctx, e.TemplateID)
		if errors.Is(err, ErrNotFound) || err == nil && t.PrisonID != e.PrisonID {
			return notFoundf("slot template %d at prison %d", e.TemplateID, e.PrisonID)
		}
		return err
	}
	return nil
}

// deleteExcludedDate makes a date bookable again (admins only).
func (s *Service) deleteExcludedDate(ctx context.Context, actor Staff, id int64) error {
	return s.adminTx(ctx, actor, "excluded_date.delete", func(q Queries, now time.Time) error {
		before, err := q.ExcludedDate(ctx, id)
		if err != nil {
			return err
		}
		if err := q.DeleteExcludedDate(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "excluded_date.delete", excludedSubject(id), before.view(), nil)
	})
}

func excludedSubject(id int64) string { return fmt.Sprintf("excluded_date:%d", id) }
