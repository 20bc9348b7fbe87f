package booking

import "net/http"

// recordOutcome serves POST /api/v1/bookings/{id}/outcome.
func (a *api) recordOutcome(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req OutcomeRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.svc.RecordStaffOutcome(r.Context(), who.staff, id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if res.Booking, err = a.present(who, res.Booking); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, res)
}

// movePrisoner serves POST /api/v1/prisoners/{prisonerId}/move.
func (a *api) movePrisoner(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req MoveRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.svc.MovePrisoner(r.Context(), who.staff, id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, res)
}
