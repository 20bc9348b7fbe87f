package booking

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestSettingsDefaults: the defaults are DOMAIN.md's numbers and pass
// their own validation; every bound is enforced.
func TestSettingsDefaults(t *testing.T) {
	t.Parallel()
	d := Defaults()
	if d != (Settings{VisitorMinDaysAhead: 2, MaxDaysAhead: 28, StaffMinMinutesLeft: 5, HoldMinutes: 10,
		SocialAllowanceMinutes: 60, MaxVisitors: 4, MaxAdults: 3, AdultAge: 18, OutcomeWindowDays: 28,
		RecordingRetentionDays: 90}) {
		t.Fatalf("defaults %+v", d)
	}
	if err := d.validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Settings){
		"maxDaysAhead 0":         func(s *Settings) { s.MaxDaysAhead = 0 },
		"maxDaysAhead 366":       func(s *Settings) { s.MaxDaysAhead = 366 },
		"visitor min > max":      func(s *Settings) { s.VisitorMinDaysAhead = 29 },
		"visitor min < 0":        func(s *Settings) { s.VisitorMinDaysAhead = -1 },
		"staff minutes 241":      func(s *Settings) { s.StaffMinMinutesLeft = 241 },
		"hold 0":                 func(s *Settings) { s.HoldMinutes = 0 },
		"hold 61":                func(s *Settings) { s.HoldMinutes = 61 },
		"allowance -1":           func(s *Settings) { s.SocialAllowanceMinutes = -1 },
		"allowance over a month": func(s *Settings) { s.SocialAllowanceMinutes = 31*24*60 + 1 },
		"visitors 0":             func(s *Settings) { s.MaxVisitors = 0 },
		"visitors 11":            func(s *Settings) { s.MaxVisitors = MaxContactsLimit + 1 },
		"adults > visitors":      func(s *Settings) { s.MaxVisitors, s.MaxAdults = 2, 3 },
		"adults 0":               func(s *Settings) { s.MaxAdults = 0 },
		"adult age 15":           func(s *Settings) { s.AdultAge = 15 },
		"adult age 22":           func(s *Settings) { s.AdultAge = 22 },
		"outcome window 0":       func(s *Settings) { s.OutcomeWindowDays = 0 },
		"retention 0":            func(s *Settings) { s.RecordingRetentionDays = 0 },
		"retention 3651":         func(s *Settings) { s.RecordingRetentionDays = 3651 },
	} {
		s := Defaults()
		edit(&s)
		if err := s.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, edit := range map[string]func(*Settings){
		"edges low": func(s *Settings) {
			*s = Settings{MaxDaysAhead: 1, HoldMinutes: 1, MaxVisitors: 1, MaxAdults: 1, AdultAge: 16, OutcomeWindowDays: 1,
				RecordingRetentionDays: 1}
		},
		"edges high": func(s *Settings) {
			*s = Settings{VisitorMinDaysAhead: 365, MaxDaysAhead: 365, StaffMinMinutesLeft: 240, HoldMinutes: 60, SocialAllowanceMinutes: 31 * 24 * 60, MaxVisitors: 10, MaxAdults: 10, AdultAge: 21, OutcomeWindowDays: 365, RecordProbationCalls: true, RecordingRetentionDays: 3650}
		},
	} {
		s := Defaults()
		edit(&s)
		if err := s.validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestBookingWindowRule: staff may book until StaffMinMinutesLeft before a
// slot's end, visitors only from VisitorMinDaysAhead days ahead; nobody
// past MaxDaysAhead.
func TestBookingWindowRule(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	set := Defaults()
	slot := func(start time.Time) Slot { return Slot{ID: "x", StartsAt: start, EndsAt: start.Add(30 * time.Minute)} }
	for _, c := range []struct {
		start          time.Time
		staff, visitor bool
	}{
		{now.Add(-26 * time.Minute), false, false},
		{now.Add(-25 * time.Minute), true, false},
		{now.Add(time.Hour), true, false},
		{now.Add(48*time.Hour - time.Second), true, false},
		{now.Add(48 * time.Hour), true, true},
		{now.Add(28 * 24 * time.Hour), true, true},
		{now.Add(28*24*time.Hour + time.Second), false, false},
	} {
		if got := inWindow(set, bookerStaff, slot(c.start), now); got != c.staff {
			t.Errorf("staff, slot at %v: %v", c.start.Sub(now), got)
		}
		if got := inWindow(set, bookerVisitor, slot(c.start), now); got != c.visitor {
			t.Errorf("visitor, slot at %v: %v", c.start.Sub(now), got)
		}
	}
	if d := windowDetail(set, bookerVisitor, slot(now)); d == "" || d == windowDetail(set, bookerStaff, slot(now)) {
		t.Errorf("window details %q", d)
	}
}

// TestSettingsAPI: admins read and replace a prison's settings (every
// field, within bounds, audited before and after); the next booking follows
// them.
func TestSettingsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin := e.token("clerk"), e.token("admin")
	path := "/api/v1/prisons/" + itoa(e.demo.PrisonID) + "/settings"
	var got Settings
	e.as(admin, http.MethodGet, path, nil).decode(t, 200, &got)
	if got != Defaults() {
		t.Fatalf("settings of a new prison %+v", got)
	}
	e.refused(clerk, http.MethodGet, path, nil, 403, string(ErrForbidden))
	e.refused(clerk, http.MethodPut, path, Defaults(), 403, string(ErrForbidden))
	e.refused(admin, http.MethodPut, "/api/v1/prisons/987654/settings", Defaults(), 404, "not_found")
	bad := Defaults()
	bad.HoldMinutes = 0
	e.refused(admin, http.MethodPut, path, bad, 400, string(ErrValidation))
	e.refused(admin, http.MethodPut, path, `{"maxDaysAhead":28}`, 400, string(ErrValidation))
	withExtra, _ := json.Marshal(Defaults())
	e.refused(admin, http.MethodPut, path, string(withExtra[:len(withExtra)-1])+`,"colour":"red"}`, 400, string(ErrValidation))
	e.refused(admin, http.MethodPut, path, `{"maxDaysAhead":"28"}`, 400, string(ErrValidation))

	set := Defaults()
	set.MaxVisitors, set.MaxAdults, set.MaxDaysAhead, set.HoldMinutes, set.AdultAge = 2, 1, 7, 3, 21
	e.as(admin, http.MethodPut, path, set).decode(t, 200, &got)
	if got != set {
		t.Fatalf("put answered %+v", got)
	}
	var detail struct{ Before, After Settings }
	if a := e.lastAudit(); a.Action != "prison.settings" || json.Unmarshal(a.Detail, &detail) != nil ||
		detail.Before != Defaults() || detail.After != set {
		t.Fatalf("audit %s %s", a.Action, a.Detail)
	}
	e.as(admin, http.MethodGet, path, nil).decode(t, 200, &got)
	if got != set {
		t.Fatalf("read back %+v", got)
	}

	// The rules follow: two visitors at most, one adult, 21 the adult age,
	// seven days ahead, three-minute holds.
	ids := e.contactIDs()
	sl := e.slot("2026-11-24", "10:00", "Visits room")
	req := CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID, CallType: CallSocial}
	req.ContactIDs = []int64{ids["Tom Price"], ids["Sarah Price"], ids["Ellie Price"]}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", req, 422, string(ErrTooManyVisitors))
	req.ContactIDs = []int64{ids["Tom Price"], ids["Sarah Price"]}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", req, 422, string(ErrTooManyAdults))
	req.SlotID = e.slot("2026-12-01", "10:00", "Visits room").ID
	req.ContactIDs = []int64{ids["Tom Price"]}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", req, 422, string(ErrOutsideWindow))
	if s := e.slot("2026-12-01", "10:00", "Visits room"); s.Bookable {
		t.Error("a slot eight days ahead is listed as bookable")
	}
	var h Hold
	e.clock.Set(defaultNow())
	e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: sl.ID, PrisonerID: e.demo.PrisonerID}).decode(t, 201, &h)
	if !h.ExpiresAt.Equal(defaultNow().Add(3 * time.Minute)) {
		t.Errorf("hold expires %v", h.ExpiresAt)
	}
	req.SlotID = sl.ID
	e.mustBook(clerk, req)
}
