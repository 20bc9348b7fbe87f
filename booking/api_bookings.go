package booking

import (
	"net/http"
	"strconv"
)

// cancelRequest is the body of POST /api/v1/bookings/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// present prepares a booking for who: join links while it is active, and
// only for those who may manage it (the links admit people to the call).
func (a *api) present(who principal, b Booking) (Booking, error) {
	if b.Status.Active() && who.staff.canManage(b) {
		return a.svc.withJoinURLs(b)
	}
	return b, nil
}

// createBooking serves POST /api/v1/bookings.
func (a *api) createBooking(w http.ResponseWriter, r *http.Request, who principal) {
	var req CreateRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.svc.CreateBooking(r.Context(), who.staff, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if b, err = a.svc.withJoinURLs(b); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/bookings/"+strconv.FormatInt(b.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, b)
}

// getBooking serves GET /api/v1/bookings/{id}.
func (a *api) getBooking(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.svc.visibleBooking(r.Context(), who.staff, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if b, err = a.present(who, b); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, b)
}

// listBookings serves GET /api/v1/bookings?prisonId=&from=&to=. prisonId
// defaults to the staff member's prison; the dates (inclusive, prison local
// time) default to the 31 days from today. With needsReview=true it lists
// the review queue instead (see reviewQueue).
func (a *api) listBookings(w http.ResponseWriter, r *http.Request, who principal) {
	prisonID := who.staff.PrisonID
	if s := r.URL.Query().Get("prisonId"); s != "" {
		if !allDigits(s) || len(s) > 15 || s[0] == '0' {
			a.fail(w, r, refuse(ErrValidation, "prisonId must be a positive integer"))
			return
		}
		prisonID, _ = strconv.ParseInt(s, 10, 64)
	}
	if prisonID == 0 {
		a.fail(w, r, refuse(ErrValidation, "prisonId is required"))
		return
	}
	prison, err := a.visiblePrison(r, who, prisonID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	loc, err := loadLocation(prison)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if review, err := needsReviewParam(r); err != nil {
		a.fail(w, r, err)
		return
	} else if review {
		a.reviewQueue(w, r, who, prisonID, loc)
		return
	}
	from, to, err := dateRange(r, loc, a.svc.clock.Now(), MaxSlotRangeDays)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	start, end := localDayBounds(loc, from, to)
	list, err := a.svc.visibleBookings(r.Context(), who.staff, prisonID, start, end)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for i := range list {
		if list[i], err = a.present(who, list[i]); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.writeJSON(w, r, http.StatusOK, list)
}

// cancelBooking serves POST /api/v1/bookings/{id}/cancel.
func (a *api) cancelBooking(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req cancelRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.svc.CancelBooking(r.Context(), who.staff, id, req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if b, err = a.present(who, b); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, b)
}
