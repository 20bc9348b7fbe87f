package booking

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAllowance: social calls use the monthly allowance (60 minutes by
// default: two 30-minute calls); legal and probation calls never do;
// cancelled and failed calls give their minutes back; no-shows do not.
func TestAllowance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23 08:00 London
	clerk := e.token("clerk")
	ids := e.contactIDs()
	daniel := e.demo.PrisonerID
	social := func(date, hhmm string) CreateRequest {
		return e.visitRequest(e.slot(date, hhmm, "Visits room").ID)
	}
	allowance := func(month string) Allowance {
		t.Helper()
		path := "/api/v1/prisoners/" + itoa(daniel) + "/allowance"
		if month != "" {
			path += "?month=" + month
		}
		var a Allowance
		e.as(clerk, http.MethodGet, path, nil).decode(t, http.StatusOK, &a)
		return a
	}
	if a := allowance(""); a != (Allowance{Month: "2026-11", AllowanceMinutes: 60, UsedMinutes: 0, RemainingMinutes: 60}) {
		t.Fatalf("fresh allowance %+v", a)
	}

	first := e.mustBook(clerk, social("2026-11-24", "09:00"))
	e.mustBook(clerk, social("2026-11-25", "09:00"))
	if a := allowance("2026-11"); a.UsedMinutes != 60 || a.RemainingMinutes != 0 {
		t.Fatalf("after two calls %+v", a)
	}
	// A third social call in November is refused, saying what is left.
	third := social("2026-11-26", "11:00")
	before := e.snapshot()
	p := e.book(clerk, third).wantProblem(t, 422, string(ErrAllowanceExhausted))
	if !strings.Contains(p.Detail, "0 of 60 minutes") || !strings.Contains(p.Detail, "2026-11") || !strings.Contains(p.Detail, "needs 30") {
		t.Errorf("detail %q does not say what is left", p.Detail)
	}
	if e.snapshot() != before {
		t.Fatal("refused booking wrote rows")
	}
	// Legal and probation calls still go ahead.
	legal := CreateRequest{PrisonerID: daniel, SlotID: e.slot("2026-11-26", "09:00", "Visits room").ID, CallType: CallLegal,
		ContactIDs: []int64{ids["Priya Shah (solicitor)"]}}
	e.mustBook(clerk, legal)
	probation := CreateRequest{PrisonerID: daniel, SlotID: e.slot("2026-11-26", "10:00", "Visits room").ID,
		CallType: CallProbation, ContactIDs: []int64{ids["Mark Ellis (probation officer)"]}}
	e.mustBook(clerk, probation)
	// December is a new month.
	e.mustBook(clerk, social("2026-12-01", "09:00"))
	if a := allowance("2026-12"); a.UsedMinutes != 30 {
		t.Errorf("december %+v", a)
	}

	// Cancelling gives the minutes back.
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(first.ID)+"/cancel", cancelRequest{Reason: "ill"}).decode(t, 200, nil)
	if a := allowance("2026-11"); a.UsedMinutes != 30 {
		t.Fatalf("after cancelling %+v", a)
	}
	noShow := e.mustBook(clerk, third)
	// A no-show keeps its minutes; a failed call is refunded.
	e.clock.Set(noShow.StartsAt.Add(time.Minute))
	clerk = e.token("clerk") // the session did not last the days
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(noShow.ID)+"/outcome",
		OutcomeRequest{Status: StatusNoShow, Reason: "nobody came"}).decode(t, 200, nil)
	if a := allowance("2026-11"); a.UsedMinutes != 60 {
		t.Fatalf("after a no-show %+v", a)
	}
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(noShow.ID)+"/outcome",
		OutcomeRequest{Status: StatusFailed, Reason: "the visitor's video never connected"}).
		wantProblem(t, 409, string(ErrInvalidTransition)) // a no-show is final
	second := e.slot("2026-11-25", "09:00", "Visits room")
	list := e.bookingsOn("2026-11-25")
	var secondID int64
	for _, b := range list {
		if b.SlotID == second.ID {
			secondID = b.ID
		}
	}
	e.clock.Set(second.StartsAt.Add(40 * time.Minute))
	clerk = e.token("clerk")
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(secondID)+"/outcome",
		OutcomeRequest{Status: StatusFailed, Reason: "media server fault"}).decode(t, 200, nil)
	if a := allowance("2026-11"); a.UsedMinutes != 30 || a.RemainingMinutes != 30 {
		t.Fatalf("after a failed call %+v", a)
	}
}

// bookingsOn lists the demo prison's bookings on a local date.
func (e *env) bookingsOn(date string) []Booking {
	e.t.Helper()
	var list []Booking
	e.as(e.token("admin"), http.MethodGet, "/api/v1/bookings?prisonId="+itoa(e.demo.PrisonID)+"&from="+date+"&to="+date, nil).
		decode(e.t, http.StatusOK, &list)
	return list
}

// TestAllowanceMonthIsLocal: the month is the prison's calendar month: a
// call at 00:30 London time on 1 June (23:30 UTC on 31 May) is June's.
func TestAllowanceMonthIsLocal(t *testing.T) {
	t.Parallel()
	loc := london(t)
	e := newEnv(t, time.Date(2027, 5, 20, 9, 0, 0, 0, loc))
	clerk := e.token("clerk")
	june := e.slot("2027-06-01", "00:30", "Demo room")
	if june.StartsAt.Month() != time.May {
		t.Fatalf("want a slot whose UTC start is still in May: %v", june.StartsAt)
	}
	e.mustBook(clerk, e.visitRequest(june.ID))
	e.mustBook(clerk, e.visitRequest(e.slot("2027-06-01", "01:30", "Demo room").ID))
	// May is untouched, so a May call goes ahead; June is spent.
	e.mustBook(clerk, e.visitRequest(e.slot("2027-05-31", "23:00", "Demo room").ID))
	e.book(clerk, e.visitRequest(e.slot("2027-06-15", "23:30", "Demo room").ID)).wantProblem(t, 422, string(ErrAllowanceExhausted))
	a, err := e.svc.PrisonerAllowance(e.ctx, e.adminStaff(), e.demo.PrisonerID, "2027-05")
	if err != nil || a.UsedMinutes != 30 {
		t.Fatalf("may %+v %v", a, err)
	}
}

// adminStaff is the demo admin account.
func (e *env) adminStaff() Staff {
	e.t.Helper()
	st, err := e.store.StaffByUsername(e.ctx, "admin")
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// TestAllowanceEndpoint covers the parameters and visibility of GET
// /prisoners/{id}/allowance, and a prison's own allowance setting.
func TestAllowanceEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin := e.token("clerk"), e.token("admin")
	path := "/api/v1/prisoners/" + itoa(e.demo.PrisonerID) + "/allowance"
	for _, bad := range []string{"?month=2026-13", "?month=26-11", "?month=2026-1", "?month=", "?month=1999-12", "?month=2026-11-01"} {
		e.as(clerk, http.MethodGet, path+bad, nil).wantProblem(t, 400, string(ErrValidation))
	}
	e.as(clerk, http.MethodGet, "/api/v1/prisoners/999999/allowance", nil).wantProblem(t, 404, string(ErrPrisonerNotFound))
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := e.addPrisoner(other, "E2222EE", ContactSocial)
	e.as(clerk, http.MethodGet, "/api/v1/prisoners/"+itoa(elsewhere)+"/allowance", nil).wantProblem(t, 404, string(ErrPrisonerNotFound))
	e.as(admin, http.MethodGet, "/api/v1/prisoners/"+itoa(elsewhere)+"/allowance", nil).decode(t, 200, nil)

	// The prison raises its allowance: 90 minutes, a third call fits.
	set := Defaults()
	set.SocialAllowanceMinutes = 90
	e.as(admin, http.MethodPut, "/api/v1/prisons/"+itoa(e.demo.PrisonID)+"/settings", set).decode(t, 200, nil)
	var a Allowance
	e.as(clerk, http.MethodGet, path+"?month=2026-12", nil).decode(t, 200, &a)
	if a.AllowanceMinutes != 90 || a.RemainingMinutes != 90 || a.Month != "2026-12" {
		t.Fatalf("allowance %+v", a)
	}
	for _, d := range []string{"2026-11-24", "2026-11-25", "2026-11-26"} {
		e.mustBook(clerk, e.visitRequest(e.slot(d, "09:00", "Visits room").ID))
	}
	res := e.book(clerk, e.visitRequest(e.slot("2026-11-27", "09:00", "Visits room").ID))
	res.wantProblem(t, 422, string(ErrAllowanceExhausted))
	var raw map[string]any
	if err := json.Unmarshal(res.body, &raw); err != nil || !strings.Contains(raw["detail"].(string), "0 of 90") {
		t.Errorf("detail %s", res.body)
	}
}
