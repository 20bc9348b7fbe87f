package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// CreateRequest asks for a call: a prisoner, one slot, a call type and the
// contacts who join (1 to the prison's MaxVisitors, the lead visitor
// first). HoldID optionally names the hold the booking takes the place of;
// Override optionally books past the slot's capacity or the prisoner's
// allowance (staff only, with a reason).
type CreateRequest struct {
	PrisonerID int64     `json:"prisonerId"`
	SlotID     string    `json:"slotId"`
	CallType   CallType  `json:"callType"`
	ContactIDs []int64   `json:"contactIds"`
	HoldID     int64     `json:"holdId,omitempty"`
	Override   *Override `json:"override,omitempty"`
}

// validate checks the request's shape, before anything is read, and
// normalises its override.
func (r *CreateRequest) validate() error {
	switch {
	case r.PrisonerID <= 0:
		return refuse(ErrValidation, "prisonerId must be a positive id")
	case r.SlotID == "":
		return refuse(ErrValidation, "slotId is required")
	case len(r.SlotID) > maxSlotIDLen:
		return refuse(ErrValidation, "slotId is too long")
	case !r.CallType.Valid():
		return refuse(ErrValidation, "callType must be social, legal or probation")
	case len(r.ContactIDs) == 0:
		return refuse(ErrValidation, "contactIds must name at least one contact")
	case len(r.ContactIDs) > MaxContactsLimit:
		return refuse(ErrValidation, "contactIds may name at most %d contacts", MaxContactsLimit)
	case r.HoldID < 0:
		return refuse(ErrValidation, "holdId must be a positive id")
	}
	if r.Override != nil {
		o, err := r.Override.normalised()
		if err != nil {
			return err
		}
		r.Override = &o
	}
	seen := make(map[int64]bool, len(r.ContactIDs))
	for _, id := range r.ContactIDs {
		if id <= 0 {
			return refuse(ErrValidation, "contactIds must be positive ids")
		}
		if seen[id] {
			return refuse(ErrValidation, "contact %d is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// CreateBooking books a call for actor. Every rule is checked in one store
// transaction, under the slot's and the prisoner's locks, so concurrent
// requests can never overbook a slot, double book a prisoner or overspend
// an allowance: the slot exists (at a prison actor can see) and takes the
// call type, at most the prison's MaxVisitors contacts join, the slot is
// inside the booking window, the prisoner is active and held at the slot's
// prison, every contact is approved for the prisoner, not banned and of the
// call's kind (social calls also need an adult lead visitor and at most
// MaxAdults adults), the prisoner has no overlapping active booking, the
// hold named (if any) is theirs for this slot and unexpired, no
// non-associated prisoner is booked or holds a place in the slot, the slot
// has a place left (active bookings plus other prisoners' unexpired holds;
// the prisoner's own holds on the slot are consumed, and one that has not
// expired keeps its place for this booking) and a social call fits
// the prisoner's monthly allowance. A clerk or admin may override capacity
// (one extra place, this booking's) or allowance with a reason: the
// booking records the limits it went past and why, and the audit log the
// override asked for and what it was used for (see checkLimits). A refusal
// is a *Refusal and writes nothing. The booking is returned without join
// links.
func (s *Service) CreateBooking(ctx context.Context, actor Staff, req CreateRequest) (Booking, error) {
	b, err := s.createBooking(ctx, actor, req)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			s.refused(r.Code)
			s.log.LogAttrs(ctx, slog.LevelInfo, "booking refused", slog.String("code", string(r.Code)),
				slog.String("detail", r.Detail), slog.String("slot_id", req.SlotID),
				slog.Int64("prisoner_id", req.PrisonerID), slog.Int64("staff_id", actor.ID))
			return Booking{}, err
		}
		s.log.LogAttrs(ctx, slog.LevelError, "booking failed", slog.String("slot_id", req.SlotID),
			slog.Int64("prisoner_id", req.PrisonerID), slog.String("error", err.Error()))
		return Booking{}, fmt.Errorf("create booking: %w", err)
	}
	s.created()
	s.log.LogAttrs(ctx, slog.LevelInfo, "booking created", slog.Int64("booking_id", b.ID),
		slog.String("reference", b.Reference), slog.String("slot_id", b.SlotID),
		slog.String("call_type", string(b.CallType)), slog.Int64("staff_id", actor.ID))
	return b, nil
}

func (s *Service) createBooking(ctx context.Context, actor Staff, req CreateRequest) (Booking, error) {
	if err := req.validate(); err != nil {
		return Booking{}, err
	}
	if !actor.canBook(req.CallType) {
		return Booking{}, refuse(ErrForbidden, "a %s may not book %s calls", actor.Role, req.CallType)
	}
	if req.Override != nil && !actor.canOverride() {
		return Booking{}, refuse(ErrForbidden, "a %s may not override capacity or allowance", actor.Role)
	}
	key, err := parseSlotID(req.SlotID)
	if err != nil {
		return Booking{}, refuse(ErrSlotNotFound, "%s", err.Error())
	}
	now := s.clock.Now()
	var b Booking
	err = s.store.InTx(ctx, func(q Queries) error {
		// Before any rule is read: no other booking or hold of this slot or
		// this prisoner can be checked or written until this one commits.
		if err := q.LockBooking(ctx, key.String(), req.PrisonerID); err != nil {
			return err
		}
		sl, loc, err := s.resolveSlot(ctx, q, actor, key)
		if err != nil {
			return err
		}
		set, err := q.PrisonSettings(ctx, sl.PrisonID)
		if err != nil {
			return err
		}
		if len(req.ContactIDs) > set.MaxVisitors {
			return refuse(ErrTooManyVisitors, "at most %d people may join the prisoner on a call; %d were given",
				set.MaxVisitors, len(req.ContactIDs))
		}
		if !slices.Contains(sl.CallTypes, req.CallType) {
			return refuse(ErrCallTypeNotAllowed, "slot %s does not take %s calls", sl.ID, req.CallType)
		}
		if !inWindow(set, bookerStaff, sl, now) {
			return refuse(ErrOutsideWindow, "%s", windowDetail(set, bookerStaff, sl))
		}
		prisoner, err := checkPrisoner(ctx, q, actor, req.PrisonerID, sl.PrisonID)
		if err != nil {
			return err
		}
		contacts, err := checkContacts(ctx, q, prisoner, req, set, key.Date)
		if err != nil {
			return err
		}
		busy, err := q.PrisonerBusy(ctx, prisoner.ID, sl.StartsAt, sl.EndsAt)
		if err != nil {
			return err
		}
		if busy {
			return refuse(ErrPrisonerBusy, "%s already has a call booked at an overlapping time", prisoner.Name)
		}
		lim, err := checkLimits(ctx, q, req, sl, loc, prisoner, set, now)
		if err != nil {
			return err
		}
		ref, err := uniqueReference(ctx, q)
		if err != nil {
			return err
		}
		b = newBooking(ref, sl, prisoner, contacts, req.CallType, actor, now)
		if lim.overCapacity || lim.overAllowance {
			b.Override = &Override{Capacity: lim.overCapacity, Allowance: lim.overAllowance, Reason: req.Override.Reason}
		}
		if b.ID, err = q.CreateBooking(ctx, b); err != nil {
			return err
		}
		detail := map[string]any{
			"reference": b.Reference, "slotId": b.SlotID, "prisonerId": b.PrisonerID,
			"callType": b.CallType, "contactIds": req.ContactIDs,
		}
		if lim.holdsConsumed > 0 {
			detail["holdsConsumed"] = lim.holdsConsumed
		}
		if req.Override != nil {
			detail["override"] = req.Override
			detail["overCapacity"], detail["overAllowance"] = lim.overCapacity, lim.overAllowance
		}
		return appendAudit(ctx, q, now, staffActor(actor), "booking.create", bookingSubject(b.ID), detail)
	})
	return b, err
}

// resolveSlot turns a slot key into the slot it names, and its prison's
// time zone, checking that the template exists, is visible to actor and
// offers that slot.
func (s *Service) resolveSlot(ctx context.Context, q Queries, actor Staff, key slotKey) (Slot, *time.Location, error) {
	t, err := q.SlotTemplate(ctx, key.TemplateID)
	if errors.Is(err, ErrNotFound) {
		return Slot{}, nil, refuse(ErrSlotNotFound, "there is no slot %s", key)
	} else if err != nil {
		return Slot{}, nil, err
	}
	if !actor.canSeePrison(t.PrisonID) {
		// As for anything at a prison the caller cannot see: not found.
		return Slot{}, nil, refuse(ErrSlotNotFound, "there is no slot %s", key)
	}
	prison, err := q.Prison(ctx, t.PrisonID)
	if err != nil {
		return Slot{}, nil, err
	}
	loc, err := loadLocation(prison)
	if err != nil {
		return Slot{}, nil, err
	}
	sl, ok := slotAt(t, loc, key.Date, key.Minute)
	if !ok {
		return Slot{}, nil, refuse(ErrSlotNotFound, "there is no slot %s", key)
	}
	return sl, loc, nil
}

// checkPrisoner loads the prisoner and checks they are active at prisonID.
// A prisoner actor cannot see (at a prison actor does not work at, or off
// a probation officer's caseload) is not found, as if there were none; one
// at another prison actor can see is not at the prison, with a detail that
// says nothing about them.
func checkPrisoner(ctx context.Context, q Queries, actor Staff, id, prisonID int64) (Prisoner, error) {
	p, err := q.Prisoner(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !actor.canSeePrisoner(p)) {
		return Prisoner{}, refuse(ErrPrisonerNotFound, "there is no prisoner %d", id)
	} else if err != nil {
		return Prisoner{}, err
	}
	if p.PrisonID != prisonID {
		return Prisoner{}, refuse(ErrPrisonerNotAtPrison, "prisoner %d is not held at the slot's prison", id)
	}
	if p.Status != PrisonerActive {
		return Prisoner{}, refuse(ErrPrisonerInactive, "%s (%s) is %s", p.Name, p.Number, p.Status)
	}
	return p, nil
}

// checkContacts returns the requested contacts, in request order, after
// checking each against the prisoner's list and the call type. callDate is
// the local date of the call.
func checkContacts(ctx context.Context, q Queries, p Prisoner, req CreateRequest, set Settings, callDate time.Time) ([]PrisonerContact, error) {
	list, err := q.PrisonerContacts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]PrisonerContact, len(list))
	for _, c := range list {
		byID[c.ID] = c
	}
	out := make([]PrisonerContact, 0, len(req.ContactIDs))
	for _, id := range req.ContactIDs {
		c, ok := byID[id]
		switch {
		case !ok:
			return nil, refuse(ErrContactNotApproved, "contact %d is not on %s's contact list", id, p.Name)
		case c.Banned:
			return nil, refuse(ErrContactBanned, "%s is banned from contacting %s", c.Name, p.Name)
		case !c.Approved:
			return nil, refuse(ErrContactNotApproved, "%s is not yet approved to contact %s", c.Name, p.Name)
		case c.Kind.CallType() != req.CallType:
			return nil, refuse(ErrContactKind, "%s is a %s contact and cannot join a %s call",
				c.Name, c.Kind, req.CallType)
		}
		out = append(out, c)
	}
	if req.CallType == CallSocial {
		if err := checkAges(out, set, callDate); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkAges applies the social-visit age rules of set on the day of the
// call: the lead visitor (the first) is an adult and at most MaxAdults are
// adults. A visitor with no recorded date of birth counts as an adult.
func checkAges(visitors []PrisonerContact, set Settings, on time.Time) error {
	adults := 0
	for i, v := range visitors {
		adult := v.DateOfBirth.IsZero() || ageOn(v.DateOfBirth, on) >= set.AdultAge
		if i == 0 && !adult {
			return refuse(ErrLeadVisitorUnder18, "the lead visitor, %s, must be %d or over", v.Name, set.AdultAge)
		}
		if adult {
			adults++
		}
	}
	if adults > set.MaxAdults {
		return refuse(ErrTooManyAdults, "at most %d adults may join a social call; %d were given", set.MaxAdults, adults)
	}
	return nil
}

// ageOn is the age in whole years on civil date on of someone born on civil
// date dob.
func ageOn(dob, on time.Time) int {
	age := on.Year() - dob.Year()
	if on.Month() < dob.Month() || (on.Month() == dob.Month() && on.Day() < dob.Day()) {
		age--
	}
	return age
}

// newBooking assembles a confirmed booking: the prisoner first, then the
// contacts in request order, each with a fresh opaque participant id.
func newBooking(ref string, sl Slot, p Prisoner, contacts []PrisonerContact, ct CallType, actor Staff, now time.Time) Booking {
	parts := make([]Participant, 0, 1+len(contacts))
	parts = append(parts, Participant{ID: newParticipantID(), Role: RolePrisoner, Name: p.Name, PrisonerID: p.ID})
	for _, c := range contacts {
		parts = append(parts, Participant{ID: newParticipantID(), Role: contactRole(c.Kind), Name: c.Name, ContactID: c.ID})
	}
	return Booking{
		Reference:    ref,
		PrisonID:     sl.PrisonID,
		RoomID:       sl.RoomID,
		RoomName:     sl.RoomName,
		TemplateID:   sl.TemplateID,
		SlotID:       sl.ID,
		PrisonerID:   p.ID,
		CallType:     ct,
		Status:       StatusBooked,
		StartsAt:     sl.StartsAt,
		EndsAt:       sl.EndsAt,
		CreatedAt:    now.UTC().Truncate(time.Second),
		CreatedBy:    actor.ID,
		Participants: parts,
	}
}

// contactRole is the participant role of a contact of kind k.
func contactRole(k ContactKind) Role {
	switch k {
	case ContactLegal:
		return RoleLegal
	case ContactProbation:
		return RoleProbation
	}
	return RoleVisitor
}
