package booking

import (
	"net/http"
)

// The administration API: set-up of prisons, rooms, slot templates and
// excluded dates (api_admin_setup.go), prisoners and contacts
// (api_admin_people.go), staff accounts and caseloads
// (api_admin_staff.go), and prisoner devices (api_devices.go). Writes are
// for admins only; the checks are the Service's (access.go), and admin
// routes also refuse everyone else before reading the request, so that a
// clerk learns nothing from the validation of a body they may not send.

// admin wraps h so that only admins reach it.
func (a *api) admin(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who principal) {
		if err := requireAdmin(who.staff); err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, who)
	}
}

// jsonHandler serves a request with a JSON body: it decodes the body into a
// Req (refusing unknown fields) and answers status with do's result.
func jsonHandler[Req, Res any](a *api, status int, do func(r *http.Request, who principal, req Req) (Res, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who principal) {
		var req Req
		if err := decode(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		res, err := do(r, who, req)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeJSON(w, r, status, res)
	}
}

// readHandler serves a request without a body, answering 200 with do's
// result.
func readHandler[Res any](a *api, do func(r *http.Request, who principal) (Res, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who principal) {
		res, err := do(r, who)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeJSON(w, r, http.StatusOK, res)
	}
}

// actionHandler serves a request without a body that answers 204.
func actionHandler(a *api, do func(r *http.Request, who principal) error) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who principal) {
		if err := do(r, who); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
