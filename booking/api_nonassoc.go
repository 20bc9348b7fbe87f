package booking

import "net/http"

// listNonAssociations serves GET /api/v1/prisoners/{prisonerId}/non-associations.
func (a *api) listNonAssociations(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.svc.NonAssociations(r.Context(), who.staff, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, list)
}

// addNonAssociation serves POST /api/v1/prisoners/{prisonerId}/non-associations.
func (a *api) addNonAssociation(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req NonAssociationRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	added, err := a.svc.AddNonAssociation(r.Context(), who.staff, id, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, added)
}

// removeNonAssociation serves DELETE
// /api/v1/prisoners/{prisonerId}/non-associations: the body names the
// other prisoner and the reason, which the audit log keeps.
func (a *api) removeNonAssociation(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req NonAssociationRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.svc.RemoveNonAssociation(r.Context(), who.staff, id, req); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
