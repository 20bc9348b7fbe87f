package booking

// Who may do what. Admins see and book at every prison; everyone else only
// at their own. Clerks book every call type, probation officers only
// probation calls, security officers nothing (they read).

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
	return st.canSeePrison(b.PrisonID) && st.canBook(b.CallType)
}
