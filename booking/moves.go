package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// MoveRequest records that a prisoner left their prison: released, or
// transferred. A transfer to another Gatehouse prison names it
// (ToPrisonID) and the prisoner is then held there, active; a transfer
// without one (to an establishment not on Gatehouse) leaves them
// transferred, bookable nowhere.
type MoveRequest struct {
	Status     PrisonerStatus `json:"status"`
	ToPrisonID int64          `json:"toPrisonId,omitempty"`
	Reason     string         `json:"reason"`
}

// MoveResult is the moved prisoner and the bookings flagged for review.
type MoveResult struct {
	Prisoner          Prisoner `json:"prisoner"`
	FlaggedBookingIDs []int64  `json:"flaggedBookingIds"`
}

// prisonerPlace is where a prisoner is held and in what status, as the
// audit log records a move before and after.
type prisonerPlace struct {
	PrisonID int64          `json:"prisonId"`
	Status   PrisonerStatus `json:"status"`
}

// validate checks a move's shape and returns it with its reason trimmed.
func (r MoveRequest) validate() (MoveRequest, error) {
	switch {
	case r.Status != PrisonerReleased && r.Status != PrisonerTransferred:
		return r, refuse(ErrValidation, "status must be released or transferred")
	case r.ToPrisonID < 0:
		return r, refuse(ErrValidation, "toPrisonId must be a positive id")
	case r.Status == PrisonerReleased && r.ToPrisonID != 0:
		return r, refuse(ErrValidation, "a released prisoner goes to no prison: leave out toPrisonId")
	}
	reason, err := checkReason(r.Reason)
	if err != nil {
		return r, err
	}
	r.Reason = reason
	return r, nil
}

// MovePrisoner records a prisoner's release or transfer for a clerk or
// admin of their prison, and flags every active booking of theirs that has
// not yet ended for review, each flag audited, with the move, in one
// transaction. It holds the prisoner's lock, so no booking of them is made
// meanwhile. A prisoner who is no longer active is a *Refusal with
// ErrInvalidTransition.
func (s *Service) MovePrisoner(ctx context.Context, actor Staff, prisonerID int64, req MoveRequest) (MoveResult, error) {
	req, err := req.validate()
	if err != nil {
		return MoveResult{}, err
	}
	if actor.Role != StaffAdmin && actor.Role != StaffClerk {
		return MoveResult{}, refuse(ErrForbidden, "a %s may not record a prisoner's release or transfer", actor.Role)
	}
	now := s.clock.Now()
	var out MoveResult
	err = s.store.InTx(ctx, func(q Queries) error {
		if err := q.LockPrisoner(ctx, prisonerID); err != nil {
			return err
		}
		p, err := q.Prisoner(ctx, prisonerID)
		if errors.Is(err, ErrNotFound) || (err == nil && !actor.canSeePrison(p.PrisonID)) {
			return refuse(ErrPrisonerNotFound, "there is no prisoner %d", prisonerID)
		} else if err != nil {
			return err
		}
		if p.Status != PrisonerActive {
			return refuse(ErrInvalidTransition, "%s is already %s", p.Name, p.Status)
		}
		before := prisonerPlace{p.PrisonID, p.Status}
		after, err := moveTarget(ctx, q, p, req)
		if err != nil {
			return err
		}
		if err := q.MovePrisoner(ctx, p.ID, after.PrisonID, after.Status); err != nil {
			return err
		}
		bookings, err := q.PrisonerBookings(ctx, p.ID, now)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(bookings))
		for _, b := range bookings {
			ids = append(ids, b.ID)
		}
		why := fmt.Sprintf("prisoner %s: %s", req.Status, req.Reason)
		flags, err := markForReview(ctx, q, ids, why)
		if err != nil {
			return err
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "prisoner.move", prisonerSubject(p.ID), map[string]any{
			"move": req.Status, "reason": req.Reason, "before": before, "after": after, "flaggedBookingIds": ids,
		}); err != nil {
			return err
		}
		if err := auditReviewFlags(ctx, q, now, actor, flags, why); err != nil {
			return err
		}
		p.PrisonID, p.Status = after.PrisonID, after.Status
		out = MoveResult{Prisoner: p, FlaggedBookingIDs: ids}
		return nil
	})
	if err != nil {
		return MoveResult{}, wrapUnlessRefused(err, "move prisoner")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "prisoner moved", slog.Int64("prisoner_id", prisonerID),
		slog.String("move", string(req.Status)), slog.Int64("prison_id", out.Prisoner.PrisonID),
		slog.Int("flagged_bookings", len(out.FlaggedBookingIDs)), slog.Int64("staff_id", actor.ID))
	return out, nil
}

// moveTarget is where and in what status a move leaves p.
func moveTarget(ctx context.Context, q Queries, p Prisoner, req MoveRequest) (prisonerPlace, error) {
	switch {
	case req.Status == PrisonerReleased:
		return prisonerPlace{p.PrisonID, PrisonerReleased}, nil
	case req.ToPrisonID == 0:
		return prisonerPlace{p.PrisonID, PrisonerTransferred}, nil
	case req.ToPrisonID == p.PrisonID:
		return prisonerPlace{}, refuse(ErrValidation, "toPrisonId is the prison the prisoner is already held at")
	}
	if _, err := q.Prison(ctx, req.ToPrisonID); errors.Is(err, ErrNotFound) {
		return prisonerPlace{}, refuse(ErrValidation, "toPrisonId names no prison")
	} else if err != nil {
		return prisonerPlace{}, err
	}
	return prisonerPlace{req.ToPrisonID, PrisonerActive}, nil
}
