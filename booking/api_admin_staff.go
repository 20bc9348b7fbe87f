package booking

import "net/http"

// listStaff serves GET /api/v1/staff.
func (a *api) listStaff() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]Staff, error) {
		return a.svc.staffList(r.Context(), who.staff)
	})
}

// createStaff serves POST /api/v1/staff.
func (a *api) createStaff() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req staffRequest) (Staff, error) {
		return a.svc.createStaff(r.Context(), who.staff, req)
	})
}

// updateStaff serves PUT /api/v1/staff/{id}.
func (a *api) updateStaff() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req staffUpdate) (Staff, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Staff{}, err
		}
		return a.svc.updateStaff(r.Context(), who.staff, id, req)
	})
}

// disableStaff serves POST /api/v1/staff/{id}/disable.
func (a *api) disableStaff() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (Staff, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Staff{}, err
		}
		return a.svc.disableStaff(r.Context(), who.staff, id)
	})
}

// getCaseload serves GET /api/v1/staff/{id}/caseload.
func (a *api) getCaseload() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]Prisoner, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return nil, err
		}
		return a.svc.caseload(r.Context(), who.staff, id)
	})
}

// addToCaseload serves POST /api/v1/staff/{id}/caseload.
func (a *api) addToCaseload() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req caseloadRequest) (Prisoner, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Prisoner{}, err
		}
		return a.svc.addToCaseload(r.Context(), who.staff, id, req)
	})
}

// removeFromCaseload serves DELETE /api/v1/staff/{id}/caseload/{prisonerId}.
func (a *api) removeFromCaseload() authedHandler {
	return actionHandler(a, func(r *http.Request, who principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		prisonerID, err := pathID(r, "prisonerId")
		if err != nil {
			return err
		}
		return a.svc.removeFromCaseload(r.Context(), who.staff, id, prisonerID)
	})
}
