package booking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 64 << 10

// SessionCookie is the name of the staff session cookie.
const SessionCookie = "gatehouse_session"

// CSRFHeader must carry the session's CSRF token on unsafe requests
// authenticated by the cookie.
const CSRFHeader = "X-CSRF-Token"

// api is the staff HTTP API over a Service.
type api struct {
	svc *Service
	log *slog.Logger
}

// principal is who an authenticated request is from.
type principal struct {
	staff   Staff
	session Session
}

// authedHandler serves a request from an authenticated staff member.
type authedHandler func(w http.ResponseWriter, r *http.Request, who principal)

// NewAPI returns the staff API, JSON under /api/v1/ (mount it at "/api/v1/").
// Every error is an application/problem+json document with a stable code;
// see API.md.
func NewAPI(s *Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{svc: s, log: log}
	mux := http.NewServeMux()
	var paths []string
	byPath := map[string]map[string]http.HandlerFunc{}
	for _, rt := range a.routes() {
		if byPath[rt.path] == nil {
			paths = append(paths, rt.path)
			byPath[rt.path] = map[string]http.HandlerFunc{}
		}
		byPath[rt.path][rt.method] = rt.handler
	}
	for _, p := range paths {
		a.route(mux, p, byPath[p])
	}
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		problem.Error(w, http.StatusNotFound, "not_found", "there is no such API endpoint")
	})
	return a.recoverer(mux)
}

// apiRoute is one operation of the API: a method, a ServeMux path pattern
// (also the OpenAPI path template) and its handler.
type apiRoute struct {
	method, path string
	handler      http.HandlerFunc
}

// routes is every operation NewAPI serves; the OpenAPI test checks that
// openapi.json documents exactly these.
func (a *api) routes() []apiRoute {
	return []apiRoute{
		{http.MethodGet, "/api/v1/openapi.json", serveOpenAPI},
		{http.MethodPost, "/api/v1/auth/login", a.login},
		{http.MethodPost, "/api/v1/auth/logout", a.authed(a.logout)},
		{http.MethodGet, "/api/v1/me", a.authed(a.me)},
		{http.MethodGet, "/api/v1/prisons", a.authed(a.prisons)},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/slots", a.authed(a.slots)},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/prisoners", a.authed(a.prisoners)},
		{http.MethodGet, "/api/v1/prisoners/{prisonerId}/contacts", a.authed(a.contacts)},
		{http.MethodGet, "/api/v1/bookings", a.authed(a.listBookings)},
		{http.MethodPost, "/api/v1/bookings", a.authed(a.createBooking)},
		{http.MethodGet, "/api/v1/bookings/{id}", a.authed(a.getBooking)},
		{http.MethodPost, "/api/v1/bookings/{id}/cancel", a.authed(a.cancelBooking)},
		{http.MethodPost, "/api/v1/bookings/{id}/outcome", a.authed(a.recordOutcome)},
		{http.MethodPost, "/api/v1/bookings/{id}/review", a.authed(a.reviewBooking)},
		{http.MethodPost, "/api/v1/holds", a.authed(a.createHold)},
		{http.MethodDelete, "/api/v1/holds/{id}", a.authed(a.releaseHold)},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/settings", a.authed(a.getSettings)},
		{http.MethodPut, "/api/v1/prisons/{prisonId}/settings", a.authed(a.putSettings)},
		{http.MethodGet, "/api/v1/prisoners/{prisonerId}/allowance", a.authed(a.allowance)},
		{http.MethodGet, "/api/v1/prisoners/{prisonerId}/non-associations", a.authed(a.listNonAssociations)},
		{http.MethodPost, "/api/v1/prisoners/{prisonerId}/non-associations", a.authed(a.addNonAssociation)},
		{http.MethodDelete, "/api/v1/prisoners/{prisonerId}/non-associations", a.authed(a.removeNonAssociation)},
		{http.MethodPost, "/api/v1/prisoners/{prisonerId}/move", a.authed(a.movePrisoner)},
		// Administration (api_admin*.go, api_devices.go): writes for admins only.
		{http.MethodPost, "/api/v1/prisons", a.authed(a.admin(a.createPrison()))},
		{http.MethodPut, "/api/v1/prisons/{prisonId}", a.authed(a.admin(a.updatePrison()))},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/rooms", a.authed(a.listRooms())},
		{http.MethodPost, "/api/v1/prisons/{prisonId}/rooms", a.authed(a.admin(a.createRoom()))},
		{http.MethodPut, "/api/v1/rooms/{id}", a.authed(a.admin(a.updateRoom()))},
		{http.MethodDelete, "/api/v1/rooms/{id}", a.authed(a.admin(a.deleteRoom()))},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/slot-templates", a.authed(a.listTemplates())},
		{http.MethodPost, "/api/v1/prisons/{prisonId}/slot-templates", a.authed(a.admin(a.createTemplate()))},
		{http.MethodPut, "/api/v1/slot-templates/{id}", a.authed(a.admin(a.updateTemplate()))},
		{http.MethodDelete, "/api/v1/slot-templates/{id}", a.authed(a.admin(a.deleteTemplate()))},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/excluded-dates", a.authed(a.listExcluded())},
		{http.MethodPost, "/api/v1/prisons/{prisonId}/excluded-dates", a.authed(a.admin(a.createExcluded()))},
		{http.MethodDelete, "/api/v1/excluded-dates/{id}", a.authed(a.admin(a.deleteExcluded()))},
		{http.MethodPost, "/api/v1/prisons/{prisonId}/prisoners", a.authed(a.admin(a.createPrisoner()))},
		{http.MethodPut, "/api/v1/prisoners/{prisonerId}", a.authed(a.admin(a.updatePrisoner()))},
		{http.MethodPost, "/api/v1/contacts", a.authed(a.admin(a.createContact()))},
		{http.MethodPost, "/api/v1/prisoners/{prisonerId}/contacts", a.authed(a.admin(a.linkContact()))},
		{http.MethodPut, "/api/v1/prisoners/{prisonerId}/contacts/{id}", a.authed(a.admin(a.updateLink()))},
		{http.MethodGet, "/api/v1/staff", a.authed(a.admin(a.listStaff()))},
		{http.MethodPost, "/api/v1/staff", a.authed(a.admin(a.createStaff()))},
		{http.MethodPut, "/api/v1/staff/{id}", a.authed(a.admin(a.updateStaff()))},
		{http.MethodPost, "/api/v1/staff/{id}/disable", a.authed(a.admin(a.disableStaff()))},
		{http.MethodGet, "/api/v1/staff/{id}/caseload", a.authed(a.getCaseload())},
		{http.MethodPost, "/api/v1/staff/{id}/caseload", a.authed(a.admin(a.addToCaseload()))},
		{http.MethodDelete, "/api/v1/staff/{id}/caseload/{prisonerId}", a.authed(a.admin(a.removeFromCaseload()))},
		{http.MethodGet, "/api/v1/prisons/{prisonId}/devices", a.authed(a.listDevices())},
		{http.MethodPost, "/api/v1/prisons/{prisonId}/devices", a.authed(a.admin(a.registerDevice()))},
		{http.MethodPost, "/api/v1/devices/{id}/disable", a.authed(a.admin(a.disableDevice()))},
		// Monitoring and recordings (api_monitor.go).
		{http.MethodGet, "/api/v1/monitor/calls", a.authed(a.monitorCalls())},
		{http.MethodPost, "/api/v1/monitor/calls/{id}/watch", a.authed(a.watchCall())},
		{http.MethodPost, "/api/v1/monitor/calls/{id}/actions", a.authed(a.callAction())},
		{http.MethodPut, "/api/v1/bookings/{id}/sight-only", a.authed(a.setSightOnly())},
		{http.MethodGet, "/api/v1/recordings", a.authed(a.listRecordings())},
		{http.MethodGet, "/api/v1/recordings/{id}", a.authed(a.getRecording())},
		{http.MethodGet, "/api/v1/recordings/{id}/files/{name}", a.authed(a.recordingFile)},
		{http.MethodPut, "/api/v1/recordings/{id}/hold", a.authed(a.holdRecording())},
		{http.MethodDelete, "/api/v1/recordings/{id}/hold", a.authed(a.releaseRecording())},
	}
}

// route registers handlers for path by method, and a problem+json 405 for
// every other method.
func (a *api) route(mux *http.ServeMux, path string, handlers map[string]http.HandlerFunc) {
	allow := make([]string, 0, len(handlers)+1)
	for method, h := range handlers {
		mux.Handle(method+" "+path, h)
		allow = append(allow, method)
		if method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	sort.Strings(allow)
	allowHeader := strings.Join(allow, ", ")
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowHeader)
		problem.Error(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed here; use %s", r.Method, allowHeader))
	})
}

// recoverer turns a panic in a handler into a 500 problem.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.LogAttrs(r.Context(), slog.LevelError, "api handler panicked",
					slog.String("path", r.URL.Path), slog.Any("panic", v))
				problem.Error(w, http.StatusInternalServerError, "internal", "something went wrong on the server")
			}
		}()
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// unsafeMethod reports whether a method changes state and so needs CSRF
// protection when the session comes from a cookie.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// authed wraps h with authentication: a bearer token, or the session cookie
// plus X-CSRF-Token on unsafe methods.
func (a *api) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := "", false
		if hdr := r.Header.Get("Authorization"); hdr != "" {
			scheme, tok, ok := strings.Cut(hdr, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				a.fail(w, r, refuse(ErrUnauthenticated, "the Authorization header must be 'Bearer <token>'"))
				return
			}
			token = strings.TrimSpace(tok)
		} else if c, err := r.Cookie(SessionCookie); err == nil {
			token, fromCookie = c.Value, true
		}
		if token == "" {
			a.fail(w, r, refuse(ErrUnauthenticated, "log in first: send 'Authorization: Bearer <token>' or the session cookie"))
			return
		}
		st, sess, err := a.svc.authenticate(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if fromCookie && unsafeMethod(r.Method) && !checkCSRF(sess, r.Header.Get(CSRFHeader)) {
			a.fail(w, r, refuse(ErrCSRF, "a cookie-authenticated %s needs the session's CSRF token in %s", r.Method, CSRFHeader))
			return
		}
		h(w, r, principal{staff: st, session: sess})
	}
}

// statusOf maps a refusal code to its HTTP status.
func statusOf(c Code) int {
	switch c {
	case ErrValidation:
		return http.StatusBadRequest
	case ErrBadCredentials, ErrUnauthenticated:
		return http.StatusUnauthorized
	case ErrForbidden, ErrCSRF, ErrLegalPrivilege:
		return http.StatusForbidden
	case ErrSlotNotFound, ErrPrisonerNotFound, ErrHoldNotFound:
		return http.StatusNotFound
	case ErrPrisonerBusy, ErrSlotFull, ErrNotActive, ErrAlreadyExists, ErrInUse, ErrNonAssociation, ErrInvalidTransition,
		ErrCallNotOpen, ErrCallNotLive, ErrRecordingDamaged:
		return http.StatusConflict
	case ErrTooManyAttempts:
		return http.StatusTooManyRequests
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRangeNotSatisfiable:
		return http.StatusRequestedRangeNotSatisfiable
	}
	return http.StatusUnprocessableEntity
}

// fail writes err as a problem document. Refusals and not-found keep their
// code and detail; anything else is logged and becomes a bare 500.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		if ref.Code == ErrUnauthenticated || ref.Code == ErrBadCredentials {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
		problem.Error(w, statusOf(ref.Code), string(ref.Code), ref.Detail)
	case errors.Is(err, ErrNotFound):
		problem.Error(w, http.StatusNotFound, "not_found", "there is no such record, or it is not yours to see")
	default:
		a.log.LogAttrs(r.Context(), slog.LevelError, "api request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		problem.Error(w, http.StatusInternalServerError, "internal", "something went wrong on the server")
	}
}

// writeJSON sends v with status. It encodes first, so an encoding failure
// still yields a clean 500.
func (a *api) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		a.fail(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decode reads one JSON object of at most MaxBodyBytes into dst, refusing
// unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return refuse(ErrValidation, "the body must hold exactly one JSON object")
	}
	return nil
}

// decodeError explains a JSON decoding error without echoing internals.
func decodeError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return refuse(ErrTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return refuse(ErrValidation, "the body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return refuse(ErrValidation, "the body is not valid JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return refuse(ErrValidation, "field %q has the wrong type", typeErr.Field)
		}
		return refuse(ErrValidation, "the body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return refuse(ErrValidation, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return refuse(ErrValidation, "the body is not a valid JSON object")
}

// pathID parses a positive integer path value.
func pathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	if !allDigits(s) || len(s) > 15 || s[0] == '0' {
		return 0, refuse(ErrValidation, "%s must be a positive integer", name)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, refuse(ErrValidation, "%s must be a positive integer", name)
	}
	return id, nil
}
