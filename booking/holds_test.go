package booking

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestHolds: a hold takes a place for the hold lifetime, a booking of the
// same prisoner consumes it, and it lapses on its own.
func TestHolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23 08:00 London
	clerk := e.token("clerk")
	tpl := e.addRoom("Small room", time.Monday, 10*60, 12*60, 30, 1, CallSocial, CallLegal)
	slot := slotID(tpl, "2026-11-30", "10:00")
	daniel := e.visitRequest(slot)
	other := e.otherPrisoner("H1111HH", slot)

	// Daniel holds the only place.
	e.clock.Set(defaultNow()) // the clock runs on from here
	var h Hold
	e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: daniel.PrisonerID}).
		decode(t, http.StatusCreated, &h)
	if h.ID == 0 || h.SlotID != slot || h.PrisonerID != daniel.PrisonerID ||
		!h.ExpiresAt.Equal(defaultNow().Add(10*time.Minute)) {
		t.Fatalf("hold %+v", h)
	}
	if a := e.lastAudit(); a.Action != "hold.create" || a.Subject != holdSubject(h.ID) {
		t.Errorf("audit %+v", a)
	}
	if sl := e.slot("2026-11-30", "10:00", "Small room"); sl.Remaining != 0 || sl.Bookable {
		t.Errorf("held slot lists remaining %d bookable %v", sl.Remaining, sl.Bookable)
	}

	// No one else may hold or book it, and Daniel may not hold it twice.
	e.refused(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: other.PrisonerID}, 409, string(ErrSlotFull))
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", other, 409, string(ErrSlotFull))
	e.refused(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: daniel.PrisonerID}, 409, string(ErrPrisonerBusy))

	// Another prisoner's hold is a mismatch; an unknown one is not found.
	withHold := other
	withHold.HoldID = h.ID
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", withHold, 422, string(ErrHoldMismatch))
	unknown := daniel
	unknown.HoldID = 987654
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", unknown, 404, string(ErrHoldNotFound))

	// Daniel books with his hold: it is consumed, the place is the booking's.
	daniel.HoldID = h.ID
	b := e.mustBook(clerk, daniel)
	if n, err := e.store.HeldCounts(e.ctx, e.demo.PrisonID, e.clock.Now()); err != nil || len(n) != 0 {
		t.Fatalf("holds after booking: %v %v", n, err)
	}
	if a := e.lastAudit(); a.Action != "booking.create" || !json.Valid(a.Detail) {
		t.Errorf("audit %+v", a)
	} else {
		var d map[string]any
		_ = json.Unmarshal(a.Detail, &d)
		if d["holdsConsumed"] != float64(1) {
			t.Errorf("booking audit does not record the consumed hold: %s", a.Detail)
		}
	}
	// The hold is gone: using it again, or releasing it, is not found.
	e.refused(clerk, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil, 404, string(ErrHoldNotFound))
	if sl := e.slot("2026-11-30", "10:00", "Small room"); sl.Remaining != 0 {
		t.Errorf("booked slot remaining %d", sl.Remaining)
	}
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(b.ID)+"/cancel", cancelRequest{Reason: "test"}).decode(t, 200, nil)

	// A hold lapses on its own after 10 minutes: no sweeper needed.
	e.clock.Set(defaultNow())
	e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: other.PrisonerID}).
		decode(t, http.StatusCreated, &h)
	e.clock.Set(defaultNow().Add(9*time.Minute + 59*time.Second))
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", e.visitRequest(slot), 409, string(ErrSlotFull))
	e.clock.Set(defaultNow().Add(10 * time.Minute))
	withHold.HoldID = h.ID
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", withHold, 404, string(ErrHoldNotFound))
	e.refused(clerk, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil, 404, string(ErrHoldNotFound))
	e.mustBook(clerk, e.visitRequest(slot))
	if n, err := e.svc.PurgeExpiredHolds(e.ctx); err != nil || n != 1 {
		t.Fatalf("purged %d expired holds: %v", n, err)
	}
	e.checkAuditChain()
}

// TestHoldRelease: the creator, a clerk or an admin may release a hold;
// the place is free again at once.
func TestHoldRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin, sec, po := e.token("clerk"), e.token("admin"), e.token("security"), e.token("probation")
	tpl := e.addRoom("Small room", time.Monday, 10*60, 12*60, 30, 1, CallSocial, CallProbation)
	slot := slotID(tpl, "2026-11-30", "10:00")
	var h Hold
	e.as(po, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: e.demo.PrisonerID}).
		decode(t, http.StatusCreated, &h)
	e.refused(sec, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil, 403, string(ErrForbidden))
	e.as(admin, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil).decode(t, http.StatusNoContent, nil)
	if a := e.lastAudit(); a.Action != "hold.release" || a.Actor == "" {
		t.Errorf("audit %+v", a)
	}
	if sl := e.slot("2026-11-30", "10:00", "Small room"); sl.Remaining != 1 {
		t.Errorf("released slot remaining %d", sl.Remaining)
	}
	// A clerk's hold: a probation officer may not release it, its creator may.
	e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: e.demo.PrisonerID}).
		decode(t, http.StatusCreated, &h)
	e.refused(po, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil, 403, string(ErrForbidden))
	e.as(clerk, http.MethodDelete, "/api/v1/holds/"+itoa(h.ID), nil).decode(t, http.StatusNoContent, nil)
	e.refused(clerk, http.MethodDelete, "/api/v1/holds/abc", nil, 400, string(ErrValidation))
}

// TestHoldRefusals covers each refusal of POST /holds, none of which
// writes anything.
func TestHoldRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, sec := e.token("clerk"), e.token("security")
	tpl := e.addRoom("Small room", time.Monday, 10*60, 12*60, 30, 1, CallSocial)
	slot := slotID(tpl, "2026-11-30", "10:00")
	daniel := e.demo.PrisonerID
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := e.addPrisoner(other, "E1111EE", ContactSocial)
	released, _ := e.addPrisoner(e.demo.PrisonID, "R1111RR", ContactSocial)
	if _, err := e.store.db.ExecContext(e.ctx, `UPDATE prisoners SET status = 'released' WHERE id = ?`, released); err != nil {
		t.Fatal(err)
	}
	busySlot := e.slot("2026-11-30", "10:00", "Visits room")
	e.mustBook(clerk, e.visitRequest(busySlot.ID))

	for _, c := range []struct {
		name   string
		token  string
		body   any
		status int
		code   Code
	}{
		{"unknown field", clerk, `{"slotId":"x","prisonerId":1,"minutes":5}`, 400, ErrValidation},
		{"no prisoner", clerk, HoldRequest{SlotID: slot}, 400, ErrValidation},
		{"no slot", clerk, HoldRequest{PrisonerID: daniel}, 400, ErrValidation},
		{"security", sec, HoldRequest{SlotID: slot, PrisonerID: daniel}, 403, ErrForbidden},
		{"malformed slot", clerk, HoldRequest{SlotID: "soon", PrisonerID: daniel}, 404, ErrSlotNotFound},
		{"no such prisoner", clerk, HoldRequest{SlotID: slot, PrisonerID: 99999}, 404, ErrPrisonerNotFound},
		{"prisoner elsewhere", clerk, HoldRequest{SlotID: slot, PrisonerID: elsewhere}, 404, ErrPrisonerNotFound},
		{"released", clerk, HoldRequest{SlotID: slot, PrisonerID: released}, 422, ErrPrisonerInactive},
		{"too far ahead", clerk, HoldRequest{SlotID: slotID(tpl, "2026-12-28", "10:00"), PrisonerID: daniel}, 422, ErrOutsideWindow},
		{"past", clerk, HoldRequest{SlotID: slotID(tpl, "2026-11-16", "10:00"), PrisonerID: daniel}, 422, ErrOutsideWindow},
		{"busy", clerk, HoldRequest{SlotID: slot, PrisonerID: daniel}, 409, ErrPrisonerBusy},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.snapshot()
			e.send(http.MethodPost, "/api/v1/holds", c.body, bearer(c.token)).wantProblem(t, c.status, string(c.code))
			if e.snapshot() != before {
				t.Fatal("a refused hold wrote rows")
			}
		})
	}
}
