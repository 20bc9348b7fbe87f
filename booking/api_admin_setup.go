package booking

import "net/http"

// createPrison serves POST /api/v1/prisons.
func (a *api) createPrison() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req prisonRequest) (Prison, error) {
		return a.svc.createPrison(r.Context(), who.staff, req)
	})
}

// updatePrison serves PUT /api/v1/prisons/{prisonId}.
func (a *api) updatePrison() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req prisonUpdate) (Prison, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return Prison{}, err
		}
		return a.svc.updatePrison(r.Context(), who.staff, id, req)
	})
}

// listRooms serves GET /api/v1/prisons/{prisonId}/rooms.
func (a *api) listRooms() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]Room, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return nil, err
		}
		return a.svc.rooms(r.Context(), who.staff, id)
	})
}

// createRoom serves POST /api/v1/prisons/{prisonId}/rooms.
func (a *api) createRoom() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req roomRequest) (Room, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return Room{}, err
		}
		return a.svc.createRoom(r.Context(), who.staff, id, req)
	})
}

// updateRoom serves PUT /api/v1/rooms/{id}.
func (a *api) updateRoom() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req roomRequest) (Room, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Room{}, err
		}
		return a.svc.updateRoom(r.Context(), who.staff, id, req)
	})
}

// deleteRoom serves DELETE /api/v1/rooms/{id}.
func (a *api) deleteRoom() authedHandler {
	return actionHandler(a, func(r *http.Request, who principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		return a.svc.deleteRoom(r.Context(), who.staff, id)
	})
}

// listTemplates serves GET /api/v1/prisons/{prisonId}/slot-templates.
func (a *api) listTemplates() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]templateView, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return nil, err
		}
		list, err := a.svc.slotTemplates(r.Context(), who.staff, id)
		if err != nil {
			return nil, err
		}
		out := make([]templateView, 0, len(list))
		for _, t := range list {
			out = append(out, viewTemplate(t))
		}
		return out, nil
	})
}

// createTemplate serves POST /api/v1/prisons/{prisonId}/slot-templates.
func (a *api) createTemplate() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req templateRequest) (templateView, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return templateView{}, err
		}
		t, err := a.svc.createSlotTemplate(r.Context(), who.staff, id, req)
		return viewTemplate(t), err
	})
}

// updateTemplate serves PUT /api/v1/slot-templates/{id}.
func (a *api) updateTemplate() authedHandler {
	return jsonHandler(a, http.StatusOK, func(r *http.Request, who principal, req templateUpdate) (templateView, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return templateView{}, err
		}
		t, err := a.svc.updateSlotTemplate(r.Context(), who.staff, id, req)
		return viewTemplate(t), err
	})
}

// deleteTemplate serves DELETE /api/v1/slot-templates/{id}.
func (a *api) deleteTemplate() authedHandler {
	return actionHandler(a, func(r *http.Request, who principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		return a.svc.deleteSlotTemplate(r.Context(), who.staff, id)
	})
}

// listExcluded serves GET /api/v1/prisons/{prisonId}/excluded-dates.
func (a *api) listExcluded() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]excludedView, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return nil, err
		}
		list, err := a.svc.excludedDates(r.Context(), who.staff, id)
		if err != nil {
			return nil, err
		}
		out := make([]excludedView, 0, len(list))
		for _, e := range list {
			out = append(out, e.view())
		}
		return out, nil
	})
}

// createExcluded serves POST /api/v1/prisons/{prisonId}/excluded-dates.
func (a *api) createExcluded() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req excludedRequest) (excludedView, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return excludedView{}, err
		}
		e, err := a.svc.createExcludedDate(r.Context(), who.staff, id, req)
		return e.view(), err
	})
}

// deleteExcluded serves DELETE /api/v1/excluded-dates/{id}.
func (a *api) deleteExcluded() authedHandler {
	return actionHandler(a, func(r *http.Request, who principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		return a.svc.deleteExcludedDate(r.Context(), who.staff, id)
	})
}
