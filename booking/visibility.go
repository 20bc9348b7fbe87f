package booking

import (
	"context"
	"errors"
	"time"
)

// Reads that show each staff member only what they may see (access.go):
// the API's lists and lookups of bookings, prisoners and contacts go
// through these.

// visibleBookings lists the bookings of a prison starting in [from, to)
// that actor may see, by start time. A prison actor cannot see wraps
// ErrNotFound.
func (s *Service) visibleBookings(ctx context.Context, actor Staff, prisonID int64, from, to time.Time) ([]Booking, error) {
	if !actor.canSeePrison(prisonID) {
		return nil, notFoundf("prison %d", prisonID)
	}
	list, err := s.store.Bookings(ctx, prisonID, from, to)
	if err != nil {
		return nil, err
	}
	return actor.visibleBookings(list), nil
}

// visibleBooking reads a booking actor may see; any other wraps
// ErrNotFound.
func (s *Service) visibleBooking(ctx context.Context, actor Staff, id int64) (Booking, error) {
	b, err := s.Booking(ctx, id)
	if err != nil {
		return Booking{}, err
	}
	if !actor.canSeeBooking(b) {
		return Booking{}, notFoundf("booking %d", id)
	}
	return b, nil
}

// visiblePrisoners lists the prisoners of a prison that actor may see (a
// probation officer: those on their caseload), by name.
func (s *Service) visiblePrisoners(ctx context.Context, actor Staff, prisonID int64) ([]Prisoner, error) {
	if err := s.checkPrisonVisible(ctx, actor, prisonID); err != nil {
		return nil, err
	}
	list, err := s.store.Prisoners(ctx, prisonID)
	if err != nil {
		return nil, err
	}
	return actor.visiblePrisoners(list), nil
}

// visibleContacts lists the contacts of a prisoner actor may see; any
// other prisoner is a *Refusal with ErrPrisonerNotFound.
func (s *Service) visibleContacts(ctx context.Context, actor Staff, prisonerID int64) ([]PrisonerContact, error) {
	p, err := s.store.Prisoner(ctx, prisonerID)
	if errors.Is(err, ErrNotFound) || err == nil && !actor.canSeePrisoner(p) {
		return nil, refuse(ErrPrisonerNotFound, "there is no prisoner %d", prisonerID)
	} else if err != nil {
		return nil, err
	}
	return s.store.PrisonerContacts(ctx, prisonerID)
}
