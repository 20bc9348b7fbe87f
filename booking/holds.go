package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Hold keeps one place in a slot for a prisoner while a booking is being
// made (a visitor filling in the form): it counts against the slot's
// capacity until ExpiresAt, then lapses on its own. A booking of the same
// slot and prisoner consumes it.
type Hold struct {
	ID         int64     `json:"id"`
	PrisonID   int64     `json:"-"`
	SlotID     string    `json:"slotId"`
	PrisonerID int64     `json:"prisonerId"`
	CreatedBy  int64     `json:"-"`
	CreatedAt  time.Time `json:"-"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// HoldRequest asks for a hold.
type HoldRequest struct {
	SlotID     string `json:"slotId"`
	PrisonerID int64  `json:"prisonerId"`
}

// active reports whether h still holds its place at now.
func (h Hold) active(now time.Time) bool { return h.ExpiresAt.After(now) }

// canHold reports whether st may hold a place in a slot taking callTypes:
// whoever may book one of them.
func (st Staff) canHold(callTypes []CallType) bool {
	return slices.ContainsFunc(callTypes, st.canBook)
}

// CreateHold holds a place in a slot for a prisoner, for the prison's hold
// lifetime. It checks what a booking checks that does not depend on the
// call (the slot, the booking window, the prisoner, their other calls,
// non-associations and capacity, counting other holds) under the same
// locks, so holds and bookings together never exceed a slot's capacity. A
// prisoner holds at most one place per slot. Refusals are *Refusal values
// and write nothing.
func (s *Service) CreateHold(ctx context.Context, actor Staff, req HoldRequest) (Hold, error) {
	h, err := s.createHold(ctx, actor, req)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			s.refused(r.Code)
			s.log.LogAttrs(ctx, slog.LevelInfo, "hold refused", slog.String("code", string(r.Code)),
				slog.String("slot_id", req.SlotID), slog.Int64("prisoner_id", req.PrisonerID),
				slog.Int64("staff_id", actor.ID))
			return Hold{}, err
		}
		return Hold{}, fmt.Errorf("create hold: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "hold created", slog.Int64("hold_id", h.ID), slog.String("slot_id", h.SlotID),
		slog.Int64("prisoner_id", h.PrisonerID), slog.Int64("staff_id", actor.ID))
	return h, nil
}

func (s *Service) createHold(ctx context.Context, actor Staff, req HoldRequest) (Hold, error) {
	switch {
	case req.PrisonerID <= 0:
		return Hold{}, refuse(ErrValidation, "prisonerId must be a positive id")
	case req.SlotID == "" || len(req.SlotID) > maxSlotIDLen:
		return Hold{}, refuse(ErrValidation, "slotId must be 1 to %d characters", maxSlotIDLen)
	}
	key, err := parseSlotID(req.SlotID)
	if err != nil {
		return Hold{}, refuse(ErrSlotNotFound, "%s", err.Error())
	}
	now := s.clock.Now()
	var h Hold
	err = s.store.InTx(ctx, func(q Queries) error {
		if err := q.LockBooking(ctx, key.String(), req.PrisonerID); err != nil {
			return err
		}
		sl, _, err := s.resolveSlot(ctx, q, actor, key)
		if err != nil {
			return err
		}
		if !actor.canHold(sl.CallTypes) {
			return refuse(ErrForbidden, "a %s may not book the calls slot %s takes", actor.Role, sl.ID)
		}
		set, err := q.PrisonSettings(ctx, sl.PrisonID)
		if err != nil {
			return err
		}
		if !inWindow(set, bookerStaff, sl, now) {
			return refuse(ErrOutsideWindow, "%s", windowDetail(set, bookerStaff, sl))
		}
		prisoner, err := checkPrisoner(ctx, q, actor, req.PrisonerID, sl.PrisonID)
		if err != nil {
			return err
		}
		if busy, err := q.PrisonerBusy(ctx, prisoner.ID, sl.StartsAt, sl.EndsAt); err != nil {
			return err
		} else if busy {
			return refuse(ErrPrisonerBusy, "%s already has a call booked at an overlapping time", prisoner.Name)
		}
		if _, err := q.DeleteExpiredHolds(ctx, sl.ID, now); err != nil {
			return err
		}
		occ, err := q.SlotOccupancy(ctx, sl.ID, prisoner.ID, now)
		if err != nil {
			return err
		}
		switch {
		case occ.OwnHolds > 0:
			return refuse(ErrPrisonerBusy, "%s already holds a place in slot %s", prisoner.Name, sl.ID)
		case occ.NonAssociated > 0:
			return nonAssociationRefusal(prisoner, sl)
		case occ.Taken() >= sl.Capacity:
			return slotFullRefusal(sl, occ)
		}
		h = Hold{PrisonID: sl.PrisonID, SlotID: sl.ID, PrisonerID: prisoner.ID, CreatedBy: actor.ID,
			CreatedAt: now.UTC().Truncate(time.Second)}
		h.ExpiresAt = h.CreatedAt.Add(set.holdTTL())
		if h.ID, err = q.CreateHold(ctx, h); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "hold.create", holdSubject(h.ID), map[string]any{
			"slotId": h.SlotID, "prisonerId": h.PrisonerID, "expiresAt": h.ExpiresAt,
		})
	})
	return h, err
}

// ReleaseHold gives a hold's place back before it expires. Its creator, or
// a clerk or admin who can see its prison, may release it. A hold that is
// missing, expired or of a prisoner actor cannot see is a *Refusal with
// ErrHoldNotFound.
func (s *Service) ReleaseHold(ctx context.Context, actor Staff, id int64) error {
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error {
		h, err := q.Hold(ctx, id)
		if errors.Is(err, ErrNotFound) || (err == nil && (!h.active(now) ||
			!actor.canSeePrisoner(Prisoner{ID: h.PrisonerID, PrisonID: h.PrisonID}))) {
			return refuse(ErrHoldNotFound, "there is no hold %d, or it has expired", id)
		} else if err != nil {
			return err
		}
		if h.CreatedBy != actor.ID && !actor.canOverride() {
			return refuse(ErrForbidden, "only whoever made hold %d, a clerk or an admin may release it", id)
		}
		if err := q.DeleteHold(ctx, id); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "hold.release", holdSubject(id), map[string]any{
			"slotId": h.SlotID, "prisonerId": h.PrisonerID,
		})
	})
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			return err
		}
		return fmt.Errorf("release hold %d: %w", id, err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "hold released", slog.Int64("hold_id", id), slog.Int64("staff_id", actor.ID))
	return nil
}

// PurgeExpiredHolds deletes every hold expired by now and returns how many
// it deleted. Expired holds already count for nothing, so this is
// housekeeping, safe to run at any time.
func (s *Service) PurgeExpiredHolds(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteExpiredHolds(ctx, "", s.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("purge expired holds: %w", err)
	}
	return n, nil
}

// holdSubject names a hold in the audit log.
func holdSubject(id int64) string { return fmt.Sprintf("hold:%d", id) }

// slotFullRefusal explains a full slot.
func slotFullRefusal(sl Slot, occ Occupancy) error {
	if occ.Held > 0 {
		return refuse(ErrSlotFull, "slot %s is full (%d of %d places booked, %d held)", sl.ID, occ.Booked, sl.Capacity, occ.Held)
	}
	return refuse(ErrSlotFull, "slot %s is full (%d of %d places taken)", sl.ID, occ.Booked, sl.Capacity)
}
