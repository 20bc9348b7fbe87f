package booking

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// adminConformance drives the administration operations through every
// status openapi.json documents for them (401 comes from the conformance
// test's own no-credentials pass), validating each request and answer
// against the document. It runs inside TestOpenAPIConformance, on its
// server, after the booking flow.
func adminConformance(c *conformance) {
	t, e := c.t, c.e
	t.Helper()
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	)
	// Sessions straight from the store: the booking flow has logged in
	// through the API already, and bcrypt is slow under -race.
	login := func(user string) loginResponse {
		st := e.staff(user)
		token, csrf := e.session(st)
		return loginResponse{Token: token, CSRFToken: csrf, Staff: st}
	}
	admin, clerk, probation := login("admin"), login("clerk"), login("probation")
	asAdmin, asClerk, asProbation := bearer(admin.Token), bearer(clerk.Token), bearer(probation.Token)
	adminCookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: admin.Token}) }
	adminCookieCSRF := func(r *http.Request) { adminCookie(r); r.Header.Set(CSRFHeader, admin.CSRFToken) }
	// run makes x as the admin unless it says otherwise, and decodes a
	// successful answer into out.
	run := func(x exchange, out any) {
		t.Helper()
		if x.auth == nil {
			x.auth = asAdmin
		}
		res := c.run(x)
		if out != nil && res.status < 300 {
			if err := json.Unmarshal(res.body, out); err != nil {
				t.Fatalf("%s: decode %s: %v", x.name, res.body, err)
			}
		}
	}
	// refusals runs, for one write operation, the refusals every admin
	// write has: another role, a cookie without its CSRF token, a body too
	// large.
	refusals := func(method, path string, body any) {
		t.Helper()
		run(exchange{name: method + " " + path + " as clerk", method: method, path: path, body: body, auth: asClerk, status: 403, code: "forbidden"}, nil)
		run(exchange{name: method + " " + path + " cookie without CSRF", method: method, path: path, body: body, auth: adminCookie, status: 403, code: "csrf", docRejects: true}, nil)
		if body != nil {
			raw, _ := json.Marshal(body)
			big := `{` + strings.Repeat(" ", MaxBodyBytes) + string(raw[1:])
			run(exchange{name: method + " " + path + " too large", method: method, path: path, body: big, status: 413, code: "request_too_large"}, nil)
		}
	}
	idPath := func(format string, ids ...any) string { return fmt.Sprintf(format, ids...) }

	// Prisons.
	var ldn Prison
	run(exchange{name: "create prison by cookie", method: post, path: "/api/v1/prisons", auth: adminCookieCSRF,
		body: prisonRequest{Code: "LDN", Name: "HMP London"}, status: 201}, &ldn)
	if ldn.ID == 0 || ldn.Timezone != DefaultTimezone {
		t.Fatalf("created prison %+v", ldn)
	}
	prisonPath := idPath("/api/v1/prisons/%d", ldn.ID)
	for _, x := range []exchange{
		{name: "create prison again", body: prisonRequest{Code: "LDN", Name: "Again"}, status: 409, code: "already_exists"},
		{name: "create prison bad code", body: prisonRequest{Code: "l", Name: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "create prison bad zone", body: prisonRequest{Code: "MRS", Name: "x", Timezone: "Mars/Olympus"}, status: 400, code: "validation"},
		{name: "create prison unknown field", body: `{"code":"ABC","name":"x","governor":"y"}`, status: 400, code: "validation", docRejects: true},
	} {
		x.method, x.path = post, "/api/v1/prisons"
		run(x, nil)
	}
	refusals(post, "/api/v1/prisons", prisonRequest{Code: "XYZ", Name: "x"})
	run(exchange{name: "rename prison", method: put, path: prisonPath, body: prisonUpdate{Name: "HMP London East", Timezone: "Europe/London"}, status: 200}, &ldn)
	for _, x := range []exchange{
		{name: "update unknown prison", path: "/api/v1/prisons/999", body: prisonUpdate{Name: "x", Timezone: "Europe/London"}, status: 404, code: "not_found"},
		{name: "update prison no zone", body: map[string]string{"name": "x"}, status: 400, code: "validation", docRejects: true},
		{name: "update prison bad id", path: "/api/v1/prisons/abc", body: prisonUpdate{Name: "x", Timezone: "Europe/London"}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = put
		if x.path == "" {
			x.path = prisonPath
		}
		run(x, nil)
	}
	refusals(put, prisonPath, prisonUpdate{Name: "x", Timezone: "Europe/London"})

	// Rooms.
	var hall, legalRoom, spare Room
	run(exchange{name: "create room", method: post, path: prisonPath + "/rooms", body: roomRequest{Name: "Visits hall"}, status: 201}, &hall)
	run(exchange{name: "create second room", method: post, path: prisonPath + "/rooms", body: roomRequest{Name: "Legal room"}, status: 201}, &legalRoom)
	run(exchange{name: "create spare room", method: post, path: prisonPath + "/rooms", body: roomRequest{Name: "Spare"}, status: 201}, &spare)
	for _, x := range []exchange{
		{name: "create room again", body: roomRequest{Name: "Visits hall"}, status: 409, code: "already_exists"},
		{name: "create room no name", body: roomRequest{Name: ""}, status: 400, code: "validation", docRejects: true},
		{name: "create room unknown prison", path: "/api/v1/prisons/999/rooms", body: roomRequest{Name: "x"}, status: 404, code: "not_found"},
	} {
		x.method = post
		if x.path == "" {
			x.path = prisonPath + "/rooms"
		}
		run(x, nil)
	}
	refusals(post, prisonPath+"/rooms", roomRequest{Name: "x"})
	for _, x := range []exchange{
		{name: "list rooms", path: prisonPath + "/rooms", status: 200},
		{name: "list rooms of an unseen prison", path: prisonPath + "/rooms", auth: asClerk, status: 404, code: "not_found"},
		{name: "list rooms bad prison id", path: "/api/v1/prisons/abc/rooms", status: 400, code: "validation", docRejects: true},
	} {
		x.method = get
		run(x, nil)
	}
	hallPath := idPath("/api/v1/rooms/%d", hall.ID)
	run(exchange{name: "rename room", method: put, path: hallPath, body: roomRequest{Name: "Main visits hall"}, status: 200}, &hall)
	for _, x := range []exchange{
		{name: "rename room to a taken name", body: roomRequest{Name: "Legal room"}, status: 409, code: "already_exists"},
		{name: "rename unknown room", path: "/api/v1/rooms/999", body: roomRequest{Name: "x"}, status: 404, code: "not_found"},
		{name: "rename room blank", body: roomRequest{Name: " "}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = put
		if x.path == "" {
			x.path = hallPath
		}
		run(x, nil)
	}
	refusals(put, hallPath, roomRequest{Name: "x"})
	refusals(del, idPath("/api/v1/rooms/%d", spare.ID), nil)
	run(exchange{name: "delete spare room", method: del, path: idPath("/api/v1/rooms/%d", spare.ID), status: 204}, nil)
	run(exchange{name: "delete spare room again", method: del, path: idPath("/api/v1/rooms/%d", spare.ID), status: 404, code: "not_found"}, nil)
	run(exchange{name: "delete room bad id", method: del, path: "/api/v1/rooms/0", status: 400, code: "validation", docRejects: true}, nil)

	// Slot templates: Tuesdays, fortnightly from 2026-11-24.
	tplReq := templateRequest{RoomID: hall.ID, Weekday: "tuesday", Start: "09:00", End: "12:00", SlotMinutes: 30,
		Capacity: 2, CallTypes: []CallType{CallSocial, CallLegal}, RepeatWeeks: 2, ValidFrom: "2026-11-24"}
	var tpl, spareTpl templateView
	run(exchange{name: "create template", method: post, path: prisonPath + "/slot-templates", body: tplReq, status: 201}, &tpl)
	spareReq := tplReq
	spareReq.RoomID, spareReq.RepeatWeeks, spareReq.End = legalRoom.ID, 1, "24:00"
	run(exchange{name: "create template to midnight", method: post, path: prisonPath + "/slot-templates", body: spareReq, status: 201}, &spareTpl)
	if tpl.RepeatWeeks != 2 || tpl.Weekday != "tuesday" || tpl.ValidTo != nil || spareTpl.End != "24:00" {
		t.Fatalf("templates %+v %+v", tpl, spareTpl)
	}
	badStart, backwards, otherRoom := tplReq, tplReq, tplReq
	badStart.Start, backwards.End = "9:00", "08:00"
	demoRooms := []Room{}
	run(exchange{name: "list demo rooms", method: get, path: idPath("/api/v1/prisons/%d/rooms", e.demo.PrisonID), status: 200}, &demoRooms)
	otherRoom.RoomID = demoRooms[0].ID
	for _, x := range []exchange{
		{name: "create template bad start", body: badStart, status: 400, code: "validation", docRejects: true},
		{name: "create template ending before it starts", body: backwards, status: 400, code: "validation"},
		{name: "create template in another prison's room", body: otherRoom, status: 404, code: "not_found"},
	} {
		x.method, x.path = post, prisonPath+"/slot-templates"
		run(x, nil)
	}
	refusals(post, prisonPath+"/slot-templates", tplReq)
	for _, x := range []exchange{
		{name: "list templates", path: prisonPath + "/slot-templates", status: 200},
		{name: "list templates unknown prison", path: "/api/v1/prisons/999/slot-templates", status: 404, code: "not_found"},
		{name: "list templates bad id", path: "/api/v1/prisons/0/slot-templates", status: 400, code: "validation", docRejects: true},
	} {
		x.method = get
		run(x, nil)
	}
	tplPath := idPath("/api/v1/slot-templates/%d", tpl.ID)
	validTo := "2027-06-29"
	upd := templateUpdate{Capacity: 3, CallTypes: []CallType{CallSocial, CallLegal}, ValidTo: &validTo}
	run(exchange{name: "update template", method: put, path: tplPath, body: upd, status: 200}, &tpl)
	if tpl.Capacity != 3 || tpl.ValidTo == nil || *tpl.ValidTo != validTo {
		t.Fatalf("updated template %+v", tpl)
	}
	for _, x := range []exchange{
		{name: "update unknown template", path: "/api/v1/slot-templates/999", body: upd, status: 404, code: "not_found"},
		{name: "update template capacity 0", body: templateUpdate{Capacity: 0, CallTypes: upd.CallTypes}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = put
		if x.path == "" {
			x.path = tplPath
		}
		run(x, nil)
	}
	refusals(put, tplPath, upd)

	// Excluded dates.
	var xmas, roomDay, tplDay excludedView
	exPath := prisonPath + "/excluded-dates"
	run(exchange{name: "exclude a date prison-wide", method: post, path: exPath, body: excludedRequest{Date: "2026-12-25", Reason: "Christmas Day"}, status: 201}, &xmas)
	run(exchange{name: "exclude a date in a room", method: post, path: exPath, body: excludedRequest{Date: "2026-12-08", RoomID: hall.ID, Reason: "Refit"}, status: 201}, &roomDay)
	run(exchange{name: "exclude a date for a template", method: post, path: exPath, body: excludedRequest{Date: "2026-12-22", TemplateID: tpl.ID, Reason: "Staff training"}, status: 201}, &tplDay)
	if xmas.RoomID != nil || roomDay.RoomID == nil || *roomDay.RoomID != hall.ID || tplDay.TemplateID == nil {
		t.Fatalf("excluded dates %+v %+v %+v", xmas, roomDay, tplDay)
	}
	for _, x := range []exchange{
		{name: "exclude a date again", body: excludedRequest{Date: "2026-12-25", Reason: "again"}, status: 409, code: "already_exists"},
		{name: "exclude with room and template", body: excludedRequest{Date: "2026-12-26", RoomID: hall.ID, TemplateID: tpl.ID, Reason: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "exclude bad date", body: excludedRequest{Date: "25/12/2026", Reason: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "exclude in another prison's room", body: excludedRequest{Date: "2026-12-26", RoomID: otherRoom.RoomID, Reason: "x"}, status: 404, code: "not_found"},
	} {
		x.method, x.path = post, exPath
		run(x, nil)
	}
	refusals(post, exPath, excludedRequest{Date: "2026-12-27", Reason: "x"})
	var excluded []excludedView
	run(exchange{name: "list excluded dates", method: get, path: exPath, status: 200}, &excluded)
	if len(excluded) != 3 || excluded[0].Date != "2026-12-08" {
		t.Fatalf("excluded dates %+v", excluded)
	}
	run(exchange{name: "list excluded dates unknown prison", method: get, path: "/api/v1/prisons/999/excluded-dates", status: 404, code: "not_found"}, nil)
	run(exchange{name: "list excluded dates bad id", method: get, path: "/api/v1/prisons/x/excluded-dates", status: 400, code: "validation", docRejects: true}, nil)
	var tpls []templateView
	run(exchange{name: "list templates with exclusions", method: get, path: prisonPath + "/slot-templates", status: 200}, &tpls)
	if !slices.Equal(tpls[0].ExcludedDates, []string{"2026-12-08", "2026-12-22", "2026-12-25"}) ||
		!slices.Equal(tpls[1].ExcludedDates, []string{"2026-12-25"}) {
		t.Fatalf("template exclusions %+v", tpls)
	}
	roomDayPath := idPath("/api/v1/excluded-dates/%d", roomDay.ID)
	refusals(del, roomDayPath, nil)
	run(exchange{name: "delete excluded date", method: del, path: roomDayPath, status: 204}, nil)
	run(exchange{name: "delete excluded date again", method: del, path: roomDayPath, status: 404, code: "not_found"}, nil)
	run(exchange{name: "delete excluded date bad id", method: del, path: "/api/v1/excluded-dates/-3", status: 400, code: "validation", docRejects: true}, nil)

	// Prisoners and contacts.
	var lee Prisoner
	prisonersPath := prisonPath + "/prisoners"
	run(exchange{name: "create prisoner", method: post, path: prisonersPath, body: prisonerRequest{Number: "L1234AB", Name: "Lee Hall", Location: "A-1-01"}, status: 201}, &lee)
	if lee.Status != PrisonerActive || lee.Location != "A-1-01" {
		t.Fatalf("prisoner %+v", lee)
	}
	for _, x := range []exchange{
		{name: "create prisoner again", body: prisonerRequest{Number: "L1234AB", Name: "Twin"}, status: 409, code: "already_exists"},
		{name: "create prisoner bad number", body: prisonerRequest{Number: "1234", Name: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "create prisoner bad location", body: prisonerRequest{Number: "L9999AB", Name: "x", Location: "a-1"}, status: 400, code: "validation", docRejects: true},
		{name: "create prisoner unknown prison", path: "/api/v1/prisons/999/prisoners", body: prisonerRequest{Number: "L9999AB", Name: "x"}, status: 404, code: "not_found"},
	} {
		x.method = post
		if x.path == "" {
			x.path = prisonersPath
		}
		run(x, nil)
	}
	refusals(post, prisonersPath, prisonerRequest{Number: "L9999AB", Name: "x"})
	leePath := idPath("/api/v1/prisoners/%d", lee.ID)
	run(exchange{name: "move prisoner to another cell", method: put, path: leePath, body: prisonerUpdate{Name: "Lee Hall", Location: ptr("A-1-02")}, status: 200}, &lee)
	for _, x := range []exchange{
		{name: "update unknown prisoner", path: "/api/v1/prisoners/999", body: prisonerUpdate{Name: "x", Location: ptr("")}, status: 404, code: "prisoner_not_found"},
		{name: "update prisoner without location", body: map[string]string{"name": "x"}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = put
		if x.path == "" {
			x.path = leePath
		}
		run(x, nil)
	}
	refusals(put, leePath, prisonerUpdate{Name: "x", Location: ptr("")})

	var kim, solicitor contactRecord
	dob := "1985-02-03"
	run(exchange{name: "create contact", method: post, path: "/api/v1/contacts", body: contactRequest{Name: "Kim Hall", Kind: ContactSocial, DateOfBirth: &dob}, status: 201}, &kim)
	run(exchange{name: "create contact without birth date", method: post, path: "/api/v1/contacts", body: contactRequest{Name: "Sam Law", Kind: ContactLegal}, status: 201}, &solicitor)
	if kim.DateOfBirth == nil || *kim.DateOfBirth != dob || solicitor.DateOfBirth != nil {
		t.Fatalf("contacts %+v %+v", kim, solicitor)
	}
	future := "2099-01-01"
	run(exchange{name: "create contact born in the future", method: post, path: "/api/v1/contacts", body: contactRequest{Name: "x", Kind: ContactSocial, DateOfBirth: &future}, status: 400, code: "validation"}, nil)
	run(exchange{name: "create contact bad kind", method: post, path: "/api/v1/contacts", body: contactRequest{Name: "x", Kind: "friend"}, status: 400, code: "validation", docRejects: true}, nil)
	refusals(post, "/api/v1/contacts", contactRequest{Name: "x", Kind: ContactSocial})

	yes, no := true, false
	linksPath := leePath + "/contacts"
	var link contactView
	run(exchange{name: "link contact", method: post, path: linksPath, body: linkRequest{ContactID: kim.ID, Relationship: "sister", Approved: &yes, Banned: &no}, status: 201}, &link)
	if !link.Approved || link.Banned || link.Relationship != "sister" {
		t.Fatalf("link %+v", link)
	}
	for _, x := range []exchange{
		{name: "link contact again", body: linkRequest{ContactID: kim.ID, Relationship: "sister", Approved: &yes, Banned: &no}, status: 409, code: "already_exists"},
		{name: "link unknown contact", body: linkRequest{ContactID: 999, Relationship: "x", Approved: &yes, Banned: &no}, status: 404, code: "not_found"},
		{name: "link to unknown prisoner", path: "/api/v1/prisoners/999/contacts", body: linkRequest{ContactID: kim.ID, Relationship: "x", Approved: &yes, Banned: &no}, status: 404, code: "prisoner_not_found"},
		{name: "link without approved", body: map[string]any{"contactId": solicitor.ID, "relationship": "solicitor", "banned": false}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = post
		if x.path == "" {
			x.path = linksPath
		}
		run(x, nil)
	}
	refusals(post, linksPath, linkRequest{ContactID: solicitor.ID, Relationship: "x", Approved: &yes, Banned: &no})

	// A booking in the new prison, so that some of it is in use.
	slotID := fmt.Sprintf("%d-20261124-0900", tpl.ID)
	var booked Booking
	run(exchange{name: "book in the new prison", method: post, path: "/api/v1/bookings",
		body: CreateRequest{PrisonerID: lee.ID, SlotID: slotID, CallType: CallSocial, ContactIDs: []int64{kim.ID}}, status: 201}, &booked)
	run(exchange{name: "change the zone of a prison with bookings", method: put, path: prisonPath, body: prisonUpdate{Name: "HMP London East", Timezone: "Europe/Dublin"}, status: 409, code: "in_use"}, nil)
	run(exchange{name: "delete a room with a template", method: del, path: hallPath, status: 409, code: "in_use"}, nil)
	spareTplPath := idPath("/api/v1/slot-templates/%d", spareTpl.ID)
	refusals(del, tplPath, nil)
	run(exchange{name: "delete a template with bookings", method: del, path: tplPath, status: 409, code: "in_use"}, nil)
	run(exchange{name: "delete a template", method: del, path: spareTplPath, status: 204}, nil)
	run(exchange{name: "delete a template again", method: del, path: spareTplPath, status: 404, code: "not_found"}, nil)
	run(exchange{name: "delete template bad id", method: del, path: "/api/v1/slot-templates/0", status: 400, code: "validation", docRejects: true}, nil)

	linkPath := idPath("%s/%d", linksPath, kim.ID)
	run(exchange{name: "ban a contact", method: put, path: linkPath, body: linkUpdate{Relationship: "sister", Approved: &yes, Banned: &yes}, status: 200}, &link)
	if !link.Banned {
		t.Fatalf("link %+v", link)
	}
	for _, x := range []exchange{
		{name: "update a link that is not there", path: idPath("%s/%d", linksPath, solicitor.ID), body: linkUpdate{Relationship: "x", Approved: &yes, Banned: &no}, status: 404, code: "not_found"},
		{name: "update a link without banned", body: map[string]any{"relationship": "x", "approved": true}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = put
		if x.path == "" {
			x.path = linkPath
		}
		run(x, nil)
	}
	refusals(put, linkPath, linkUpdate{Relationship: "x", Approved: &yes, Banned: &no})

	// Staff accounts and caseloads.
	var leeClerk, leeOfficer Staff
	run(exchange{name: "create staff", method: post, path: "/api/v1/staff", body: staffRequest{Username: "lee.clerk", Name: "Lee Clerk",
		Role: StaffClerk, PrisonID: ldn.ID, Password: "a-long-password-1"}, status: 201}, &leeClerk)
	run(exchange{name: "create probation officer", method: post, path: "/api/v1/staff", body: staffRequest{Username: "lee.probation", Name: "Lee Officer",
		Role: StaffProbation, PrisonID: ldn.ID, Password: "a-long-password-2"}, status: 201}, &leeOfficer)
	for _, x := range []exchange{
		{name: "create staff again", body: staffRequest{Username: "lee.clerk", Name: "x", Role: StaffClerk, PrisonID: ldn.ID, Password: "a-long-password-1"}, status: 409, code: "already_exists"},
		{name: "create staff at an unknown prison", body: staffRequest{Username: "x.clerk", Name: "x", Role: StaffClerk, PrisonID: 999, Password: "a-long-password-1"}, status: 404, code: "not_found"},
		{name: "create staff short password", body: staffRequest{Username: "x.clerk", Name: "x", Role: StaffClerk, PrisonID: ldn.ID, Password: "short"}, status: 400, code: "validation", docRejects: true},
		{name: "create clerk without a prison", body: staffRequest{Username: "x.clerk", Name: "x", Role: StaffClerk, Password: "a-long-password-1"}, status: 400, code: "validation"},
	} {
		x.method, x.path = post, "/api/v1/staff"
		run(x, nil)
	}
	refusals(post, "/api/v1/staff", staffRequest{Username: "x.clerk", Name: "x", Role: StaffClerk, PrisonID: ldn.ID, Password: "a-long-password-1"})
	var all []Staff
	run(exchange{name: "list staff", method: get, path: "/api/v1/staff", status: 200}, &all)
	run(exchange{name: "list staff as clerk", method: get, path: "/api/v1/staff", auth: asClerk, status: 403, code: "forbidden"}, nil)
	leeClerkPath := idPath("/api/v1/staff/%d", leeClerk.ID)
	run(exchange{name: "change role", method: put, path: leeClerkPath, body: staffUpdate{Name: "Lee Clerk", Role: StaffSecurity, PrisonID: ldn.ID}, status: 200}, &leeClerk)
	for _, x := range []exchange{
		{name: "update unknown staff", path: "/api/v1/staff/999", body: staffUpdate{Name: "x", Role: StaffClerk, PrisonID: ldn.ID}, status: 404, code: "not_found"},
		{name: "update staff bad role", body: staffUpdate{Name: "x", Role: "governor", PrisonID: ldn.ID}, status: 400, code: "validation", docRejects: true},
		{name: "demote yourself", path: idPath("/api/v1/staff/%d", admin.Staff.ID), body: staffUpdate{Name: "x", Role: StaffClerk, PrisonID: e.demo.PrisonID}, status: 403, code: "forbidden"},
	} {
		x.method = put
		if x.path == "" {
			x.path = leeClerkPath
		}
		run(x, nil)
	}
	refusals(put, leeClerkPath, staffUpdate{Name: "x", Role: StaffClerk, PrisonID: ldn.ID})

	officerPath := idPath("/api/v1/staff/%d/caseload", leeOfficer.ID)
	var added Prisoner
	run(exchange{name: "add to caseload", method: post, path: officerPath, body: caseloadRequest{PrisonerID: lee.ID}, status: 201}, &added)
	for _, x := range []exchange{
		{name: "add to caseload again", body: caseloadRequest{PrisonerID: lee.ID}, status: 409, code: "already_exists"},
		{name: "add unknown prisoner", body: caseloadRequest{PrisonerID: 999}, status: 404, code: "prisoner_not_found"},
		{name: "add to unknown staff", path: "/api/v1/staff/999/caseload", body: caseloadRequest{PrisonerID: lee.ID}, status: 404, code: "not_found"},
		{name: "add to a non-officer", path: idPath("/api/v1/staff/%d/caseload", leeClerk.ID), body: caseloadRequest{PrisonerID: lee.ID}, status: 422, code: "not_probation_officer"},
		{name: "add a prisoner of another prison", body: caseloadRequest{PrisonerID: e.demo.PrisonerID}, status: 422, code: "prisoner_not_at_prison"},
		{name: "add prisoner 0", body: caseloadRequest{PrisonerID: 0}, status: 400, code: "validation", docRejects: true},
	} {
		x.method = post
		if x.path == "" {
			x.path = officerPath
		}
		run(x, nil)
	}
	refusals(post, officerPath, caseloadRequest{PrisonerID: lee.ID})
	var caseload []Prisoner
	run(exchange{name: "caseload", method: get, path: officerPath, status: 200}, &caseload)
	if len(caseload) != 1 || caseload[0].ID != lee.ID {
		t.Fatalf("caseload %+v", caseload)
	}
	for _, x := range []exchange{
		{name: "own caseload", path: idPath("/api/v1/staff/%d/caseload", probation.Staff.ID), auth: asProbation, status: 200},
		{name: "another officer's caseload", path: officerPath, auth: asProbation, status: 403, code: "forbidden"},
		{name: "caseload of unknown staff", path: "/api/v1/staff/999/caseload", status: 404, code: "not_found"},
		{name: "caseload bad id", path: "/api/v1/staff/x/caseload", status: 400, code: "validation", docRejects: true},
	} {
		x.method = get
		run(x, nil)
	}
	entryPath := idPath("%s/%d", officerPath, lee.ID)
	refusals(del, entryPath, nil)
	run(exchange{name: "remove from caseload", method: del, path: entryPath, status: 204}, nil)
	run(exchange{name: "remove from caseload again", method: del, path: entryPath, status: 404, code: "not_found"}, nil)
	run(exchange{name: "remove from caseload bad id", method: del, path: officerPath + "/0", status: 400, code: "validation", docRejects: true}, nil)

	disablePath := leeClerkPath + "/disable"
	refusals(post, disablePath, nil)
	run(exchange{name: "disable staff", method: post, path: disablePath, status: 200}, &leeClerk)
	if !leeClerk.Disabled {
		t.Fatalf("disabled staff %+v", leeClerk)
	}
	run(exchange{name: "disable yourself", method: post, path: idPath("/api/v1/staff/%d/disable", admin.Staff.ID), status: 403, code: "forbidden"}, nil)
	run(exchange{name: "disable unknown staff", method: post, path: "/api/v1/staff/999/disable", status: 404, code: "not_found"}, nil)
	run(exchange{name: "disable bad id", method: post, path: "/api/v1/staff/abc/disable", status: 400, code: "validation", docRejects: true}, nil)

	// Devices.
	devicesPath := prisonPath + "/devices"
	var reg registeredDevice
	run(exchange{name: "register device", method: post, path: devicesPath, body: deviceRequest{Name: "Cell A-1-02 tablet", Location: "A-1-02", Kind: DeviceInCell}, status: 201}, &reg)
	if reg.Secret == "" || !reg.Device.Active || reg.Device.Location != "A-1-02" {
		t.Fatalf("registered device %+v", reg)
	}
	for _, x := range []exchange{
		{name: "register device again", body: deviceRequest{Name: "Cell A-1-02 tablet", Location: "A-1-02", Kind: DeviceKiosk}, status: 409, code: "already_exists"},
		{name: "register device bad kind", body: deviceRequest{Name: "x", Location: "A", Kind: "phone"}, status: 400, code: "validation", docRejects: true},
		{name: "register device no location", body: deviceRequest{Name: "x", Kind: DeviceKiosk}, status: 400, code: "validation", docRejects: true},
		{name: "register device unknown prison", path: "/api/v1/prisons/999/devices", body: deviceRequest{Name: "x", Location: "A", Kind: DeviceKiosk}, status: 404, code: "not_found"},
	} {
		x.method = post
		if x.path == "" {
			x.path = devicesPath
		}
		run(x, nil)
	}
	refusals(post, devicesPath, deviceRequest{Name: "x", Location: "A", Kind: DeviceKiosk})
	var devices []Device
	run(exchange{name: "list devices", method: get, path: devicesPath, status: 200}, &devices)
	if len(devices) != 1 || strings.Contains(fmt.Sprint(devices), reg.Secret) {
		t.Fatalf("devices %+v", devices)
	}
	run(exchange{name: "list devices unknown prison", method: get, path: "/api/v1/prisons/999/devices", status: 404, code: "not_found"}, nil)
	run(exchange{name: "list devices bad id", method: get, path: "/api/v1/prisons/1.5/devices", status: 400, code: "validation", docRejects: true}, nil)
	devicePath := idPath("/api/v1/devices/%d/disable", reg.Device.ID)
	refusals(post, devicePath, nil)
	run(exchange{name: "disable device", method: post, path: devicePath, status: 200}, nil)
	run(exchange{name: "disable unknown device", method: post, path: "/api/v1/devices/999/disable", status: 404, code: "not_found"}, nil)
	run(exchange{name: "disable device bad id", method: post, path: "/api/v1/devices/x/disable", status: 400, code: "validation", docRejects: true}, nil)

	// Login throttling: a username that keeps failing is refused with 429
	// (the failures recorded straight in the store; TestLoginThrottling
	// makes them through the API).
	for range DefaultLoginFailuresPerUser {
		if err := e.store.RecordLoginFailure(e.ctx, "guesser", "192.0.2.1", e.clock.Now(), e.clock.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	res := c.run(exchange{name: "throttled login", method: post, path: "/api/v1/auth/login",
		body: loginRequest{Username: "guesser", Password: "guess"}, status: 429, code: "too_many_attempts"})
	if res.header.Get("Retry-After") == "" {
		t.Error("a throttled login has no Retry-After")
	}
}

// TestOpenAPIAdminSchemasMatchGoTypes holds the administration schemas to
// the Go types the API encodes and decodes, as
// TestOpenAPISchemasMatchGoTypes does for the rest, and their enums to the
// Go constants.
func TestOpenAPIAdminSchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schemas := doc.Components.Schemas
	checkSchemas(t, schemas, []schemaCase{
		{"Room", Room{}, true},
		{"SlotTemplate", templateView{}, true},
		{"ExcludedDate", excludedView{}, true},
		{"ContactRecord", contactRecord{}, true},
		{"Device", Device{}, true},
		{"RegisteredDevice", registeredDevice{}, true},
		{"PrisonRequest", prisonRequest{}, false},
		{"PrisonUpdate", prisonUpdate{}, false},
		{"RoomRequest", roomRequest{}, false},
		{"SlotTemplateRequest", templateRequest{}, false},
		{"SlotTemplateUpdate", templateUpdate{}, false},
		{"ExcludedDateRequest", excludedRequest{}, false},
		{"PrisonerRequest", prisonerRequest{}, false},
		{"PrisonerUpdate", prisonerUpdate{}, false},
		{"ContactRequest", contactRequest{}, false},
		{"ContactLinkRequest", linkRequest{}, false},
		{"ContactLinkUpdate", linkUpdate{}, false},
		{"StaffRequest", staffRequest{}, false},
		{"StaffUpdate", staffUpdate{}, false},
		{"CaseloadRequest", caseloadRequest{}, false},
	})
	consts := stringConstants(t)
	for typ, schema := range map[string]string{"DeviceKind": "DeviceKind"} {
		got, want := consts[typ], enumOf(schemas[schema].Value)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s constants %v, openapi.json enum %v", typ, got, want)
		}
	}
	names := weekdayNames()
	if want := enumOf(schemas["Weekday"].Value); !slices.Equal(names[:], want) {
		t.Errorf("weekday names %v, openapi.json enum %v", names, want)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
