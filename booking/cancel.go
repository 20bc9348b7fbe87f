package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// checkReason validates a cancellation reason: 1 to MaxReasonLen characters
// of valid text once trimmed.
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if !utf8.ValidString(reason) || reason == "" || utf8.RuneCountInString(reason) > MaxReasonLen {
		return "", refuse(ErrValidation, "reason must be 1 to %d characters", MaxReasonLen)
	}
	return reason, nil
}

// CancelBooking cancels an active booking for actor, with a reason, audits
// it and returns the cancelled booking (without join links). A booking actor
// cannot see wraps ErrNotFound; one actor may not manage is a *Refusal with
// ErrForbidden; one that is no longer active is a *Refusal with ErrNotActive.
func (s *Service) CancelBooking(ctx context.Context, actor Staff, id int64, reason string) (Booking, error) {
	reason, err := checkReason(reason)
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
			return fmt.Errorf("booking %d: %w", id, ErrNotFound)
		}
		if !actor.canManage(cur) {
			return refuse(ErrForbidden, "a %s may not cancel %s calls", actor.Role, cur.CallType)
		}
		if err := q.SetBookingStatus(ctx, id, StatusCancelled, reason); err != nil {
			return err
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "booking.cancel", bookingSubject(id), map[string]any{
			"reference": cur.Reference, "reason": reason,
			"before": outcomeState{cur.Status, cur.StatusReason, cur.RebookOffered},
			"after":  outcomeState{StatusCancelled, reason, cur.RebookOffered},
		}); err != nil {
			return err
		}
		b, err = q.Booking(ctx, id)
		return err
	})
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) || errors.Is(err, ErrNotFound) {
			return Booking{}, err
		}
		return Booking{}, fmt.Errorf("cancel booking %d: %w", id, err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "booking cancelled", slog.Int64("booking_id", id),
		slog.String("reference", b.Reference), slog.Int64("staff_id", actor.ID))
	if s.ender != nil && s.ender.EndCall(ctx, id, "cancelled") {
		s.log.LogAttrs(ctx, slog.LevelInfo, "live call ended by cancellation", slog.Int64("booking_id", id))
	}
	return b, nil
}
