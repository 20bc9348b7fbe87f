package booking

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestOverrides: clerks and admins may book past a full slot or a spent
// allowance with a reason; the booking records what was overridden and
// why, the audit log what was asked; probation and security officers may
// not; an override never bypasses another rule.
func TestOverrides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin, po := e.token("clerk"), e.token("admin"), e.token("probation")
	tpl := e.addRoom("Small room", time.Monday, 10*60, 12*60, 30, 1, CallSocial, CallProbation)
	slot := slotID(tpl, "2026-11-30", "10:00")
	first := e.otherPrisoner("O1111OO", slot)
	e.mustBook(clerk, first)

	// The slot is full: a second prisoner needs a capacity override.
	second := e.otherPrisoner("O2222OO", slot)
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", second, 409, string(ErrSlotFull))
	for name, o := range map[string]*Override{
		"no limit":     {Reason: "x"},
		"no reason":    {Capacity: true},
		"blank reason": {Capacity: true, Reason: "   "},
		"long reason":  {Capacity: true, Reason: string(make([]byte, MaxReasonLen+1))},
	} {
		t.Run(name, func(t *testing.T) {
			req := second
			req.Override = o
			e.refused(clerk, http.MethodPost, "/api/v1/bookings", req, 400, string(ErrValidation))
		})
	}
	withAllowance := second
	withAllowance.Override = &Override{Allowance: true, Reason: "wrong limit"}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", withAllowance, 409, string(ErrSlotFull))
	second.Override = &Override{Capacity: true, Reason: "  travelling from abroad  "}
	probationReq := CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: slot, CallType: CallProbation,
		ContactIDs: []int64{e.contactIDs()["Mark Ellis (probation officer)"]}, Override: second.Override}
	e.refused(po, http.MethodPost, "/api/v1/bookings", probationReq, 403, string(ErrForbidden))
	e.refused(e.token("security"), http.MethodPost, "/api/v1/bookings", second, 403, string(ErrForbidden))

	b := e.mustBook(clerk, second)
	if b.Override == nil || !b.Override.Capacity || b.Override.Allowance || b.Override.Reason != "travelling from abroad" {
		t.Fatalf("booking records override %+v", b.Override)
	}
	var got Booking
	e.as(clerk, http.MethodGet, "/api/v1/bookings/"+itoa(b.ID), nil).decode(t, 200, &got)
	if got.Override == nil || *got.Override != *b.Override {
		t.Fatalf("read back override %+v", got.Override)
	}
	var detail map[string]any
	if a := e.lastAudit(); a.Action != "booking.create" || json.Unmarshal(a.Detail, &detail) != nil ||
		detail["overCapacity"] != true || detail["overAllowance"] != false || detail["override"] == nil {
		t.Fatalf("audit %s %s", a.Action, a.Detail)
	}
	// One override is one place: the next prisoner is refused again, and
	// needs an override of their own.
	third := e.otherPrisoner("O3333OO", slot)
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", third, 409, string(ErrSlotFull))
	third.Override = &Override{Capacity: true, Reason: "second exception"}
	e.mustBook(admin, third)
	if sl := e.slot("2026-11-30", "10:00", "Small room"); sl.Remaining != 0 || sl.Bookable {
		t.Errorf("overbooked slot lists %+v", sl)
	}

	// An override that was not needed is not recorded on the booking.
	free := e.otherPrisoner("O4444OO", slotID(tpl, "2026-11-30", "10:30"))
	free.Override = &Override{Capacity: true, Allowance: true, Reason: "just in case"}
	if b := e.mustBook(clerk, free); b.Override != nil {
		t.Errorf("an unneeded override was recorded: %+v", b.Override)
	}
	if a := e.lastAudit(); json.Unmarshal(a.Detail, &detail) != nil || detail["overCapacity"] != false || detail["override"] == nil {
		t.Errorf("audit of an unneeded override %s", a.Detail)
	}

	// Allowance: Daniel's two calls spend it; a third needs an override.
	visits := []string{"09:00", "09:30", "10:00"}
	for _, hhmm := range visits[:2] {
		e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", hhmm, "Visits room").ID))
	}
	over := e.visitRequest(e.slot("2026-11-24", "11:00", "Visits room").ID)
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", over, 422, string(ErrAllowanceExhausted))
	over.Override = &Override{Allowance: true, Reason: "bereavement"}
	if b := e.mustBook(clerk, over); b.Override == nil || !b.Override.Allowance || b.Override.Capacity {
		t.Fatalf("allowance override recorded as %+v", b.Override)
	}
	var a Allowance
	e.as(clerk, http.MethodGet, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/allowance?month=2026-11", nil).decode(t, 200, &a)
	if a.UsedMinutes != 90 || a.RemainingMinutes != 0 {
		t.Errorf("allowance after an override %+v", a)
	}
	// An override does not bypass any other rule.
	busy := e.visitRequest(e.slot("2026-11-24", "09:00", "Demo room").ID)
	busy.Override = &Override{Capacity: true, Allowance: true, Reason: "x"}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", busy, 409, string(ErrPrisonerBusy))
	e.checkAuditChain()
}
