package booking

import (
	"context"
	"time"
)

// RulesQueries are the reads and writes of the booking rules beyond a
// booking itself: prison settings, holds, allowances, non-associations,
// outcomes and prisoner moves. Lookups by id wrap ErrNotFound.
type RulesQueries interface {
	// PrisonSettings returns a prison's settings, or Defaults() when it
	// has stored none.
	PrisonSettings(ctx context.Context, prisonID int64) (Settings, error)
	// SetPrisonSettings stores a prison's settings (replacing any), as set
	// by staff member by at at.
	SetPrisonSettings(ctx context.Context, prisonID int64, s Settings, by int64, at time.Time) error

	// LockPrisoner must be called inside InTx before a prisoner's status,
	// prison or non-associations change: until the transaction ends no
	// booking of that prisoner can be checked or written (it shares
	// LockBooking's prisoner lock). A transaction that calls LockBooking
	// must not call it too; one that locks several prisoners locks them in
	// ascending id order. Outside InTx it is an error.
	LockPrisoner(ctx context.Context, prisonerID int64) error

	// CreateHold inserts a hold and returns its id; h.ID is ignored.
	CreateHold(ctx context.Context, h Hold) (int64, error)
	// Hold reads one hold, expired or not.
	Hold(ctx context.Context, id int64) (Hold, error)
	// DeleteHold removes a hold; it wraps ErrNotFound when there is none.
	DeleteHold(ctx context.Context, id int64) error
	// DeletePrisonerHolds removes every hold of a prisoner on a slot
	// (a booking consuming them) and returns how many there were.
	DeletePrisonerHolds(ctx context.Context, slotID string, prisonerID int64) (int64, error)
	// DeleteExpiredHolds removes the holds expired at now, of one slot or,
	// when slotID is "", of every slot, and returns how many.
	DeleteExpiredHolds(ctx context.Context, slotID string, now time.Time) (int64, error)
	// HeldCounts counts the holds of a prison unexpired at now, per slot id.
	HeldCounts(ctx context.Context, prisonID int64, now time.Time) (map[string]int, error)
	// SlotOccupancy is what the capacity and non-association rules read of
	// one slot at now, for prisonerID: see Occupancy.
	SlotOccupancy(ctx context.Context, slotID string, prisonerID int64, now time.Time) (Occupancy, error)

	// SocialMinutes sums the minutes of the prisoner's social bookings
	// starting in [from, to) that use the allowance (see
	// Status.UsesAllowance).
	SocialMinutes(ctx context.Context, prisonerID int64, from, to time.Time) (int, error)

	// AddNonAssociation stores a pair (in either order); it wraps
	// ErrDuplicate when the pair exists.
	AddNonAssociation(ctx context.Context, n NonAssociation) error
	// RemoveNonAssociation removes a pair (in either order); it wraps
	// ErrNotFound when there is none.
	RemoveNonAssociation(ctx context.Context, a, b int64) error
	// NonAssociations lists a prisoner's pairs, each with PrisonerID set to
	// prisonerID, by the other prisoner's id.
	NonAssociations(ctx context.Context, prisonerID int64) ([]NonAssociation, error)
	// SharedSlotBookings returns the ids of the active bookings of a and of
	// b that end after t and share a slot with an active booking of the
	// other, by id.
	SharedSlotBookings(ctx context.Context, a, b int64, t time.Time) ([]int64, error)

	// ChangeBookingStatus moves a booking from status from to status to,
	// with a reason, and records whether a rebooking was offered. It wraps
	// ErrNotFound when there is no such booking and returns a *Refusal with
	// ErrInvalidTransition when the booking is no longer in status from.
	ChangeBookingStatus(ctx context.Context, id int64, from, to Status, reason string, rebookOffered bool) error
	// SetBookingReview sets or clears a booking's review flag and reason.
	// It wraps ErrNotFound when there is no such booking.
	SetBookingReview(ctx context.Context, id int64, needsReview bool, reason string) error
	// PrisonerBookings lists the prisoner's active bookings that end after
	// t, by start, without participants.
	PrisonerBookings(ctx context.Context, prisonerID int64, t time.Time) ([]Booking, error)
	// ReviewQueue lists a prison's active bookings flagged for review that
	// start in [from, to), with their participants, by start.
	ReviewQueue(ctx context.Context, prisonID int64, from, to time.Time) ([]Booking, error)
	// MovePrisoner sets a prisoner's prison and status. It wraps
	// ErrNotFound when there is no such prisoner.
	MovePrisoner(ctx context.Context, prisonerID, prisonID int64, st PrisonerStatus) error
}

// Occupancy is one slot's use at an instant, as seen by one prisoner.
type Occupancy struct {
	// Booked counts the slot's active bookings.
	Booked int
	// Held counts the unexpired holds of other prisoners on the slot.
	Held int
	// OwnHolds counts the prisoner's own unexpired holds on the slot.
	OwnHolds int
	// NonAssociated counts the prisoners non-associated with this one who
	// have an active booking or an unexpired hold in the slot.
	NonAssociated int
}

// Taken is the number of places in use, not counting the prisoner's own
// holds.
func (o Occupancy) Taken() int { return o.Booked + o.Held }
