package booking

import (
	"context"
	"errors"
	"time"
)

// limits is what checkLimits found: how many of the prisoner's holds the
// booking consumes, and which limits its override took it past (the
// override the booking records: one that was not needed is not one).
type limits struct {
	holdsConsumed int64
	overCapacity  bool
	overAllowance bool
}

// checkLimits applies the rules that count what others hold, in this
// order: the named hold, non-association, capacity, allowance. It consumes
// the prisoner's holds on the slot. It must run inside InTx after
// LockBooking of the slot and the prisoner.
//
// Capacity: the slot's active bookings and other prisoners' unexpired
// holds take its places. A booking that consumes an unexpired hold of its
// prisoner takes the place the hold kept, so it needs no other. A capacity
// override books past a full slot: one extra place, this booking's, which
// it keeps while it is active. So a slot never holds more than its
// capacity plus its active bookings that overrode it, however many
// requests race (they take the slot's lock in turn).
func checkLimits(ctx context.Context, q Queries, req CreateRequest, sl Slot, loc *time.Location, p Prisoner, set Settings, now time.Time) (limits, error) {
	var lim limits
	if req.HoldID != 0 {
		if err := checkHold(ctx, q, req.HoldID, sl, p, now); err != nil {
			return lim, err
		}
	}
	occ, err := q.SlotOccupancy(ctx, sl.ID, p.ID, now)
	if err != nil {
		return lim, err
	}
	if occ.NonAssociated > 0 {
		return lim, nonAssociationRefusal(p, sl)
	}
	if occ.OwnHolds == 0 && occ.Taken() >= sl.Capacity {
		if req.Override == nil || !req.Override.Capacity {
			return lim, slotFullRefusal(sl, occ)
		}
		lim.overCapacity = true
	}
	if req.CallType == CallSocial {
		over, err := checkAllowance(ctx, q, sl, loc, p, set)
		if err != nil && (req.Override == nil || !req.Override.Allowance || !errors.Is(err, ErrAllowanceExhausted)) {
			return lim, err
		}
		lim.overAllowance = over
	}
	if occ.OwnHolds > 0 || req.HoldID != 0 {
		if lim.holdsConsumed, err = q.DeletePrisonerHolds(ctx, sl.ID, p.ID); err != nil {
			return lim, err
		}
	}
	return lim, nil
}

// checkHold checks that hold id is an unexpired hold of prisoner p on slot
// sl.
func checkHold(ctx context.Context, q Queries, id int64, sl Slot, p Prisoner, now time.Time) error {
	h, err := q.Hold(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && (!h.active(now) || h.PrisonID != sl.PrisonID)) {
		return refuse(ErrHoldNotFound, "there is no hold %d: it expired, was released or was used, or never was", id)
	} else if err != nil {
		return err
	}
	if h.SlotID != sl.ID || h.PrisonerID != p.ID {
		return refuse(ErrHoldMismatch, "hold %d is for another slot or prisoner", id)
	}
	return nil
}

// checkAllowance checks that a social call in sl fits p's allowance for
// the month it starts in, in the prison's time zone loc. It returns true,
// with a *Refusal carrying ErrAllowanceExhausted, when it does not.
func checkAllowance(ctx context.Context, q Queries, sl Slot, loc *time.Location, p Prisoner, set Settings) (bool, error) {
	a, err := allowanceOf(ctx, q, p.ID, set, sl.StartsAt, loc)
	if err != nil {
		return false, err
	}
	need := int(sl.EndsAt.Sub(sl.StartsAt) / time.Minute)
	if a.UsedMinutes+need <= a.AllowanceMinutes {
		return false, nil
	}
	return true, refuse(ErrAllowanceExhausted,
		"%s has %d of %d minutes of social video calls left in %s; this call needs %d",
		p.Name, a.RemainingMinutes, a.AllowanceMinutes, a.Month, need)
}
