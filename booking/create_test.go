package booking

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCreateRefusals checks every refusal code with its status, and that a
// refused request leaves bookings, participants and the audit log as they
// were.
func TestCreateRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23 08:00 London
	clerk := e.login("clerk")
	ids := e.contactIDs()
	sarah, tom := ids["Sarah Price"], ids["Tom Price"]
	priya, mark := ids["Priya Shah (solicitor)"], ids["Mark Ellis (probation officer)"]
	daniel := e.demo.PrisonerID
	nine := e.slot("2026-11-23", "09:00", "Visits room")
	tpl := strings.SplitN(nine.ID, "-", 2)[0]

	// A social-only room with capacity 1.
	room, err := e.store.CreateRoom(e.ctx, Room{PrisonID: e.demo.PrisonID, Name: "Small room"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: room, Weekday: time.Monday,
		StartMinute: 10 * 60, EndMinute: 11 * 60, SlotMinutes: 60, Capacity: 1, CallTypes: []CallType{CallSocial},
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	small := e.slot("2026-11-23", "10:00", "Small room")

	// Another prison, with a prisoner.
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := e.addPrisoner(other, "B9999ZZ", ContactSocial)
	released, releasedContact := e.addPrisoner(e.demo.PrisonID, "R1111RR", ContactSocial)
	if _, err := e.store.db.ExecContext(e.ctx, `UPDATE prisoners SET status = 'released' WHERE id = ?`, released); err != nil {
		t.Fatal(err)
	}
	unapproved := e.addContact(daniel, Contact{Name: "Unapproved Friend", Kind: ContactSocial}, false, false)
	banned := e.addContact(daniel, Contact{Name: "Banned Friend", Kind: ContactSocial}, true, true)
	stranger, err := e.store.CreateContact(e.ctx, Contact{Name: "Stranger", Kind: ContactSocial})
	if err != nil {
		t.Fatal(err)
	}
	child := e.addContact(daniel, Contact{Name: "Child Price", Kind: ContactSocial,
		DateOfBirth: time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)}, true, false)
	adult3 := e.addContact(daniel, Contact{Name: "Adult Three", Kind: ContactSocial}, true, false)
	adult4 := e.addContact(daniel, Contact{Name: "Adult Four", Kind: ContactSocial}, true, false)

	// Fill the small room, and give Daniel a 09:00 booking for prisoner_busy.
	busyPrisoner, busyContact := e.addPrisoner(e.demo.PrisonID, "F2222FF", ContactSocial)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: busyPrisoner,
		SlotID: small.ID, CallType: CallSocial, ContactIDs: []int64{busyContact}}).decode(t, http.StatusCreated, nil)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel,
		SlotID: nine.ID, CallType: CallSocial, ContactIDs: []int64{sarah}}).decode(t, http.StatusCreated, nil)
	demoNine := e.slot("2026-11-23", "09:00", "Demo room")

	req := func(prisoner int64, slot string, ct CallType, contacts ...int64) CreateRequest {
		return CreateRequest{PrisonerID: prisoner, SlotID: slot, CallType: ct, ContactIDs: contacts}
	}
	later := e.slot("2026-11-23", "11:00", "Visits room").ID
	cases := []struct {
		name   string
		body   any
		status int
		code   Code
	}{
		{"not json", `{"prisonerId":`, 400, ErrValidation},
		{"empty body", ``, 400, ErrValidation},
		{"array body", `[]`, 400, ErrValidation},
		{"unknown field", `{"prisonerId":1,"slotId":"x","callType":"social","contactIds":[1],"extra":1}`, 400, ErrValidation},
		{"wrong type", `{"prisonerId":"1","slotId":"x","callType":"social","contactIds":[1]}`, 400, ErrValidation},
		{"trailing data", `{"prisonerId":1,"slotId":"x","callType":"social","contactIds":[1]} {}`, 400, ErrValidation},
		{"too large", `{"slotId":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, ErrTooLarge},
		{"no prisoner", req(0, later, CallSocial, tom), 400, ErrValidation},
		{"no slot", req(daniel, "", CallSocial, tom), 400, ErrValidation},
		{"bad call type", req(daniel, later, "video", tom), 400, ErrValidation},
		{"no contacts", req(daniel, later, CallSocial), 400, ErrValidation},
		{"duplicate contact", req(daniel, later, CallSocial, tom, tom), 400, ErrValidation},
		{"negative contact", req(daniel, later, CallSocial, -3), 400, ErrValidation},
		{"five contacts", req(daniel, later, CallSocial, sarah, tom, adult3, adult4, child), 422, ErrTooManyVisitors},
		{"malformed slot", req(daniel, "nine-o-clock", CallSocial, tom), 404, ErrSlotNotFound},
		{"leading zero slot", req(daniel, "0"+later, CallSocial, tom), 404, ErrSlotNotFound},
		{"no template", req(daniel, "9999-20261123-0900", CallSocial, tom), 404, ErrSlotNotFound},
		{"wrong weekday", req(daniel, tpl+"-20261124-0900", CallSocial, tom), 404, ErrSlotNotFound},
		{"impossible date", req(daniel, tpl+"-20261131-0900", CallSocial, tom), 404, ErrSlotNotFound},
		{"unaligned minute", req(daniel, tpl+"-20261123-0915", CallSocial, tom), 404, ErrSlotNotFound},
		{"after hours", req(daniel, tpl+"-20261123-1700", CallSocial, tom), 404, ErrSlotNotFound},
		{"call type", req(daniel, small.ID, CallLegal, priya), 422, ErrCallTypeNotAllowed},
		{"past slot", req(daniel, tpl+"-20261116-0900", CallSocial, tom), 422, ErrOutsideWindow},
		{"too far ahead", req(daniel, tpl+"-20261221-0900", CallSocial, tom), 422, ErrOutsideWindow},
		{"no prisoner record", req(987654, later, CallSocial, tom), 404, ErrPrisonerNotFound},
		// A clerk cannot see the other prison, so its prisoner is not found.
		{"other prison", req(elsewhere, later, CallSocial, tom), 404, ErrPrisonerNotFound},
		{"released", req(released, later, CallSocial, releasedContact), 422, ErrPrisonerInactive},
		{"not on list", req(daniel, later, CallSocial, stranger), 422, ErrContactNotApproved},
		{"not approved", req(daniel, later, CallSocial, tom, unapproved), 422, ErrContactNotApproved},
		{"banned", req(daniel, later, CallSocial, banned), 422, ErrContactBanned},
		{"legal contact on social", req(daniel, later, CallSocial, priya), 422, ErrContactKind},
		{"social contact on probation", req(daniel, later, CallProbation, tom), 422, ErrContactKind},
		{"child lead", req(daniel, later, CallSocial, child, tom), 422, ErrLeadVisitorUnder18},
		{"four adults", req(daniel, later, CallSocial, sarah, tom, adult3, adult4), 422, ErrTooManyAdults},
		{"busy", req(daniel, demoNine.ID, CallSocial, tom), 409, ErrPrisonerBusy},
		{"busy probation", req(daniel, demoNine.ID, CallProbation, mark), 409, ErrPrisonerBusy},
		{"full", req(daniel, small.ID, CallSocial, tom), 409, ErrSlotFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			res := e.send(http.MethodPost, "/api/v1/bookings", c.body, bearer(clerk.Token))
			res.wantProblem(t, c.status, string(c.code))
			if after := e.counts(); after != before {
				t.Fatalf("a refused request wrote rows: %+v -> %+v", before, after)
			}
		})
	}

	// The same request, fixed, is accepted: the refusals were the rules,
	// not the fixture. A child may come along with an adult lead.
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", req(daniel, later, CallSocial, tom, child)).
		decode(t, http.StatusCreated, nil)
}

// TestBookingWindow covers the edges: a slot in progress may be booked until
// MinRemaining before its end; MaxAdvance ahead is the limit.
func TestBookingWindow(t *testing.T) {
	t.Parallel()
	loc := london(t)
	// 09:20 local on Monday 2026-11-23: the 09:00 slot has 10 minutes left.
	e := newEnv(t, time.Date(2026, 11, 23, 9, 20, 0, 0, loc))
	clerk := e.login("clerk")
	daniel, tom := e.demo.PrisonerID, e.contactIDs()["Tom Price"]
	nine := e.slot("2026-11-23", "09:00", "Visits room")
	if !nine.Bookable {
		t.Fatal("the slot in progress is not listed as bookable")
	}
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel, SlotID: nine.ID,
		CallType: CallSocial, ContactIDs: []int64{tom}}).decode(t, http.StatusCreated, &b)

	// At 09:26 only 4 minutes are left: refused.
	e.clock.Set(time.Date(2026, 11, 23, 9, 26, 0, 0, loc))
	pid, cid := e.addPrisoner(e.demo.PrisonID, "W1111WW", ContactSocial)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: pid, SlotID: nine.ID,
		CallType: CallSocial, ContactIDs: []int64{cid}}).wantProblem(t, 422, string(ErrOutsideWindow))

	// Exactly 28 days ahead is allowed, a slot later is not.
	in28 := e.slot("2026-12-21", "09:00", "Visits room")
	e.clock.Set(in28.StartsAt.Add(-Defaults().maxAdvance()))
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: pid, SlotID: in28.ID,
		CallType: CallSocial, ContactIDs: []int64{cid}}).decode(t, http.StatusCreated, nil)
	next := e.slot("2026-12-21", "09:30", "Visits room")
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel, SlotID: next.ID,
		CallType: CallSocial, ContactIDs: []int64{tom}}).wantProblem(t, 422, string(ErrOutsideWindow))
}

// TestCreateResponse checks the 201: Location, reference, participants in
// order with join links, and that the booking reads back the same.
func TestCreateResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	ids := e.contactIDs()
	sl := e.slot("2026-11-24", "14:30", "Visits room")
	res := e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: sl.ID, CallType: CallSocial, ContactIDs: []int64{ids["Tom Price"], ids["Sarah Price"]}})
	var b Booking
	res.decode(t, http.StatusCreated, &b)
	if loc := res.header.Get("Location"); loc != "/api/v1/bookings/"+itoa(b.ID) {
		t.Errorf("Location %q", loc)
	}
	if len(b.Reference) != ReferenceLength || strings.Trim(b.Reference, referenceAlphabet) != "" {
		t.Errorf("reference %q", b.Reference)
	}
	if b.Status != StatusBooked || b.SlotID != sl.ID || !b.StartsAt.Equal(sl.StartsAt) || !b.EndsAt.Equal(sl.EndsAt) ||
		b.PrisonID != e.demo.PrisonID || b.RoomName != "Visits room" || b.CallType != CallSocial {
		t.Errorf("booking %+v does not match slot %+v", b, sl)
	}
	wantNames := []string{"Daniel Price", "Tom Price", "Sarah Price"}
	wantRoles := []Role{RolePrisoner, RoleVisitor, RoleVisitor}
	if len(b.Participants) != 3 {
		t.Fatalf("participants %+v", b.Participants)
	}
	for i, p := range b.Participants {
		if p.Name != wantNames[i] || p.Role != wantRoles[i] || len(p.ID) != 16 || p.JoinURL == "" {
			t.Errorf("participant %d: %+v", i, p)
		}
	}

	var got Booking
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings/"+itoa(b.ID), nil).decode(t, http.StatusOK, &got)
	if got.Reference != b.Reference || len(got.Participants) != 3 || got.Participants[1].ID != b.Participants[1].ID ||
		got.Participants[2].JoinURL == "" {
		t.Errorf("read back %+v", got)
	}

	// Security reads it, but without the join links.
	sec := e.login("security")
	var secView Booking
	e.as(sec.Token, http.MethodGet, "/api/v1/bookings/"+itoa(b.ID), nil).decode(t, http.StatusOK, &secView)
	for _, p := range secView.Participants {
		if p.JoinURL != "" {
			t.Errorf("security sees a join link for %s", p.Name)
		}
	}

	// The list shows it.
	var list []Booking
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?from=2026-11-24&to=2026-11-24", nil).
		decode(t, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != b.ID || len(list[0].Participants) != 3 {
		t.Errorf("list %+v", list)
	}
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?from=2026-11-25&to=2026-11-30", nil).
		decode(t, http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("list of another range %+v", list)
	}
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?from=2026-11-01&to=2026-12-31", nil).
		wantProblem(t, 400, string(ErrValidation))
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?prisonId=abc", nil).wantProblem(t, 400, string(ErrValidation))
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?prisonId=99", nil).wantProblem(t, 404, "not_found")
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings?prisonId="+itoa(e.demo.PrisonID)+"&from=2026-11-23", nil).
		decode(t, http.StatusOK, &list)
	if len(list) != 1 {
		t.Errorf("default range from 2026-11-23: %d bookings", len(list))
	}
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings/999999", nil).wantProblem(t, 404, "not_found")
	e.as(clerk.Token, http.MethodGet, "/api/v1/bookings/abc", nil).wantProblem(t, 400, string(ErrValidation))
}

// TestCancel cancels once, then refuses a second cancel and bad reasons.
func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	sl := e.slot("2026-11-24", "10:00", "Visits room")
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: sl.ID, CallType: CallSocial, ContactIDs: []int64{e.contactIDs()["Tom Price"]}}).
		decode(t, http.StatusCreated, &b)
	path := "/api/v1/bookings/" + itoa(b.ID) + "/cancel"

	for name, body := range map[string]any{
		"empty reason":   map[string]string{"reason": "   "},
		"long reason":    map[string]string{"reason": strings.Repeat("x", MaxReasonLen+1)},
		"unknown field":  map[string]any{"reason": "ok", "force": true},
		"missing reason": map[string]any{},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.counts()
			e.as(clerk.Token, http.MethodPost, path, body).wantProblem(t, 400, string(ErrValidation))
			if after := e.counts(); after != before {
				t.Fatalf("refused cancel wrote rows")
			}
		})
	}
	sec := e.login("security")
	e.as(sec.Token, http.MethodPost, path, map[string]string{"reason": "no"}).wantProblem(t, 403, string(ErrForbidden))

	var got Booking
	e.as(clerk.Token, http.MethodPost, path, map[string]string{"reason": "Visitor unwell"}).decode(t, http.StatusOK, &got)
	if got.Status != StatusCancelled || got.StatusReason != "Visitor unwell" {
		t.Fatalf("cancelled booking %+v", got)
	}
	for _, p := range got.Participants {
		if p.JoinURL != "" {
			t.Errorf("cancelled booking still hands out a join link")
		}
	}
	before := e.counts()
	e.as(clerk.Token, http.MethodPost, path, map[string]string{"reason": "again"}).wantProblem(t, 409, string(ErrNotActive))
	if after := e.counts(); after != before {
		t.Fatalf("refused cancel wrote rows")
	}
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings/424242/cancel", map[string]string{"reason": "x"}).
		wantProblem(t, 404, "not_found")

	// The cancelled place is free again.
	if s := e.slot("2026-11-24", "10:00", "Visits room"); s.Remaining != s.Capacity {
		t.Errorf("remaining %d after cancel, want %d", s.Remaining, s.Capacity)
	}
}

// TestRoles: security reads only, probation books only probation calls.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	ids := e.contactIDs()
	sl := e.slot("2026-11-24", "11:00", "Visits room")
	social := CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID, CallType: CallSocial,
		ContactIDs: []int64{ids["Tom Price"]}}
	probation := CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID, CallType: CallProbation,
		ContactIDs: []int64{ids["Mark Ellis (probation officer)"]}}

	sec := e.login("security")
	e.as(sec.Token, http.MethodPost, "/api/v1/bookings", social).wantProblem(t, 403, string(ErrForbidden))
	e.as(sec.Token, http.MethodGet, "/api/v1/prisons/"+itoa(e.demo.PrisonID)+"/slots", nil).decode(t, 200, nil)

	po := e.login("probation")
	before := e.counts()
	e.as(po.Token, http.MethodPost, "/api/v1/bookings", social).wantProblem(t, 403, string(ErrForbidden))
	if e.counts() != before {
		t.Fatal("refused request wrote rows")
	}
	var b Booking
	e.as(po.Token, http.MethodPost, "/api/v1/bookings", probation).decode(t, http.StatusCreated, &b)
	if b.Participants[1].Role != RoleProbation {
		t.Errorf("probation officer's role %q", b.Participants[1].Role)
	}

	// A clerk of another prison cannot see or book at the demo prison.
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Other"})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hashForTest("other-clerk-pass")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateStaff(e.ctx, Staff{Username: "otherclerk", Name: "Other", Role: StaffClerk,
		PrisonID: other, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	e.demo.Logins = append(e.demo.Logins, DemoLogin{Username: "otherclerk", Password: "other-clerk-pass"})
	oc := e.login("otherclerk")
	social.SlotID = e.slot("2026-11-24", "11:30", "Visits room").ID
	e.as(oc.Token, http.MethodPost, "/api/v1/bookings", social).wantProblem(t, 404, string(ErrSlotNotFound))
	e.as(oc.Token, http.MethodGet, "/api/v1/bookings/"+itoa(b.ID), nil).wantProblem(t, 404, "not_found")
	e.as(oc.Token, http.MethodGet, "/api/v1/prisons/"+itoa(e.demo.PrisonID)+"/slots", nil).wantProblem(t, 404, "not_found")
	e.as(oc.Token, http.MethodGet, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/contacts", nil).
		wantProblem(t, 404, string(ErrPrisonerNotFound))
	var prisons []Prison
	e.as(oc.Token, http.MethodGet, "/api/v1/prisons", nil).decode(t, 200, &prisons)
	if len(prisons) != 1 || prisons[0].ID != other {
		t.Errorf("other clerk sees prisons %+v", prisons)
	}
	admin := e.login("admin")
	e.as(admin.Token, http.MethodGet, "/api/v1/prisons", nil).decode(t, 200, &prisons)
	if len(prisons) != 2 {
		t.Errorf("admin sees prisons %+v", prisons)
	}
}
