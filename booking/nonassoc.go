package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// NonAssociation is a pair of prisoners who must not be booked into the
// same slot (DOMAIN.md). It is symmetric: stored once, it reads from either
// prisoner's side.
type NonAssociation struct {
	PrisonerID      int64     `json:"prisonerId"`
	OtherPrisonerID int64     `json:"otherPrisonerId"`
	Reason          string    `json:"reason"`
	CreatedBy       int64     `json:"createdBy"`
	CreatedAt       time.Time `json:"createdAt"`
}

// NonAssociationRequest names the other prisoner of a pair, and why it is
// added or removed.
type NonAssociationRequest struct {
	OtherPrisonerID int64  `json:"otherPrisonerId"`
	Reason          string `json:"reason"`
}

// NonAssociationAdded is a new pair and the bookings it flagged for review:
// those of the two prisoners that already shared a slot.
type NonAssociationAdded struct {
	NonAssociation    NonAssociation `json:"nonAssociation"`
	FlaggedBookingIDs []int64        `json:"flaggedBookingIds"`
}

// nonAssociationReview is the review reason of a booking whose slot a new
// non-association makes wrong.
const nonAssociationReview = "a non-associated prisoner is booked into the same slot"

// nonAssociationRefusal explains a non-association refusal without naming
// the other prisoner.
func nonAssociationRefusal(p Prisoner, sl Slot) error {
	return refuse(ErrNonAssociation,
		"%s may not share slot %s with a prisoner already booked or holding a place in it (non-association)", p.Name, sl.ID)
}

// checkPair validates a pair request for prisonerID and returns it trimmed.
func checkPair(prisonerID int64, req NonAssociationRequest) (NonAssociationRequest, error) {
	switch {
	case req.OtherPrisonerID <= 0:
		return req, refuse(ErrValidation, "otherPrisonerId must be a positive id")
	case req.OtherPrisonerID == prisonerID:
		return req, refuse(ErrValidation, "a prisoner cannot be non-associated with themselves")
	}
	reason, err := checkReason(req.Reason)
	if err != nil {
		return req, err
	}
	req.Reason = reason
	return req, nil
}

// pairPrisoners reads both prisoners of a pair for an admin, after locking
// them (in id order, so that two pair changes never wait on each other in
// a cycle, and no booking of either runs meanwhile).
func pairPrisoners(ctx context.Context, q Queries, actor Staff, a, b int64) error {
	lo, hi := orderedPair(a, b)
	for _, id := range []int64{lo, hi} {
		if err := q.LockPrisoner(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range []int64{a, b} {
		p, err := q.Prisoner(ctx, id)
		if errors.Is(err, ErrNotFound) || (err == nil && !actor.canSeePrison(p.PrisonID)) {
			return refuse(ErrPrisonerNotFound, "there is no prisoner %d", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// AddNonAssociation records that two prisoners must not share a slot.
// Future bookings of the two that already share one are flagged for
// review, each flag audited. Only admins may do it. A pair that exists is
// a *Refusal with ErrAlreadyExists.
func (s *Service) AddNonAssociation(ctx context.Context, actor Staff, prisonerID int64, req NonAssociationRequest) (NonAssociationAdded, error) {
	if actor.Role != StaffAdmin {
		return NonAssociationAdded{}, refuse(ErrForbidden, "only an admin may record non-associations")
	}
	req, err := checkPair(prisonerID, req)
	if err != nil {
		return NonAssociationAdded{}, err
	}
	now := s.clock.Now()
	var out NonAssociationAdded
	err = s.store.InTx(ctx, func(q Queries) error {
		if err := pairPrisoners(ctx, q, actor, prisonerID, req.OtherPrisonerID); err != nil {
			return err
		}
		n := NonAssociation{PrisonerID: prisonerID, OtherPrisonerID: req.OtherPrisonerID, Reason: req.Reason,
			CreatedBy: actor.ID, CreatedAt: now.UTC().Truncate(time.Second)}
		if err := q.AddNonAssociation(ctx, n); errors.Is(err, ErrDuplicate) {
			return refuse(ErrAlreadyExists, "prisoners %d and %d are already non-associated", prisonerID, req.OtherPrisonerID)
		} else if err != nil {
			return err
		}
		ids, err := q.SharedSlotBookings(ctx, prisonerID, req.OtherPrisonerID, now)
		if err != nil {
			return err
		}
		flags, err := markForReview(ctx, q, ids, nonAssociationReview)
		if err != nil {
			return err
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "non_association.add", prisonerSubject(prisonerID),
			map[string]any{"otherPrisonerId": req.OtherPrisonerID, "reason": req.Reason, "flaggedBookingIds": ids}); err != nil {
			return err
		}
		if err := auditReviewFlags(ctx, q, now, actor, flags, nonAssociationReview); err != nil {
			return err
		}
		out = NonAssociationAdded{NonAssociation: n, FlaggedBookingIDs: ids}
		return nil
	})
	if err != nil {
		return NonAssociationAdded{}, wrapUnlessRefused(err, "add non-association")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "non-association added", slog.Int64("prisoner_id", prisonerID),
		slog.Int64("other_prisoner_id", req.OtherPrisonerID), slog.Int("flagged_bookings", len(out.FlaggedBookingIDs)),
		slog.Int64("staff_id", actor.ID))
	return out, nil
}

// RemoveNonAssociation removes a pair; only admins may. A pair that does
// not exist wraps ErrNotFound.
func (s *Service) RemoveNonAssociation(ctx context.Context, actor Staff, prisonerID int64, req NonAssociationRequest) error {
	if actor.Role != StaffAdmin {
		return refuse(ErrForbidden, "only an admin may remove non-associations")
	}
	req, err := checkPair(prisonerID, req)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.store.InTx(ctx, func(q Queries) error {
		if err := pairPrisoners(ctx, q, actor, prisonerID, req.OtherPrisonerID); err != nil {
			return err
		}
		if err := q.RemoveNonAssociation(ctx, prisonerID, req.OtherPrisonerID); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "non_association.remove", prisonerSubject(prisonerID),
			map[string]any{"otherPrisonerId": req.OtherPrisonerID, "reason": req.Reason})
	})
	if err != nil {
		return wrapUnlessRefused(err, "remove non-association")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "non-association removed", slog.Int64("prisoner_id", prisonerID),
		slog.Int64("other_prisoner_id", req.OtherPrisonerID), slog.Int64("staff_id", actor.ID))
	return nil
}

// NonAssociations lists a prisoner's non-associations; only admins may.
func (s *Service) NonAssociations(ctx context.Context, actor Staff, prisonerID int64) ([]NonAssociation, error) {
	if actor.Role != StaffAdmin {
		return nil, refuse(ErrForbidden, "only an admin may read non-associations")
	}
	if _, err := s.store.Prisoner(ctx, prisonerID); errors.Is(err, ErrNotFound) {
		return nil, refuse(ErrPrisonerNotFound, "there is no prisoner %d", prisonerID)
	} else if err != nil {
		return nil, fmt.Errorf("non-associations of prisoner %d: %w", prisonerID, err)
	}
	list, err := s.store.NonAssociations(ctx, prisonerID)
	if err != nil {
		return nil, fmt.Errorf("non-associations of prisoner %d: %w", prisonerID, err)
	}
	return list, nil
}

// prisonerSubject names a prisoner in the audit log.
func prisonerSubject(id int64) string { return fmt.Sprintf("prisoner:%d", id) }

// wrapUnlessRefused passes refusals through as they are (their detail is
// the message) and wraps anything else with what was being done.
func wrapUnlessRefused(err error, doing string) error {
	var r *Refusal
	if errors.As(err, &r) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}
