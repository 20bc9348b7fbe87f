package booking

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuth covers login, bearer and cookie authentication, CSRF, logout and
// expiry.
func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	ids := e.contactIDs()
	sl := e.slot("2026-11-24", "09:00", "Visits room")
	create := CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID, CallType: CallSocial,
		ContactIDs: []int64{ids["Tom Price"]}}

	t.Run("no token", func(t *testing.T) {
		e.send(http.MethodGet, "/api/v1/me", nil, nil).wantProblem(t, 401, string(ErrUnauthenticated))
		e.send(http.MethodPost, "/api/v1/bookings", create, nil).wantProblem(t, 401, string(ErrUnauthenticated))
	})
	t.Run("bad tokens", func(t *testing.T) {
		e.send(http.MethodGet, "/api/v1/me", nil, bearer("not-a-session")).wantProblem(t, 401, string(ErrUnauthenticated))
		e.send(http.MethodGet, "/api/v1/me", nil, bearer(strings.Repeat("x", 5000))).
			wantProblem(t, 401, string(ErrUnauthenticated))
		e.send(http.MethodGet, "/api/v1/me", nil, func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") }).
			wantProblem(t, 401, string(ErrUnauthenticated))
	})
	t.Run("bad password and unknown user look alike", func(t *testing.T) {
		before := e.counts()
		bad := e.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "clerk", "password": "wrong-password"}, nil).
			wantProblem(t, 401, string(ErrBadCredentials))
		unknown := e.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "wrong-password"}, nil).
			wantProblem(t, 401, string(ErrBadCredentials))
		if bad.Detail != unknown.Detail {
			t.Errorf("details differ: %q vs %q", bad.Detail, unknown.Detail)
		}
		// Failed logins are audited, and nothing else is written.
		after := e.counts()
		if after.audit != before.audit+2 || after.bookings != before.bookings {
			t.Errorf("counts %+v -> %+v", before, after)
		}
	})
	t.Run("login validation", func(t *testing.T) {
		e.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "clerk"}, nil).
			wantProblem(t, 400, string(ErrValidation))
		e.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "clerk", "password": "x", "otp": "1"}, nil).
			wantProblem(t, 400, string(ErrValidation))
	})

	clerk := e.login("clerk")
	t.Run("login response and cookie", func(t *testing.T) {
		c := clerk.cookie
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 {
			t.Errorf("cookie %+v", c)
		}
		if clerk.CSRFToken == "" || clerk.CSRFToken == clerk.Token {
			t.Errorf("csrf token %q", clerk.CSRFToken)
		}
		if d := clerk.ExpiresAt.Sub(defaultNow().Add(SessionTTL)); d < -time.Second || d > 30*time.Second {
			t.Errorf("expiresAt %v", clerk.ExpiresAt)
		}
		st := clerk.Staff
		if st.Username != "clerk" || st.Role != StaffClerk || st.PrisonID != e.demo.PrisonID || st.ID == 0 {
			t.Errorf("staff %+v", st)
		}
		if strings.Contains(string(e.send(http.MethodGet, "/api/v1/me", nil, bearer(clerk.Token)).body), "$2a$") {
			t.Error("password hash leaked")
		}
	})
	t.Run("bearer works", func(t *testing.T) {
		var me sessionResponse
		e.as(clerk.Token, http.MethodGet, "/api/v1/me", nil).decode(t, 200, &me)
		if me.Staff.Username != "clerk" || me.CSRFToken != clerk.CSRFToken || me.Token != "" {
			t.Errorf("me %+v", me)
		}
	})
	withCookie := func(csrf string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: clerk.Token})
			if csrf != "" {
				r.Header.Set(CSRFHeader, csrf)
			}
		}
	}
	t.Run("cookie reads without csrf", func(t *testing.T) {
		e.send(http.MethodGet, "/api/v1/me", nil, withCookie("")).decode(t, 200, nil)
	})
	t.Run("cookie without csrf is refused", func(t *testing.T) {
		before := e.counts()
		e.send(http.MethodPost, "/api/v1/bookings", create, withCookie("")).wantProblem(t, 403, string(ErrCSRF))
		e.send(http.MethodPost, "/api/v1/bookings", create, withCookie("wrong")).wantProblem(t, 403, string(ErrCSRF))
		if e.counts() != before {
			t.Fatal("refused request wrote rows")
		}
	})
	t.Run("cookie with csrf books", func(t *testing.T) {
		e.send(http.MethodPost, "/api/v1/bookings", create, withCookie(clerk.CSRFToken)).decode(t, http.StatusCreated, nil)
	})
	t.Run("logout ends the session", func(t *testing.T) {
		other := e.login("clerk")
		res := e.as(other.Token, http.MethodPost, "/api/v1/auth/logout", nil)
		if res.status != http.StatusNoContent {
			t.Fatalf("logout status %d %s", res.status, res.body)
		}
		e.as(other.Token, http.MethodGet, "/api/v1/me", nil).wantProblem(t, 401, string(ErrUnauthenticated))
		e.as(clerk.Token, http.MethodGet, "/api/v1/me", nil).decode(t, 200, nil) // other sessions live on
	})
	t.Run("sessions expire after 12h", func(t *testing.T) {
		e.clock.Advance(SessionTTL + time.Second)
		e.as(clerk.Token, http.MethodGet, "/api/v1/me", nil).wantProblem(t, 401, string(ErrUnauthenticated))
	})
}

// TestAPIRouting checks the problem+json answers for unknown paths and
// methods.
func TestAPIRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	e.as(clerk.Token, http.MethodGet, "/api/v1/nope", nil).wantProblem(t, 404, "not_found")
	res := e.as(clerk.Token, http.MethodDelete, "/api/v1/bookings", nil)
	res.wantProblem(t, 405, "method_not_allowed")
	if allow := res.header.Get("Allow"); allow != "GET, HEAD, POST" {
		t.Errorf("Allow %q", allow)
	}
	e.as(clerk.Token, http.MethodGet, "/api/v1/auth/login", nil).wantProblem(t, 405, "method_not_allowed")
	e.as(clerk.Token, http.MethodGet, "/api/v1/prisons/0/slots", nil).wantProblem(t, 400, string(ErrValidation))
	e.as(clerk.Token, http.MethodGet, "/api/v1/prisons/99/prisoners", nil).wantProblem(t, 404, "not_found")
}
