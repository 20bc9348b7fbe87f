package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// auditChange records an administrative change in the audit log, inside
// InTx: who (actor), what (action, subject) and the record before and after
// (nil before a create or after a delete).
func auditChange(ctx context.Context, q AuditQueries, at time.Time, actor Staff, action, subject string, before, after any) error {
	return appendAudit(ctx, q, at, staffActor(actor), action, subject, map[string]any{"before": before, "after": after})
}

// adminTx runs fn as an administrative change by actor: only admins may
// (ErrForbidden otherwise); fn runs in one transaction, a refusal or
// failure writes nothing, and the outcome is logged with action and the
// actor's id. Store errors other than not-found and refusals are wrapped.
func (s *Service) adminTx(ctx context.Context, actor Staff, action string, fn func(q Queries, now time.Time) error) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error { return fn(q, now) })
	if err != nil {
		var r *Refusal
		switch {
		case errors.As(err, &r):
			s.log.LogAttrs(ctx, slog.LevelInfo, "admin change refused", slog.String("action", action),
				slog.Int64("staff_id", actor.ID), slog.String("code", string(r.Code)))
			return err
		case errors.Is(err, ErrNotFound):
			return err
		case errors.Is(err, ErrDuplicate):
			return refuse(ErrAlreadyExists, "that %s already exists", alreadyWhat(action))
		}
		s.log.LogAttrs(ctx, slog.LevelError, "admin change failed", slog.String("action", action),
			slog.Int64("staff_id", actor.ID), slog.String("error", err.Error()))
		return fmt.Errorf("%s: %w", action, err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "admin change", slog.String("action", action),
		slog.Int64("staff_id", actor.ID))
	return nil
}

// alreadyWhat names what a duplicate of action's record is, for people.
func alreadyWhat(action string) string {
	switch action {
	case "prison.create":
		return "prison code"
	case "room.create", "room.update":
		return "room name at this prison"
	case "excluded_date.create":
		return "excluded date (same date and scope)"
	case "prisoner.create":
		return "prison number"
	case "prisoner_contact.create":
		return "contact on this prisoner's list"
	case "staff.create":
		return "username"
	case "device.create":
		return "device name at this prison"
	case "caseload.add":
		return "prisoner on this caseload"
	}
	return "record"
}

// notFoundf is ErrNotFound naming what is missing.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrNotFound)...)
}
