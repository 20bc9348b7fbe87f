package booking

import "net/http"

// listDevices serves GET /api/v1/prisons/{prisonId}/devices.
func (a *api) listDevices() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) ([]Device, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return nil, err
		}
		return a.svc.devices(r.Context(), who.staff, id)
	})
}

// registerDevice serves POST /api/v1/prisons/{prisonId}/devices: 201 with
// the device's one-time secret.
func (a *api) registerDevice() authedHandler {
	return jsonHandler(a, http.StatusCreated, func(r *http.Request, who principal, req deviceRequest) (registeredDevice, error) {
		id, err := pathID(r, "prisonId")
		if err != nil {
			return registeredDevice{}, err
		}
		return a.svc.registerDevice(r.Context(), who.staff, id, req)
	})
}

// disableDevice serves POST /api/v1/devices/{id}/disable.
func (a *api) disableDevice() authedHandler {
	return readHandler(a, func(r *http.Request, who principal) (Device, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return Device{}, err
		}
		return a.svc.disableDevice(r.Context(), who.staff, id)
	})
}
