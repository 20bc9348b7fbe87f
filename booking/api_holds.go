package booking

import "net/http"

// createHold serves POST /api/v1/holds.
func (a *api) createHold(w http.ResponseWriter, r *http.Request, who principal) {
	var req HoldRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	h, err := a.svc.CreateHold(r.Context(), who.staff, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, h)
}

// releaseHold serves DELETE /api/v1/holds/{id}.
func (a *api) releaseHold(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.svc.ReleaseHold(r.Context(), who.staff, id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowance serves GET /api/v1/prisoners/{prisonerId}/allowance?month=.
func (a *api) allowance(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	month := r.URL.Query().Get("month")
	if r.URL.Query().Has("month") && month == "" {
		a.fail(w, r, refuse(ErrValidation, "month must be YYYY-MM"))
		return
	}
	al, err := a.svc.PrisonerAllowance(r.Context(), who.staff, id, month)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, al)
}
