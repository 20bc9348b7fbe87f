package booking

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestFortnightlyTemplates: a template repeating every other week offers
// slots in the weeks 0, 2, 4 ... counted (Monday to Sunday) from the week
// of its validFrom, whatever weekday validFrom is, and keeps the DST
// behaviour of weekly templates on the change days.
func TestFortnightlyTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	room, err := e.store.CreateRoom(e.ctx, Room{PrisonID: e.demo.PrisonID, Name: "Fortnight room"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(wd time.Weekday, from string, start, end int) int64 {
		t.Helper()
		id, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: room, Weekday: wd, StartMinute: start, EndMinute: end,
			SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallLegal}, ValidFrom: day(t, from), RepeatWeeks: 2})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Sundays round the clock from Sunday 2026-03-15 (its week began on
	// Monday 9 March); Mondays 09:00-10:00 from Wednesday 2026-03-11, a
	// week that has no Monday left in it.
	sundays := mk(time.Sunday, "2026-03-15", 0, 24*60)
	mondays := mk(time.Monday, "2026-03-11", 9*60, 10*60)
	admin := e.staff("admin")
	count := func(date string, tpl int64) int {
		t.Helper()
		slots, err := e.svc.Slots(e.ctx, admin, e.demo.PrisonID, day(t, date), day(t, date))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range slots {
			if s.TemplateID == tpl {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		date string
		tpl  int64
		want int
	}{
		{"2026-03-15", sundays, 48}, // week 0
		{"2026-03-22", sundays, 0},  // week 1
		{"2026-03-29", sundays, 46}, // week 2, and clocks go forward: 02:00-03:00 does not exist
		{"2026-04-05", sundays, 0},
		{"2026-10-25", sundays, 48}, // week 32, and clocks go back: one slot per wall-clock time
		{"2026-11-01", sundays, 0},
		{"2026-03-09", mondays, 0}, // week 0, but before validFrom
		{"2026-03-16", mondays, 0}, // week 1
		{"2026-03-23", mondays, 2}, // week 2
		{"2026-03-30", mondays, 0},
		{"2026-04-06", mondays, 2},
	} {
		if got := count(c.date, c.tpl); got != c.want {
			t.Errorf("%s template %d: %d slots, want %d", c.date, c.tpl, got, c.want)
		}
	}
	// On the spring-forward day, 09:00 London is 08:00 UTC.
	sl := e.slot("2026-03-29", "09:00", "Fortnight room")
	if !sl.StartsAt.Equal(time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("09:00 on 29 March starts at %v", sl.StartsAt)
	}
	// A slot of an off week does not exist for booking either.
	clerk, _ := e.session(e.staff("clerk"))
	e.as(clerk, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: fmt.Sprintf("%d-20260316-0900", mondays), CallType: CallLegal,
		ContactIDs: []int64{e.contactIDs()["Priya Shah (solicitor)"]}}).wantProblem(t, 404, string(ErrSlotNotFound))
}

// TestExcludedDates: an excluded date removes the slots of the whole
// prison, one room or one template on that date, from the listing and from
// booking; deleting it brings them back.
func TestExcludedDates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23
	admin, _ := e.session(e.staff("admin"))
	clerk, _ := e.session(e.staff("clerk"))
	prison := fmt.Sprintf("/api/v1/prisons/%d", e.demo.PrisonID)
	var rooms []Room
	e.as(clerk, http.MethodGet, prison+"/rooms", nil).decode(t, 200, &rooms)
	roomID := map[string]int64{}
	for _, r := range rooms {
		roomID[r.Name] = r.ID
	}
	var tpls []templateView
	e.as(clerk, http.MethodGet, prison+"/slot-templates", nil).decode(t, 200, &tpls)
	var wedVisits int64 // the visits room's Wednesday template
	for _, tv := range tpls {
		if tv.RoomName == "Visits room" && tv.Weekday == "wednesday" {
			wedVisits = tv.ID
		}
	}
	perRoom := func(date string) map[string]int {
		t.Helper()
		var slots []Slot
		e.as(clerk, http.MethodGet, prison+"/slots?from="+date+"&to="+date, nil).decode(t, 200, &slots)
		out := map[string]int{}
		for _, s := range slots {
			out[s.RoomName]++
		}
		return out
	}
	if got := perRoom("2026-11-24"); got["Visits room"] != 16 || got["Demo room"] != 48 {
		t.Fatalf("before: %v", got)
	}
	var prisonWide, roomOnly, tplOnly excludedView
	e.as(admin, http.MethodPost, prison+"/excluded-dates", excludedRequest{Date: "2026-11-24", Reason: "Lockdown"}).decode(t, 201, &prisonWide)
	e.as(admin, http.MethodPost, prison+"/excluded-dates", excludedRequest{Date: "2026-11-25", RoomID: roomID["Demo room"], Reason: "Maintenance"}).decode(t, 201, &roomOnly)
	e.as(admin, http.MethodPost, prison+"/excluded-dates", excludedRequest{Date: "2026-11-25", TemplateID: wedVisits, Reason: "Training"}).decode(t, 201, &tplOnly)
	if got := perRoom("2026-11-24"); len(got) != 0 {
		t.Errorf("prison-wide exclusion: %v", got)
	}
	if got := perRoom("2026-11-26"); got["Visits room"] != 16 || got["Demo room"] != 48 {
		t.Errorf("the next day: %v", got)
	}
	// The Wednesday has both: the demo room closed, and the visits room's
	// Wednesday template off.
	if got := perRoom("2026-11-25"); len(got) != 0 {
		t.Errorf("room and template exclusions: %v", got)
	}
	// Booking on an excluded date: no such slot, and nothing written.
	sarah := e.contactIDs()["Sarah Price"]
	demoSlot := func(date string) string {
		d := day(t, date)
		for _, tv := range tpls {
			if tv.RoomName == "Demo room" && tv.Weekday == weekdayNames()[d.Weekday()] {
				return fmt.Sprintf("%d-%s-1000", tv.ID, d.Format("20060102"))
			}
		}
		t.Fatal("no demo room template")
		return ""
	}
	before := e.tableCounts()
	e.as(clerk, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: demoSlot("2026-11-24"),
		CallType: CallSocial, ContactIDs: []int64{sarah}}).wantProblem(t, 404, string(ErrSlotNotFound))
	if diff := sameCounts(before, e.tableCounts()); len(diff) != 0 {
		t.Fatalf("a refused booking wrote to %v", diff)
	}
	// Lifted, the date is bookable again.
	if res := e.as(admin, http.MethodDelete, fmt.Sprintf("/api/v1/excluded-dates/%d", prisonWide.ID), nil); res.status != 204 {
		t.Fatalf("delete exclusion: %d %s", res.status, res.body)
	}
	if got := perRoom("2026-11-24"); got["Visits room"] != 16 || got["Demo room"] != 48 {
		t.Errorf("after lifting: %v", got)
	}
	e.as(clerk, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: demoSlot("2026-11-24"),
		CallType: CallSocial, ContactIDs: []int64{sarah}}).decode(t, 201, nil)
}
