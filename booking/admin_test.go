package booking

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminChangesAreAudited makes one change of each kind through the API
// and checks its audit entry: who, what, and the record before and after,
// with no password hash or device secret in it, and the chain intact.
func TestAdminChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	admin := e.staff("admin")
	token, _ := e.session(admin)
	do := func(method, path string, body any, status int, out any) {
		t.Helper()
		e.as(token, method, path, body).decode(t, status, out)
	}
	start := e.lastAuditID()
	var p Prison
	do(http.MethodPost, "/api/v1/prisons", prisonRequest{Code: "AUD", Name: "HMP Audit"}, 201, &p)
	do(http.MethodPut, fmt.Sprintf("/api/v1/prisons/%d", p.ID), prisonUpdate{Name: "HMP Audited", Timezone: "Europe/Belfast"}, 200, nil)
	var room Room
	do(http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/rooms", p.ID), roomRequest{Name: "Hall"}, 201, &room)
	var tpl templateView
	do(http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/slot-templates", p.ID), templateRequest{RoomID: room.ID, Weekday: "monday",
		Start: "10:00", End: "11:00", SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallLegal}, RepeatWeeks: 1, ValidFrom: "2026-11-23"}, 201, &tpl)
	do(http.MethodPut, fmt.Sprintf("/api/v1/slot-templates/%d", tpl.ID), templateUpdate{Capacity: 2, CallTypes: []CallType{CallLegal}}, 200, nil)
	var pr Prisoner
	do(http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/prisoners", p.ID), prisonerRequest{Number: "A0001AA", Name: "Al Audit"}, 201, &pr)
	do(http.MethodPut, fmt.Sprintf("/api/v1/prisoners/%d", pr.ID), prisonerUpdate{Name: "Al Audit", Location: ptr("H-1-01")}, 200, nil)
	var st Staff
	do(http.MethodPost, "/api/v1/staff", staffRequest{Username: "audit.clerk", Name: "Audit Clerk", Role: StaffClerk,
		PrisonID: p.ID, Password: "correct-horse-battery"}, 201, &st)
	do(http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/disable", st.ID), nil, 200, nil)
	var reg registeredDevice
	do(http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/devices", p.ID), deviceRequest{Name: "Tablet", Location: "H-1-01", Kind: DeviceInCell}, 201, &reg)
	do(http.MethodDelete, fmt.Sprintf("/api/v1/rooms/%d", room.ID), nil, http.StatusConflict, nil)

	entries := e.auditSince(start)
	wantActions := []string{"prison.create", "prison.update", "room.create", "slot_template.create", "slot_template.update",
		"prisoner.create", "prisoner.update", "staff.create", "staff.disable", "device.create"}
	if len(entries) != len(wantActions) {
		t.Fatalf("%d audit entries, want %d (a refused change writes none): %+v", len(entries), len(wantActions), entries)
	}
	for i, en := range entries {
		// (The test clock runs on with real time.)
		if en.Action != wantActions[i] || en.Actor != staffActor(admin) || en.At.Before(defaultNow()) ||
			en.At.After(defaultNow().Add(time.Minute)) {
			t.Errorf("entry %d: %s by %s at %v, want %s by %s", i, en.Action, en.Actor, en.At, wantActions[i], staffActor(admin))
		}
		for _, secret := range []string{"$2a$", reg.Secret, hashToken(reg.Secret), "correct-horse"} {
			if strings.Contains(string(en.Detail), secret) {
				t.Errorf("entry %s leaks %q: %s", en.Action, secret, en.Detail)
			}
		}
	}
	before, after := decodeChange(t, entries[1])
	if entries[1].Subject != fmt.Sprintf("prison:%d", p.ID) || before["name"] != "HMP Audit" || after["name"] != "HMP Audited" ||
		before["timezone"] != "Europe/London" || after["timezone"] != "Europe/Belfast" {
		t.Errorf("prison.update %s: %s", entries[1].Subject, entries[1].Detail)
	}
	if before, after := decodeChange(t, entries[0]); before != nil || after["code"] != "AUD" {
		t.Errorf("prison.create: %s", entries[0].Detail)
	}
	if before, after := decodeChange(t, entries[4]); before["capacity"] != 1.0 || after["capacity"] != 2.0 ||
		entries[4].Subject != fmt.Sprintf("slot_template:%d", tpl.ID) {
		t.Errorf("slot_template.update %s: %s", entries[4].Subject, entries[4].Detail)
	}
	if before, after := decodeChange(t, entries[6]); before["location"] != "" || after["location"] != "H-1-01" {
		t.Errorf("prisoner.update: %s", entries[6].Detail)
	}
	if before, after := decodeChange(t, entries[8]); before["disabled"] != false || after["disabled"] != true ||
		entries[8].Subject != fmt.Sprintf("staff:%d", st.ID) {
		t.Errorf("staff.disable %s: %s", entries[8].Subject, entries[8].Detail)
	}
	if _, err := VerifyAudit(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}
}

// TestAdminRefusalsWriteNothing: refused administrative requests, of every
// kind of refusal, leave every table as it was.
func TestAdminRefusalsWriteNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	admin, clerk := e.staff("admin"), e.staff("clerk")
	adminToken, _ := e.session(admin)
	clerkToken, _ := e.session(clerk)
	prison := fmt.Sprintf("/api/v1/prisons/%d", e.demo.PrisonID)
	rooms, err := e.store.Rooms(e.ctx, e.demo.PrisonID)
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := e.store.SlotTemplates(e.ctx, e.demo.PrisonID)
	if err != nil {
		t.Fatal(err)
	}
	probation := e.staff("probation")
	yes := true
	for _, c := range []struct {
		name         string
		token        string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"clerk creates a prison", clerkToken, http.MethodPost, "/api/v1/prisons", prisonRequest{Code: "NOP", Name: "x"}, 403, "forbidden"},
		{"clerk adds a room", clerkToken, http.MethodPost, prison + "/rooms", roomRequest{Name: "x"}, 403, "forbidden"},
		{"clerk registers a device", clerkToken, http.MethodPost, prison + "/devices", deviceRequest{Name: "x", Location: "A", Kind: DeviceKiosk}, 403, "forbidden"},
		{"clerk opens an account", clerkToken, http.MethodPost, "/api/v1/staff", staffRequest{Username: "xxx", Name: "x", Role: StaffAdmin, Password: "a-long-password"}, 403, "forbidden"},
		{"duplicate prison code", adminToken, http.MethodPost, "/api/v1/prisons", prisonRequest{Code: DemoPrisonCode, Name: "x"}, 409, "already_exists"},
		{"duplicate room", adminToken, http.MethodPost, prison + "/rooms", roomRequest{Name: "Visits room"}, 409, "already_exists"},
		{"duplicate prisoner", adminToken, http.MethodPost, prison + "/prisoners", prisonerRequest{Number: "A1234BC", Name: "x"}, 409, "already_exists"},
		{"duplicate username", adminToken, http.MethodPost, "/api/v1/staff", staffRequest{Username: "clerk", Name: "x", Role: StaffClerk, PrisonID: e.demo.PrisonID, Password: "a-long-password"}, 409, "already_exists"},
		{"duplicate excluded date", adminToken, http.MethodPost, prison + "/excluded-dates", excludedRequest{Date: "2026-12-25", RoomID: rooms[1].ID, Reason: "x"}, 409, "already_exists"},
		{"duplicate caseload entry", adminToken, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/caseload", probation.ID), caseloadRequest{PrisonerID: e.demo.PrisonerID}, 409, "already_exists"},
		{"duplicate contact link", adminToken, http.MethodPost, fmt.Sprintf("/api/v1/prisoners/%d/contacts", e.demo.PrisonerID), linkRequest{ContactID: e.contactIDs()["Tom Price"], Relationship: "x", Approved: &yes, Banned: &yes}, 409, "already_exists"},
		{"room in use", adminToken, http.MethodDelete, fmt.Sprintf("/api/v1/rooms/%d", rooms[0].ID), nil, 409, "in_use"},
		{"bad time zone", adminToken, http.MethodPut, prison, prisonUpdate{Name: "x", Timezone: "Local"}, 400, "validation"},
		{"template in another prison's room", adminToken, http.MethodPost, "/api/v1/prisons/999/slot-templates", templateRequest{RoomID: rooms[0].ID, Weekday: "monday", Start: "09:00", End: "10:00", SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallSocial}, RepeatWeeks: 1, ValidFrom: "2026-11-23"}, 404, "not_found"},
		{"template ends before it starts", adminToken, http.MethodPut, fmt.Sprintf("/api/v1/slot-templates/%d", tpls[0].ID), templateUpdate{Capacity: 1, CallTypes: []CallType{CallSocial}, ValidTo: ptr("2023-01-01")}, 400, "validation"},
		{"weekly every 3 weeks", adminToken, http.MethodPost, prison + "/slot-templates", templateRequest{RoomID: rooms[0].ID, Weekday: "monday", Start: "09:00", End: "10:00", SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallSocial}, RepeatWeeks: 3, ValidFrom: "2026-11-23"}, 400, "validation"},
		{"duplicate call types", adminToken, http.MethodPost, prison + "/slot-templates", templateRequest{RoomID: rooms[0].ID, Weekday: "monday", Start: "09:00", End: "10:00", SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallSocial, CallSocial}, RepeatWeeks: 1, ValidFrom: "2026-11-23"}, 400, "validation"},
		{"slot longer than the template", adminToken, http.MethodPost, prison + "/slot-templates", templateRequest{RoomID: rooms[0].ID, Weekday: "monday", Start: "09:00", End: "09:20", SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallSocial}, RepeatWeeks: 1, ValidFrom: "2026-11-23"}, 400, "validation"},
		{"lower-case location", adminToken, http.MethodPut, fmt.Sprintf("/api/v1/prisoners/%d", e.demo.PrisonerID), prisonerUpdate{Name: "x", Location: ptr("b-2-14")}, 400, "validation"},
		{"control character in a name", adminToken, http.MethodPost, prison + "/rooms", roomRequest{Name: "bad\x07room"}, 400, "validation"},
		{"name too long", adminToken, http.MethodPost, prison + "/rooms", roomRequest{Name: strings.Repeat("é", 65)}, 400, "validation"},
		{"short password", adminToken, http.MethodPost, "/api/v1/staff", staffRequest{Username: "new.one", Name: "x", Role: StaffClerk, PrisonID: e.demo.PrisonID, Password: "eleven-char"}, 400, "validation"},
		{"password too long", adminToken, http.MethodPost, "/api/v1/staff", staffRequest{Username: "new.one", Name: "x", Role: StaffClerk, PrisonID: e.demo.PrisonID, Password: strings.Repeat("p", 73)}, 400, "validation"},
		{"upper-case username", adminToken, http.MethodPost, "/api/v1/staff", staffRequest{Username: "New.One", Name: "x", Role: StaffClerk, PrisonID: e.demo.PrisonID, Password: "a-long-password"}, 400, "validation"},
		{"disable yourself", adminToken, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/disable", admin.ID), nil, 403, "forbidden"},
		{"change your own role", adminToken, http.MethodPut, fmt.Sprintf("/api/v1/staff/%d", admin.ID), staffUpdate{Name: "x", Role: StaffClerk, PrisonID: admin.PrisonID}, 403, "forbidden"},
		{"caseload of a clerk", adminToken, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/caseload", clerk.ID), caseloadRequest{PrisonerID: e.demo.PrisonerID}, 422, "not_probation_officer"},
		{"unknown field", adminToken, http.MethodPost, prison + "/rooms", `{"name":"x","size":3}`, 400, "validation"},
		{"device kind", adminToken, http.MethodPost, prison + "/devices", deviceRequest{Name: "x", Location: "A", Kind: "laptop"}, 400, "validation"},
		{"excluded room and template", adminToken, http.MethodPost, prison + "/excluded-dates", excludedRequest{Date: "2026-12-01", RoomID: rooms[0].ID, TemplateID: tpls[0].ID, Reason: "x"}, 400, "validation"},
		{"excluded template of another prison", adminToken, http.MethodPost, "/api/v1/prisons/999/excluded-dates", excludedRequest{Date: "2026-12-01", TemplateID: tpls[0].ID, Reason: "x"}, 404, "not_found"},
	} {
		before := e.tableCounts()
		e.as(c.token, c.method, c.path, c.body).wantProblem(t, c.status, c.code)
		if diff := sameCounts(before, e.tableCounts()); len(diff) != 0 {
			t.Errorf("%s: refused, but wrote to %v", c.name, diff)
		}
	}
}

// TestCaseloadVisibility: a probation officer sees and books only the
// probation calls of the prisoners on their caseload; clerks see their
// prison; security sees it without join links.
func TestCaseloadVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	officer := e.staff("probation")
	officerToken, officerCSRF := e.session(officer)
	clerkToken, _ := e.session(e.staff("clerk"))
	securityToken, _ := e.session(e.staff("security"))
	daniel := e.demo.PrisonerID
	mark := e.contactIDs()["Mark Ellis (probation officer)"]
	// Another prisoner at the demo prison, not on the caseload.
	other, otherOfficer := e.addPrisoner(e.demo.PrisonID, "C5555CC", ContactProbation)
	prisoners := fmt.Sprintf("/api/v1/prisons/%d/prisoners", e.demo.PrisonID)

	var seen []Prisoner
	e.as(officerToken, http.MethodGet, prisoners, nil).decode(t, 200, &seen)
	if len(seen) != 1 || seen[0].ID != daniel {
		t.Fatalf("the officer sees prisoners %+v, want only Daniel", seen)
	}
	e.as(clerkToken, http.MethodGet, prisoners, nil).decode(t, 200, &seen)
	if len(seen) != 3 { // Daniel, the seed's Marcus Reid, and the one above
		t.Fatalf("the clerk sees %d prisoners, want 3", len(seen))
	}
	e.as(officerToken, http.MethodGet, fmt.Sprintf("/api/v1/prisoners/%d/contacts", daniel), nil).decode(t, 200, nil)
	e.as(officerToken, http.MethodGet, fmt.Sprintf("/api/v1/prisoners/%d/contacts", other), nil).wantProblem(t, 404, "prisoner_not_found")

	s1, s2 := e.slot("2026-11-24", "10:00", "Visits room"), e.slot("2026-11-24", "11:00", "Visits room")
	var own, clerkBooked, social Booking
	e.as(officerToken, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel, SlotID: s1.ID,
		CallType: CallProbation, ContactIDs: []int64{mark}}).decode(t, 201, &own)
	before := e.tableCounts()
	e.as(officerToken, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: other, SlotID: s1.ID,
		CallType: CallProbation, ContactIDs: []int64{otherOfficer}}).wantProblem(t, 404, "prisoner_not_found")
	e.as(officerToken, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel, SlotID: s2.ID,
		CallType: CallSocial, ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).wantProblem(t, 403, "forbidden")
	if diff := sameCounts(before, e.tableCounts()); len(diff) != 0 {
		t.Fatalf("refused bookings wrote to %v", diff)
	}
	e.as(clerkToken, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: other, SlotID: s2.ID,
		CallType: CallProbation, ContactIDs: []int64{otherOfficer}}).decode(t, 201, &clerkBooked)
	e.as(clerkToken, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel, SlotID: s2.ID,
		CallType: CallSocial, ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).decode(t, 201, &social)

	list := func(token string) map[int64]Booking {
		t.Helper()
		var bs []Booking
		e.as(token, http.MethodGet, "/api/v1/bookings?from=2026-11-24&to=2026-11-24", nil).decode(t, 200, &bs)
		out := map[int64]Booking{}
		for _, b := range bs {
			out[b.ID] = b
		}
		return out
	}
	if got := list(officerToken); len(got) != 1 || got[own.ID].ID != own.ID || got[own.ID].Participants[0].JoinURL == "" {
		t.Fatalf("the officer's list %+v: want only their caseload's probation call, with join links", got)
	}
	if got := list(clerkToken); len(got) != 3 || got[social.ID].Participants[0].JoinURL == "" {
		t.Fatalf("the clerk's list has %d bookings, want 3 with join links", len(got))
	}
	for _, b := range list(securityToken) {
		for _, p := range b.Participants {
			if p.JoinURL != "" {
				t.Fatalf("security sees a join link in booking %d", b.ID)
			}
		}
	}
	e.as(officerToken, http.MethodGet, fmt.Sprintf("/api/v1/bookings/%d", own.ID), nil).decode(t, 200, nil)
	for _, id := range []int64{clerkBooked.ID, social.ID} {
		e.as(officerToken, http.MethodGet, fmt.Sprintf("/api/v1/bookings/%d", id), nil).wantProblem(t, 404, "not_found")
		e.send(http.MethodPost, fmt.Sprintf("/api/v1/bookings/%d/cancel", id), cancelRequest{Reason: "x"}, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: officerToken})
			r.Header.Set(CSRFHeader, officerCSRF)
		}).wantProblem(t, 404, "not_found")
	}
	e.as(securityToken, http.MethodPost, fmt.Sprintf("/api/v1/bookings/%d/cancel", own.ID), cancelRequest{Reason: "x"}).
		wantProblem(t, 403, "forbidden")
	e.as(officerToken, http.MethodPost, fmt.Sprintf("/api/v1/bookings/%d/cancel", own.ID), cancelRequest{Reason: "rescheduled"}).
		decode(t, 200, nil)

	// Taken off the caseload, Daniel disappears from the officer's view at
	// the next request.
	admin := e.staff("admin")
	adminToken, _ := e.session(admin)
	res := e.as(adminToken, http.MethodDelete, fmt.Sprintf("/api/v1/staff/%d/caseload/%d", officer.ID, daniel), nil)
	if res.status != http.StatusNoContent {
		t.Fatalf("remove from caseload: %d %s", res.status, res.body)
	}
	e.as(officerToken, http.MethodGet, prisoners, nil).decode(t, 200, &seen)
	if len(seen) != 0 {
		t.Fatalf("after removal the officer sees %+v", seen)
	}
	e.as(officerToken, http.MethodGet, fmt.Sprintf("/api/v1/bookings/%d", own.ID), nil).wantProblem(t, 404, "not_found")
}
