package booking

import "context"

// Who may do what. Admins see and book at every prison, and alone change the
// set-up; everyone else sees only their own prison. Clerks book every call
// type; probation officers see the prisoners on their caseload and their
// probation calls only, and book only those; security officers book
// nothing (they read, and never get join links).

// canSeePrison reports whether st may read the prison's data.
func (st Staff) canSeePrison(prisonID int64) bool {
	if st.Role == StaffAdmin {
		return true
	}
	return st.PrisonID != 0 && st.PrisonID == prisonID
}

// canBook reports whether st may book (and cancel) calls of type ct.
func (st Staff) canBook(ct CallType) bool {
	switch st.Role {
	case StaffAdmin, StaffClerk:
		return true
	case StaffProbation:
		return ct == CallProbation
	}
	return false
}

// canManage reports whether st may cancel b and see its join links: the
// links admit people to the call, so only those who could have booked it
// get them.
func (st Staff) canManage(b Booking) bool {
	return st.canSeeBooking(b) && st.canBook(b.CallType)
}

// canAdminister reports whether st may change the set-up: prisons, rooms,
// slot templates, excluded dates, prisoners, contacts, staff accounts,
// devices and caseloads. Only admins may.
func (st Staff) canAdminister() bool { return st.Role == StaffAdmin }

// requireAdmin refuses every staff member but admins with ErrForbidden.
func requireAdmin(st Staff) error {
	if !st.canAdminister() {
		return refuse(ErrForbidden, "only administrators may change the set-up; a %s may not", st.Role)
	}
	return nil
}

// hasCaseload reports whether st sees only the prisoners on their own
// caseload: probation officers do.
func (st Staff) hasCaseload() bool { return st.Role == StaffProbation }

// caseload is the set of prisoner ids on a probation officer's caseload,
// as authentication read it for one request.
type caseload struct{ ids map[int64]bool }

// withCaseload returns st with its caseload loaded, when st is limited to
// one (a probation officer); others are returned as they are.
func withCaseload(ctx context.Context, q CaseloadQueries, st Staff) (Staff, error) {
	if !st.hasCaseload() {
		return st, nil
	}
	list, err := q.Caseload(ctx, st.ID)
	if err != nil {
		return Staff{}, err
	}
	c := &caseload{ids: make(map[int64]bool, len(list))}
	for _, p := range list {
		c.ids[p.ID] = true
	}
	st.caseload = c
	return st, nil
}

// onCaseload reports whether the prisoner is on st's loaded caseload.
func (st Staff) onCaseload(prisonerID int64) bool {
	return st.caseload != nil && st.caseload.ids[prisonerID]
}

// canSeePrisoner reports whether st may see prisoner p, their contacts and
// book for them: p is at a prison st can see and, for a probation officer,
// on their caseload.
func (st Staff) canSeePrisoner(p Prisoner) bool {
	return st.canSeePrison(p.PrisonID) && (!st.hasCaseload() || st.onCaseload(p.ID))
}

// canSeeBooking reports whether st may see b: b is at a prison st can see
// and, for a probation officer, a probation call of a prisoner on their
// caseload.
func (st Staff) canSeeBooking(b Booking) bool {
	if !st.canSeePrison(b.PrisonID) {
		return false
	}
	return !st.hasCaseload() || b.CallType == CallProbation && st.onCaseload(b.PrisonerID)
}

// visibleBookings keeps the bookings of list that st may see, in order.
func (st Staff) visibleBookings(list []Booking) []Booking {
	out := list[:0:0]
	for _, b := range list {
		if st.canSeeBooking(b) {
			out = append(out, b)
		}
	}
	return out
}

// visiblePrisoners keeps the prisoners of list that st may see, in order.
func (st Staff) visiblePrisoners(list []Prisoner) []Prisoner {
	out := list[:0:0]
	for _, p := range list {
		if st.canSeePrisoner(p) {
			out = append(out, p)
		}
	}
	return out
}
