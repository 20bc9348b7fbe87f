package booking

import (
	"net/http"
	"time"
)

// reviewBooking serves POST /api/v1/bookings/{id}/review.
func (a *api) reviewBooking(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req ReviewRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.svc.ReviewBooking(r.Context(), who.staff, id, req)
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

// reviewQueue answers GET /api/v1/bookings?needsReview=true: the
// prison's active bookings flagged for review, of any date unless from or
// to (local dates, inclusive) narrow it, by start time.
func (a *api) reviewQueue(w http.ResponseWriter, r *http.Request, who principal, prisonID int64, loc *time.Location) {
	var from, to time.Time
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			d, err := ParseDate(s)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			*p.dst = d
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		a.fail(w, r, refuse(ErrValidation, "'to' is before 'from'"))
		return
	}
	var start, end time.Time
	if !from.IsZero() {
		start, _ = localDayBounds(loc, from, from)
	}
	if !to.IsZero() {
		_, end = localDayBounds(loc, to, to)
	}
	list, err := a.svc.store.ReviewQueue(r.Context(), prisonID, start, end)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list = who.staff.visibleBookings(list)
	for i := range list {
		if list[i], err = a.present(who, list[i]); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.writeJSON(w, r, http.StatusOK, list)
}

// needsReviewParam reads the needsReview query parameter: true, false or
// absent (false).
func needsReviewParam(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("needsReview") {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, refuse(ErrValidation, "needsReview must be true or false")
}
