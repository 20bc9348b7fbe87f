package booking

import (
	"context"
	"log/slog"
	"time"
)

// ReviewAction is what staff decide about a booking flagged for review.
type ReviewAction string

// Review actions.
const (
	ReviewKeep   ReviewAction = "keep"
	ReviewCancel ReviewAction = "cancel"
)

// ReviewRequest settles a booking flagged for review.
type ReviewRequest struct {
	Action ReviewAction `json:"action"`
	Reason string       `json:"reason"`
}

// reviewState is a booking's review flag, as the audit log records it
// before and after a change.
type reviewState struct {
	NeedsReview  bool   `json:"needsReview"`
	ReviewReason string `json:"reviewReason"`
	Status       Status `json:"status"`
}

// reviewFlag is a booking just flagged for review, with its state before,
// for the audit log.
type reviewFlag struct {
	id     int64
	before reviewState
}

// markForReview flags the bookings ids for review with reason and returns
// the flags, for auditReviewFlags. It must run inside InTx, and before the
// transaction appends to the audit log: a transaction writes the bookings'
// rows before it takes the audit chain's head, as every other does, so two
// never wait on each other in a cycle.
func markForReview(ctx context.Context, q Queries, ids []int64, reason string) ([]reviewFlag, error) {
	flags := make([]reviewFlag, 0, len(ids))
	for _, id := range ids {
		b, err := q.Booking(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := q.SetBookingReview(ctx, id, true, reason); err != nil {
			return nil, err
		}
		flags = append(flags, reviewFlag{id, reviewState{b.NeedsReview, b.ReviewReason, b.Status}})
	}
	return flags, nil
}

// auditReviewFlags audits each flag of markForReview with the booking's
// state before and after.
func auditReviewFlags(ctx context.Context, q Queries, now time.Time, actor Staff, flags []reviewFlag, reason string) error {
	for _, f := range flags {
		if err := appendAudit(ctx, q, now, staffActor(actor), "booking.review_flag", bookingSubject(f.id), map[string]any{
			"before": f.before, "after": reviewState{true, reason, f.before.Status},
		}); err != nil {
			return err
		}
	}
	return nil
}

// ReviewBooking settles a booking flagged for review: keep clears the flag
// (only while the prisoner is still held, active, at the booking's prison,
// and no non-associated prisoner shares its slot), cancel cancels the
// booking with the reason and clears the flag. Either is audited with the
// booking's state before and after. A booking that is not flagged, or no
// longer active, is a *Refusal with ErrInvalidTransition.
func (s *Service) ReviewBooking(ctx context.Context, actor Staff, id int64, req ReviewRequest) (Booking, error) {
	if req.Action != ReviewKeep && req.Action != ReviewCancel {
		return Booking{}, refuse(ErrValidation, "action must be keep or cancel")
	}
	reason, err := checkReason(req.Reason)
	if err != nil {
		return Booking{}, err
	}
	now := s.clock.Now()
	var b Booking
	err = s.store.InTx(ctx, func(q Queries) error {
		cur, err := q.Booking(ctx, id)
		if err != nil {
			return err
		}
		if !actor.canSeeBooking(cur) {
			return errNoBooking(id)
		}
		if !actor.canManage(cur) {
			return refuse(ErrForbidden, "a %s may not manage %s calls", actor.Role, cur.CallType)
		}
		if err := q.LockBooking(ctx, cur.SlotID, cur.PrisonerID); err != nil {
			return err
		}
		// Read again under the lock: a booking of this prisoner or slot
		// may have changed it meanwhile.
		if cur, err = q.Booking(ctx, id); err != nil {
			return err
		}
		if !cur.NeedsReview || !cur.Status.Active() {
			return refuse(ErrInvalidTransition, "booking %d is %s and not flagged for review", id, cur.Status)
		}
		after := reviewState{Status: cur.Status}
		if req.Action == ReviewKeep {
			if err := s.checkKeep(ctx, q, cur, now); err != nil {
				return err
			}
		} else {
			if err := q.SetBookingStatus(ctx, id, StatusCancelled, reason); err != nil {
				return err
			}
			after.Status = StatusCancelled
		}
		if err := q.SetBookingReview(ctx, id, false, ""); err != nil {
			return err
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "booking.review", bookingSubject(id), map[string]any{
			"action": req.Action, "reason": reason,
			"before": reviewState{cur.NeedsReview, cur.ReviewReason, cur.Status}, "after": after,
		}); err != nil {
			return err
		}
		b, err = q.Booking(ctx, id)
		return err
	})
	if err != nil {
		return Booking{}, wrapUnlessRefused(err, "review booking")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "booking reviewed", slog.Int64("booking_id", id),
		slog.String("action", string(req.Action)), slog.Int64("staff_id", actor.ID))
	if req.Action == ReviewCancel && s.ender != nil && s.ender.EndCall(ctx, id, "cancelled") {
		s.log.LogAttrs(ctx, slog.LevelInfo, "live call ended by review", slog.Int64("booking_id", id))
	}
	return b, nil
}

// checkKeep checks that a flagged booking may stand: its prisoner is still
// held, active, at its prison, and no non-associated prisoner shares its
// slot.
func (s *Service) checkKeep(ctx context.Context, q Queries, b Booking, now time.Time) error {
	p, err := q.Prisoner(ctx, b.PrisonerID)
	if err != nil {
		return err
	}
	switch {
	case p.PrisonID != b.PrisonID:
		return refuse(ErrPrisonerNotAtPrison, "the prisoner is no longer held at this booking's prison; cancel it instead")
	case p.Status != PrisonerActive:
		return refuse(ErrPrisonerInactive, "%s is %s; cancel the booking instead", p.Name, p.Status)
	}
	occ, err := q.SlotOccupancy(ctx, b.SlotID, b.PrisonerID, now)
	if err != nil {
		return err
	}
	if occ.NonAssociated > 0 {
		return refuse(ErrNonAssociation, "a prisoner non-associated with %s is booked into slot %s; cancel one of the bookings instead", p.Name, b.SlotID)
	}
	return nil
}
