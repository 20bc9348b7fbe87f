package booking

import (
	"context"
	"fmt"
	"time"
)

// RebookingChoices is how many slots a rebooking offer lists at most.
const RebookingChoices = 5

// rebookingSearchDays is how many days of slots one step of the rebooking
// search lists.
const rebookingSearchDays = 7

// rebookingSlots finds the next slots, from now, into which the call of b
// could be booked again for the same participants: slots of the same room
// that take its call type, inside the booking window with a place left,
// where the prisoner has no other call, shares the slot with no
// non-associated prisoner and (for a social call) has the allowance left.
// It looks no further ahead than the prison lets anyone book.
func (s *Service) rebookingSlots(ctx context.Context, actor Staff, b Booking, now time.Time) ([]Slot, error) {
	prison, err := s.store.Prison(ctx, b.PrisonID)
	if err != nil {
		return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
	}
	loc, err := loadLocation(prison)
	if err != nil {
		return nil, err
	}
	set, err := s.store.PrisonSettings(ctx, b.PrisonID)
	if err != nil {
		return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
	}
	busy, err := s.store.PrisonerBookings(ctx, b.PrisonerID, now)
	if err != nil {
		return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
	}
	pairs, err := s.store.NonAssociations(ctx, b.PrisonerID)
	if err != nil {
		return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
	}
	avoid := map[int64]bool{}
	for _, n := range pairs {
		avoid[n.OtherPrisonerID] = true
	}
	used := map[string]int{} // minutes of allowance used, by local month
	y, m, d := now.In(loc).Date()
	first := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 0, set.MaxDaysAhead)
	out := []Slot{}
	for from := first; !from.After(last) && len(out) < RebookingChoices; from = from.AddDate(0, 0, rebookingSearchDays) {
		to := from.AddDate(0, 0, rebookingSearchDays-1)
		if to.After(last) {
			to = last
		}
		slots, err := s.Slots(ctx, actor, b.PrisonID, from, to)
		if err != nil {
			return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
		}
		var shared map[string]bool // slots a non-associated prisoner is in
		if len(avoid) > 0 {
			if shared, err = s.slotsWith(ctx, b.PrisonID, avoid, loc, from, to); err != nil {
				return nil, err
			}
		}
		for _, sl := range slots {
			if len(out) == RebookingChoices {
				break
			}
			if sl.RoomID != b.RoomID || !sl.Bookable || !takes(sl, b.CallType) || shared[sl.ID] || overlaps(busy, sl) {
				continue
			}
			if b.CallType == CallSocial {
				fromM, toM, month := monthBounds(sl.StartsAt, loc)
				if _, ok := used[month]; !ok {
					if used[month], err = s.store.SocialMinutes(ctx, b.PrisonerID, fromM, toM); err != nil {
						return nil, fmt.Errorf("rebooking of booking %d: %w", b.ID, err)
					}
				}
				if used[month]+int(sl.EndsAt.Sub(sl.StartsAt)/time.Minute) > set.SocialAllowanceMinutes {
					continue
				}
			}
			out = append(out, sl)
		}
	}
	return out, nil
}

// slotsWith returns the ids of the slots, on local dates from to to, in
// which one of prisoners has an active booking.
func (s *Service) slotsWith(ctx context.Context, prisonID int64, prisoners map[int64]bool, loc *time.Location, from, to time.Time) (map[string]bool, error) {
	start, end := localDayBounds(loc, from, to)
	list, err := s.store.Bookings(ctx, prisonID, start, end)
	if err != nil {
		return nil, fmt.Errorf("bookings of prison %d: %w", prisonID, err)
	}
	out := map[string]bool{}
	for _, b := range list {
		if b.Status.Active() && prisoners[b.PrisonerID] {
			out[b.SlotID] = true
		}
	}
	return out, nil
}

// takes reports whether sl takes calls of type ct.
func takes(sl Slot, ct CallType) bool {
	for _, c := range sl.CallTypes {
		if c == ct {
			return true
		}
	}
	return false
}

// overlaps reports whether one of bookings overlaps sl.
func overlaps(bookings []Booking, sl Slot) bool {
	for _, b := range bookings {
		if b.StartsAt.Before(sl.EndsAt) && b.EndsAt.After(sl.StartsAt) {
			return true
		}
	}
	return false
}
