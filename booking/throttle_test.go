package booking

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// loginAs posts a login from the test client.
func (e *env) loginAs(username, password string, edit func(*http.Request)) response {
	e.t.Helper()
	return e.send(http.MethodPost, "/api/v1/auth/login", loginRequest{Username: username, Password: password}, edit)
}

// TestLoginThrottling: five failures for a username in 15 minutes refuse
// every further attempt for it, the right password included, with 429 and
// Retry-After, audited and writing nothing else; the window passing lets it
// in again, and a success forgets the failures.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	for i := range DefaultLoginFailuresPerUser {
		e.loginAs("clerk", fmt.Sprintf("wrong-%d", i), nil).wantProblem(t, 401, string(ErrBadCredentials))
		e.clock.Advance(time.Minute)
	}
	start := e.lastAuditID()
	before := e.tableCounts()
	res := e.loginAs("clerk", "demo-clerk-pass", nil)
	res.wantProblem(t, http.StatusTooManyRequests, string(ErrTooManyAttempts))
	// The oldest failure, about 5 minutes ago, ages out in about 10 (the
	// test clock runs on with real time, and bcrypt is slow under -race).
	oldest, err := e.store.LoginFailures(e.ctx, "clerk", "127.0.0.1", defaultNow().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := oldest.UserOldest.Add(DefaultLoginFailureWindow).Sub(e.clock.Now())
	if got, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || (time.Duration(got)*time.Second-want).Abs() > 3*time.Second {
		t.Errorf("Retry-After %d %v, want about %v", got, err, want)
	}
	if res.header.Get("Set-Cookie") != "" {
		t.Error("a throttled login set a cookie")
	}
	after := e.tableCounts()
	after["audit_log"]--
	if diff := sameCounts(before, after); len(diff) != 0 {
		t.Errorf("a throttled login wrote to %v besides one audit entry", diff)
	}
	if got := e.auditSince(start); len(got) != 1 || got[0].Action != "login.throttled" ||
		got[0].Subject != staffActor(e.staff("clerk")) {
		t.Fatalf("audit %+v", got)
	}
	// Other usernames from the same address still log in.
	e.login("security")

	// 9 minutes on, still throttled; 10 minutes on, the oldest failure has
	// aged out.
	e.clock.Advance(9 * time.Minute)
	e.loginAs("clerk", "demo-clerk-pass", nil).wantProblem(t, http.StatusTooManyRequests, string(ErrTooManyAttempts))
	e.clock.Advance(time.Minute + time.Second)
	e.login("clerk")
	// The success forgot the failures: five more are needed to throttle.
	for i := range DefaultLoginFailuresPerUser - 1 {
		e.loginAs("clerk", fmt.Sprintf("wrong-%d", i), nil).wantProblem(t, 401, string(ErrBadCredentials))
	}
	e.login("clerk")
}

// TestLoginThrottlingPerAddress: many failures from one address, across
// usernames, throttle that address, and only it; with ClientIPHeader the
// proxy's header names the address.
func TestLoginThrottlingPerAddress(t *testing.T) {
	t.Parallel()
	// Three failures per address (bcrypt is slow under -race), behind a
	// proxy that names the client in X-Forwarded-For.
	const perIP = 3
	e := withSessionPolicy(newEnv(t, defaultNow()), SessionPolicy{LoginFailuresPerIP: perIP, ClientIPHeader: "X-Forwarded-For"})
	from := func(ip string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", "198.51.100.7, "+ip) }
	}
	for i := range perIP {
		e.loginAs(fmt.Sprintf("nobody%d", i), "wrong-password", from("203.0.113.9")).wantProblem(t, 401, string(ErrBadCredentials))
	}
	e.loginAs("clerk", "demo-clerk-pass", from("203.0.113.9")).wantProblem(t, http.StatusTooManyRequests, string(ErrTooManyAttempts))
	e.loginAs("clerk", "demo-clerk-pass", from("203.0.113.10")).decode(t, 200, nil)
	// The first hop is not the address: only the last, the proxy's own.
	e.loginAs("clerk", "demo-clerk-pass", func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.9, 203.0.113.11")
	}).decode(t, 200, nil)
	failures, err := e.store.LoginFailures(e.ctx, "nobody0", "203.0.113.9", defaultNow().Add(-time.Hour))
	if err != nil || failures.IP != perIP {
		t.Fatalf("failures of the address %+v %v", failures, err)
	}
}

// TestSessionLifetime: a session ends after 30 idle minutes, however
// recent its login, and after 12 hours, however busy; use keeps it alive
// in between. A disabled account's sessions end at once and it cannot log
// in again.
func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	me := func(token string) response { return e.as(token, http.MethodGet, "/api/v1/me", nil) }

	// Busy: a request every 29 minutes keeps it alive for 12 hours.
	for elapsed := time.Duration(0); elapsed+29*time.Minute < SessionTTL; elapsed += 29 * time.Minute {
		e.clock.Advance(29 * time.Minute)
		me(clerk.Token).decode(t, 200, nil)
	}
	e.clock.Set(defaultNow().Add(SessionTTL))
	me(clerk.Token).wantProblem(t, 401, string(ErrUnauthenticated))

	// Idle: 30 minutes without a request end it, and it is gone.
	e.clock.Set(defaultNow().Add(24 * time.Hour))
	idle := e.login("clerk")
	// (Stored times are whole seconds, and the test clock runs on with real
	// time, through a bcrypt check slow under -race: a minute's margin.)
	e.clock.Advance(DefaultSessionIdleTimeout - time.Minute)
	me(idle.Token).decode(t, 200, nil)
	e.clock.Advance(DefaultSessionIdleTimeout)
	me(idle.Token).wantProblem(t, 401, string(ErrUnauthenticated))
	if _, err := e.store.Session(e.ctx, hashToken(idle.Token)); err == nil {
		t.Error("an idle session is still stored")
	}
	// Cookie sessions idle out the same way.
	cookie := e.login("clerk")
	e.clock.Advance(DefaultSessionIdleTimeout)
	e.send(http.MethodGet, "/api/v1/me", nil, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie.Token})
	}).wantProblem(t, 401, string(ErrUnauthenticated))

	// Disabled: live sessions end, and the password no longer works.
	live := e.login("clerk")
	adminToken, _ := e.session(e.staff("admin"))
	e.as(adminToken, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/disable", live.Staff.ID), nil).decode(t, 200, nil)
	me(live.Token).wantProblem(t, 401, string(ErrUnauthenticated))
	res := e.loginAs("clerk", "demo-clerk-pass", nil)
	res.wantProblem(t, 401, string(ErrBadCredentials))
	last, err := e.store.LastAudit(e.ctx)
	if err != nil || last.Action != "login.failed" || string(last.Detail) == "" {
		t.Fatalf("last audit %+v %v", last, err)
	}
}

// withSessionPolicy returns a copy of e whose API runs on a service with
// the session policy p, over the same store and clock.
func withSessionPolicy(e *env, p SessionPolicy) *env {
	e.t.Helper()
	c := *e
	c.svc = NewService(e.store, e.signer, e.clock, nil, nil, Config{PublicURL: testPublicURL, Sessions: p})
	c.srv = httptest.NewServer(NewAPI(c.svc, nil))
	e.t.Cleanup(c.srv.Close)
	return &c
}
