package booking

import "net/http"

// createPrisoner serves POST /api/v1/prisons/{prisonId}/prisoners.
func (a *api) createPrisoner() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req prisonerRequest) (Prisoner, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return Prisoner{}, err
		}
		return a.svc.createPrisoner(r.Context(), who.staff, id, req)
	})
}

// updatePrisoner serves PUT /api/v1/prisoners/{prisonerId}.
func (a *api) updatePrisoner() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req prisonerUpdate) (Prisoner, error) {
		id, err := pathID(r, "prisonerId")
		if err != nil {
			return Prisoner{}, err
		}
		return a.svc.updatePrisoner(r.Context(), who.staff, id, req)
	})
}

// createContact serves POST /api/v1/contacts.
func (a *api) createContact() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req contactRequest) (contactRecord, error) {
		c, err := a.svc.createContact(r.Context(), who.staff, req)
		return c.record(), err
	})
}

// linkContact serves POST /api/v1/prisoners/{prisonerId}/contacts.
func (a *api) linkContact() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req linkRequest) (contactView, error) {
		id, err := pathID(r, "prisonerId")
		if err != nil {
			return contactView{}, err
		}
		pc, err := a.svc.linkContact(r.Context(), who.staff, id, req)
		return pc.view(), err
	})
}

// updateLink serves PUT /api/v1/prisoners/{prisonerId}/contacts/{id}.
func (a *api) updateLink() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req linkUpdate) (contactView, error) {
		prisonerID, err := pathID(r, "prisonerId")
		if err != nil {
			return contactView{}, err
		}
		contactID, err := pathID(r, "id")
		if err != nil {
			return contactView{}, err
		}
		pc, err := a.svc.updateLink(r.Context(), who.staff, prisonerID, contactID, req)
		return pc.view(), err
	})
}
