package booking

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Helpers of the booking-rules tests (holds, allowances, overrides,
// non-associations, outcomes, moves, settings).

// addRoom adds a room to the demo prison with one template on weekday, from
// startMin to endMin in slots of slotMin minutes, each of capacity places
// for callTypes, valid from 2026-01-01. It returns the template id.
func (e *env) addRoom(name string, weekday time.Weekday, startMin, endMin, slotMin, capacity int, callTypes ...CallType) int64 {
	e.t.Helper()
	room, err := e.store.CreateRoom(e.ctx, Room{PrisonID: e.demo.PrisonID, Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	tpl, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: room, Weekday: weekday, StartMinute: startMin,
		EndMinute: endMin, SlotMinutes: slotMin, Capacity: capacity, CallTypes: callTypes,
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	return tpl
}

// slotID is the id of template tpl's slot on date (YYYY-MM-DD) at hh:mm.
func slotID(tpl int64, date, hhmm string) string {
	return fmt.Sprintf("%d-%s-%s", tpl, strings.ReplaceAll(date, "-", ""), strings.ReplaceAll(hhmm, ":", ""))
}

// token logs in a demo account and returns its bearer token.
func (e *env) token(username string) string {
	e.t.Helper()
	return e.login(username).Token
}

// book posts a booking request as token.
func (e *env) book(token string, req CreateRequest) response {
	e.t.Helper()
	return e.as(token, http.MethodPost, "/api/v1/bookings", req)
}

// mustBook books and returns the booking, failing the test on a refusal.
func (e *env) mustBook(token string, req CreateRequest) Booking {
	e.t.Helper()
	var b Booking
	e.book(token, req).decode(e.t, http.StatusCreated, &b)
	return b
}

// snapshot is everything a refused request must leave as it was: the rows
// of every table the booking rules write, in order.
func (e *env) snapshot() string {
	e.t.Helper()
	var sb strings.Builder
	for _, q := range []string{
		`SELECT id, status, status_reason, needs_review, review_reason, rebook_offered, override_capacity,
			override_allowance, override_reason FROM bookings ORDER BY id`,
		`SELECT id, booking_id FROM booking_participants ORDER BY id`,
		`SELECT id, prison_id, status FROM prisoners ORDER BY id`,
		`SELECT id, slot_id, prisoner_id, expires_at FROM holds ORDER BY id`,
		`SELECT prisoner_a, prisoner_b, reason FROM non_associations ORDER BY prisoner_a, prisoner_b`,
		`SELECT prison_id, settings FROM prison_settings ORDER BY prison_id`,
		`SELECT id, hash FROM audit_log ORDER BY id`,
	} {
		rows, err := e.store.db.QueryContext(e.ctx, q)
		if err != nil {
			e.t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			e.t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintln(&sb, vals...)
		}
		if err := rows.Close(); err != nil {
			e.t.Fatal(err)
		}
		sb.WriteString("--\n")
	}
	return sb.String()
}

// refused sends a request that must be refused with status and code, and
// checks that it changed nothing.
func (e *env) refused(token, method, path string, body any, status int, code string) {
	e.t.Helper()
	before := e.snapshot()
	e.as(token, method, path, body).wantProblem(e.t, status, code)
	if after := e.snapshot(); after != before {
		e.t.Fatalf("%s %s refused with %s, but it wrote:\nbefore\n%s\nafter\n%s", method, path, code, before, after)
	}
}

// lastAudit returns the newest audit entry.
func (e *env) lastAudit() AuditEntry {
	e.t.Helper()
	a, err := e.store.LastAudit(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// visitRequest is a social call for the demo prisoner with Tom Price.
func (e *env) visitRequest(slot string) CreateRequest {
	e.t.Helper()
	return CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: slot, CallType: CallSocial,
		ContactIDs: []int64{e.contactIDs()["Tom Price"]}}
}

// otherPrisoner adds an active prisoner to the demo prison with one
// approved social contact and returns a social-call request for them.
func (e *env) otherPrisoner(number, slot string) CreateRequest {
	e.t.Helper()
	pid, cid := e.addPrisoner(e.demo.PrisonID, number, ContactSocial)
	return CreateRequest{PrisonerID: pid, SlotID: slot, CallType: CallSocial, ContactIDs: []int64{cid}}
}

// checkAuditChain verifies the audit log.
func (e *env) checkAuditChain() {
	e.t.Helper()
	if _, err := VerifyAudit(e.ctx, e.store); err != nil {
		e.t.Fatal(err)
	}
}
