package booking

import (
	"context"
	"fmt"
	"log/slog"
)

// OutcomeRequest records how a call went.
type OutcomeRequest struct {
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

// OutcomeResult is the booking after its outcome, and for a failed call
// the rebooking offered.
type OutcomeResult struct {
	Booking   Booking    `json:"booking"`
	Rebooking *Rebooking `json:"rebooking,omitempty"`
}

// Rebooking is the offer made when a call fails for technical reasons:
// the next slots the same call could be booked into.
type Rebooking struct {
	Offered bool   `json:"offered"`
	Slots   []Slot `json:"slots"`
}

// staffOutcome reports whether staff may record st on the outcome
// endpoint; cancelling has its own.
func staffOutcome(st Status) bool {
	return st == StatusCompleted || st == StatusNoShow || st == StatusTerminated || st == StatusFailed
}

// outcomeTransition reports whether a booking in status from may be given
// outcome to. An active booking may take any outcome. An outcome is final,
// except that completed (which signalling records when the clock ends a
// call) may be corrected to no_show, terminated or failed by staff who know
// better.
func outcomeTransition(from, to Status) bool {
	switch {
	case !staffOutcome(to):
		return false
	case from.Active():
		return true
	case from == StatusCompleted:
		return to != StatusCompleted
	}
	return false
}

// outcomeState is a booking's outcome as the audit log records it before
// and after a change.
type outcomeState struct {
	Status        Status `json:"status"`
	StatusReason  string `json:"statusReason"`
	RebookOffered bool   `json:"rebookOffered"`
}

// RecordStaffOutcome records how a call went, for staff who may manage the
// booking, from the call's start until the prison's outcome window after
// its end. A failed call no longer counts against the allowance and is
// offered a rebooking: the answer lists the next bookable slots of the same
// room and call type for the prisoner, and the booking records the offer.
// Refusals: ErrValidation, ErrForbidden, ErrOutcomeWindow,
// ErrInvalidTransition; a booking actor cannot see wraps ErrNotFound.
func (s *Service) RecordStaffOutcome(ctx context.Context, actor Staff, id int64, req OutcomeRequest) (OutcomeResult, error) {
	if !staffOutcome(req.Status) {
		return OutcomeResult{}, refuse(ErrValidation, "status must be completed, no_show, terminated or failed (cancel with /cancel)")
	}
	reason, err := checkReason(req.Reason)
	if err != nil {
		return OutcomeResult{}, err
	}
	now := s.clock.Now()
	var (
		b      Booking
		before Status
	)
	err = s.store.InTx(ctx, func(q Queries) error {
		cur, err := q.Booking(ctx, id)
		if err != nil {
			return err
		}
		if !actor.canSeeBooking(cur) {
			return errNoBooking(id)
		}
		if !actor.canManage(cur) {
			return refuse(ErrForbidden, "a %s may not record outcomes of %s calls", actor.Role, cur.CallType)
		}
		set, err := q.PrisonSettings(ctx, cur.PrisonID)
		if err != nil {
			return err
		}
		switch {
		case now.Before(cur.StartsAt):
			return refuse(ErrOutcomeWindow, "booking %d has not started yet; cancel it instead", id)
		case now.After(cur.EndsAt.Add(set.outcomeWindow())):
			return refuse(ErrOutcomeWindow, "booking %d ended more than %d days ago", id, set.OutcomeWindowDays)
		case !outcomeTransition(cur.Status, req.Status):
			return refuse(ErrInvalidTransition, "booking %d is %s and cannot become %s", id, cur.Status, req.Status)
		}
		rebook := false
		if req.Status == StatusFailed {
			p, err := q.Prisoner(ctx, cur.PrisonerID)
			if err != nil {
				return err
			}
			rebook = p.Status == PrisonerActive && p.PrisonID == cur.PrisonID
		}
		if err := q.ChangeBookingStatus(ctx, id, cur.Status, req.Status, reason, rebook); err != nil {
			return err
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "booking.outcome", bookingSubject(id), map[string]any{
			"before": outcomeState{cur.Status, cur.StatusReason, cur.RebookOffered},
			"after":  outcomeState{req.Status, reason, rebook},
		}); err != nil {
			return err
		}
		before = cur.Status
		b, err = q.Booking(ctx, id)
		return err
	})
	if err != nil {
		return OutcomeResult{}, wrapUnlessRefused(err, "record outcome")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "booking outcome recorded", slog.Int64("booking_id", id),
		slog.String("status", string(b.Status)), slog.String("before", string(before)), slog.Int64("staff_id", actor.ID))
	if before.Active() && s.ender != nil && s.ender.EndCall(ctx, id, string(req.Status)) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "live call ended by its outcome", slog.Int64("booking_id", id))
	}
	out := OutcomeResult{Booking: b}
	if req.Status == StatusFailed {
		out.Rebooking = &Rebooking{Offered: b.RebookOffered, Slots: []Slot{}}
		if b.RebookOffered {
			if out.Rebooking.Slots, err = s.rebookingSlots(ctx, actor, b, now); err != nil {
				return OutcomeResult{}, err
			}
		}
	}
	return out, nil
}

// errNoBooking is the error of a booking that does not exist or that the
// caller cannot see.
func errNoBooking(id int64) error { return fmt.Errorf("booking %d: %w", id, ErrNotFound) }
