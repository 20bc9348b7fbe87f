package booking

import (
	"fmt"
	"time"
)

// booker is who a booking-window check is for: staff may book inside a
// visitor's minimum notice, visitors may not.
type booker int

// Who books.
const (
	bookerStaff booker = iota
	bookerVisitor
)

// inWindow reports whether a slot may be booked at now under set: it starts
// at most MaxDaysAhead days ahead, and either (staff) at least
// StaffMinMinutesLeft of it is left, so a slot in progress may still be
// booked, or (visitors) it starts at least VisitorMinDaysAhead days ahead.
func inWindow(set Settings, who booker, sl Slot, now time.Time) bool {
	if sl.StartsAt.After(now.Add(set.maxAdvance())) {
		return false
	}
	if who == bookerVisitor {
		return !sl.StartsAt.Before(now.Add(time.Duration(set.VisitorMinDaysAhead) * 24 * time.Hour))
	}
	return !now.After(sl.EndsAt.Add(-time.Duration(set.StaffMinMinutesLeft) * time.Minute))
}

// windowDetail explains the booking window for a refusal.
func windowDetail(set Settings, who booker, sl Slot) string {
	if who == bookerVisitor {
		return fmt.Sprintf("slot %s cannot be booked now: visitors may book from %d to %d days ahead",
			sl.ID, set.VisitorMinDaysAhead, set.MaxDaysAhead)
	}
	return fmt.Sprintf("slot %s cannot be booked now: a slot may be booked at most %d days ahead, and until %d minutes before it ends",
		sl.ID, set.MaxDaysAhead, set.StaffMinMinutesLeft)
}
