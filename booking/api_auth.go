package booking

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// loginRequest is the body of POST /api/v1/auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// sessionResponse answers a login and GET /api/v1/me.
type sessionResponse struct {
	Token     string    `json:"token,omitempty"`
	CSRFToken string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
	Staff     Staff     `json:"staff"`
}

// login serves POST /api/v1/auth/login.
func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.svc.login(r.Context(), req.Username, req.Password, a.svc.cfg.Sessions.clientIP(r))
	if err != nil {
		var t *throttled
		if errors.As(err, &t) {
			w.Header().Set("Retry-After", strconv.Itoa(int(t.RetryAfter/time.Second)))
		}
		a.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    res.Token,
		Path:     "/",
		Expires:  res.ExpiresAt,
		MaxAge:   int(SessionTTL / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	a.writeJSON(w, r, http.StatusOK, sessionResponse(res))
}

// logout serves POST /api/v1/auth/logout: it ends the session and clears
// the cookie.
func (a *api) logout(w http.ResponseWriter, r *http.Request, who principal) {
	if err := a.svc.logout(r.Context(), who.staff, who.session); err != nil {
		a.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

// me serves GET /api/v1/me: who is logged in, and the CSRF token a
// cookie-based page needs after a reload.
func (a *api) me(w http.ResponseWriter, r *http.Request, who principal) {
	a.writeJSON(w, r, http.StatusOK, sessionResponse{
		CSRFToken: who.session.CSRFToken, ExpiresAt: who.session.ExpiresAt, Staff: who.staff,
	})
}
