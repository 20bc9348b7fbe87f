package booking

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestOutcomeTransitions is the transition table of staff outcomes.
func TestOutcomeTransitions(t *testing.T) {
	t.Parallel()
	all := []Status{StatusRequested, StatusBooked, StatusCompleted, StatusCancelled, StatusNoShow, StatusTerminated, StatusFailed}
	for _, from := range all {
		for _, to := range all {
			want := staffOutcome(to) && (from.Active() || (from == StatusCompleted && to != StatusCompleted))
			if got := outcomeTransition(from, to); got != want {
				t.Errorf("%s -> %s: %v, want %v", from, to, got, want)
			}
		}
	}
	for _, st := range all {
		want := st != StatusCancelled && st != StatusFailed
		if st.UsesAllowance() != want {
			t.Errorf("%s uses the allowance: %v", st, st.UsesAllowance())
		}
	}
}

// TestOutcomes: staff record outcomes from the call's start until the
// outcome window after its end; invalid transitions are refused; a failed
// call is refunded and offered a rebooking; RecordOutcome still works.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23 08:00 London
	clerk := e.token("clerk")
	sl := e.slot("2026-11-24", "14:00", "Visits room")
	b := e.mustBook(clerk, e.visitRequest(sl.ID))
	path := "/api/v1/bookings/" + itoa(b.ID) + "/outcome"

	// Not yet started.
	e.refused(clerk, http.MethodPost, path, OutcomeRequest{Status: StatusCompleted, Reason: "x"}, 422, string(ErrOutcomeWindow))
	e.clock.Set(sl.StartsAt)
	clerk = e.token("clerk")
	for _, bad := range []any{
		OutcomeRequest{Status: StatusCancelled, Reason: "use cancel"},
		OutcomeRequest{Status: StatusBooked, Reason: "x"},
		OutcomeRequest{Status: "exploded", Reason: "x"},
		OutcomeRequest{Status: StatusFailed},
		map[string]any{"status": "failed", "reason": "x", "rebook": true},
	} {
		e.refused(clerk, http.MethodPost, path, bad, 400, string(ErrValidation))
	}
	e.refused(e.token("security"), http.MethodPost, path, OutcomeRequest{Status: StatusCompleted, Reason: "x"}, 403, string(ErrForbidden))
	e.refused(clerk, http.MethodPost, "/api/v1/bookings/999999/outcome", OutcomeRequest{Status: StatusCompleted, Reason: "x"}, 404, "not_found")

	var res OutcomeResult
	e.as(clerk, http.MethodPost, path, OutcomeRequest{Status: StatusCompleted, Reason: "went ahead"}).decode(t, 200, &res)
	if res.Booking.Status != StatusCompleted || res.Booking.StatusReason != "went ahead" || res.Rebooking != nil {
		t.Fatalf("completed %+v", res)
	}
	for _, p := range res.Booking.Participants {
		if p.JoinURL != "" {
			t.Error("an ended booking hands out join links")
		}
	}
	var detail struct{ Before, After outcomeState }
	if a := e.lastAudit(); a.Action != "booking.outcome" || json.Unmarshal(a.Detail, &detail) != nil ||
		detail.Before.Status != StatusBooked || detail.After.Status != StatusCompleted {
		t.Fatalf("audit %s %s", a.Action, a.Detail)
	}
	e.refused(clerk, http.MethodPost, path, OutcomeRequest{Status: StatusCompleted, Reason: "again"}, 409, string(ErrInvalidTransition))

	// The correction completed -> failed refunds the allowance and offers
	// the next slots of the same room and call type that Daniel can take.
	e.as(clerk, http.MethodPost, path, OutcomeRequest{Status: StatusFailed, Reason: "the video never connected"}).decode(t, 200, &res)
	if res.Booking.Status != StatusFailed || !res.Booking.RebookOffered || res.Rebooking == nil || !res.Rebooking.Offered {
		t.Fatalf("failed %+v", res)
	}
	if n := len(res.Rebooking.Slots); n != RebookingChoices {
		t.Fatalf("%d rebooking slots, want %d", n, RebookingChoices)
	}
	prev := time.Time{}
	for _, s := range res.Rebooking.Slots {
		if s.RoomID != b.RoomID || !s.Bookable || !s.StartsAt.After(prev) || s.EndsAt.Before(e.clock.Now().Add(5*time.Minute)) {
			t.Errorf("rebooking slot %+v", s)
		}
		prev = s.StartsAt
	}
	var a Allowance
	e.as(clerk, http.MethodGet, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/allowance?month=2026-11", nil).decode(t, 200, &a)
	if a.UsedMinutes != 0 {
		t.Errorf("a failed call still uses the allowance: %+v", a)
	}
	e.refused(clerk, http.MethodPost, path, OutcomeRequest{Status: StatusCompleted, Reason: "x"}, 409, string(ErrInvalidTransition))
	// The first offered slot can be booked.
	e.mustBook(clerk, e.visitRequest(res.Rebooking.Slots[0].ID))

	// The outcome window closes 28 days after the end.
	other := e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", "16:00", "Visits room").ID))
	e.clock.Set(other.EndsAt.Add(28 * 24 * time.Hour))
	clerk = e.token("clerk")
	opath := "/api/v1/bookings/" + itoa(other.ID) + "/outcome"
	e.clock.Set(other.EndsAt.Add(28*24*time.Hour + time.Second))
	e.refused(clerk, http.MethodPost, opath, OutcomeRequest{Status: StatusNoShow, Reason: "x"}, 422, string(ErrOutcomeWindow))
	e.clock.Set(other.EndsAt.Add(28*24*time.Hour - time.Minute)) // the clock runs on
	e.as(clerk, http.MethodPost, opath, OutcomeRequest{Status: StatusNoShow, Reason: "nobody came"}).decode(t, 200, nil)

	// Signalling's RecordOutcome still ends an active booking.
	third := e.mustBook(e.token("admin"), e.visitRequest(e.slot("2027-01-04", "09:00", "Visits room").ID))
	if err := e.svc.RecordOutcome(e.ctx, third.ID, StatusCompleted, "call ended"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RecordOutcome(e.ctx, third.ID, StatusCompleted, "again"); err == nil {
		t.Error("RecordOutcome of an ended booking succeeded")
	}
	e.checkAuditChain()
}

// TestFailedCallOfMovedPrisoner: a failed call of a prisoner no longer
// held at the prison is not offered a rebooking.
func TestFailedCallOfMovedPrisoner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.token("clerk")
	sl := e.slot("2026-11-23", "08:00", "Demo room")
	b := e.mustBook(clerk, e.visitRequest(sl.ID))
	e.as(clerk, http.MethodPost, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/move",
		MoveRequest{Status: PrisonerReleased, Reason: "court order"}).decode(t, 200, nil)
	var res OutcomeResult
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(b.ID)+"/outcome",
		OutcomeRequest{Status: StatusFailed, Reason: "network down"}).decode(t, 200, &res)
	if res.Rebooking == nil || res.Rebooking.Offered || len(res.Rebooking.Slots) != 0 || res.Booking.RebookOffered {
		t.Fatalf("rebooking of a released prisoner %+v", res)
	}
}

// TestRebookingSlotsSkipConflicts: the offer lists the room's next slots,
// from today, leaving out full ones, ones the prisoner is busy at and ones
// with a non-associated prisoner.
func TestRebookingSlotsSkipConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.token("clerk")
	tpl := e.addRoom("Rebook room", time.Monday, 10*60, 12*60, 30, 1, CallSocial)
	nowSlot := e.slot("2026-11-23", "08:00", "Demo room")
	daniel := e.visitRequest(nowSlot.ID)
	b := e.mustBook(clerk, daniel)
	// Move the failing call to the rebook room's first slot via the store,
	// so the offer is about that room.
	if _, err := e.store.db.ExecContext(e.ctx, e.store.d.bind(`UPDATE bookings SET room_id = (SELECT room_id FROM slot_templates WHERE id = ?) WHERE id = ?`), tpl, b.ID); err != nil {
		t.Fatal(err)
	}
	// 30 Nov 10:00 is full; Daniel is busy at 10:30 (another room); a
	// non-associated prisoner is in 11:00.
	e.mustBook(clerk, e.otherPrisoner("S1111SA", slotID(tpl, "2026-11-30", "10:00")))
	e.mustBook(clerk, e.visitRequest(e.slot("2026-11-30", "10:30", "Visits room").ID))
	enemy := e.otherPrisoner("S2222SB", slotID(tpl, "2026-11-30", "11:00"))
	e.mustBook(clerk, enemy)
	if _, err := e.svc.AddNonAssociation(e.ctx, e.adminStaff(), e.demo.PrisonerID, NonAssociationRequest{OtherPrisonerID: enemy.PrisonerID, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	var res OutcomeResult
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(b.ID)+"/outcome",
		OutcomeRequest{Status: StatusFailed, Reason: "x"}).decode(t, 200, &res)
	var got []string
	for _, s := range res.Rebooking.Slots {
		got = append(got, s.ID)
	}
	want := []string{slotID(tpl, "2026-11-23", "10:00"), slotID(tpl, "2026-11-23", "10:30"), slotID(tpl, "2026-11-23", "11:00"),
		slotID(tpl, "2026-11-23", "11:30"), slotID(tpl, "2026-11-30", "11:30")}
	if len(got) != len(want) {
		t.Fatalf("offered %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offered %v, want %v", got, want)
		}
	}
}

// TestStatusChangesAuditBeforeAndAfter: cancelling and the system's
// outcomes record the booking's state before and after.
func TestStatusChangesAuditBeforeAndAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.token("clerk")
	b := e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", "10:00", "Visits room").ID))
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(b.ID)+"/cancel", cancelRequest{Reason: "unwell"}).decode(t, 200, nil)
	var d struct{ Before, After outcomeState }
	if a := e.lastAudit(); a.Action != "booking.cancel" || json.Unmarshal(a.Detail, &d) != nil ||
		d.Before.Status != StatusBooked || d.After.Status != StatusCancelled || d.After.StatusReason != "unwell" {
		t.Fatalf("cancel audit %s", a.Detail)
	}
	b = e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", "11:00", "Visits room").ID))
	if err := e.svc.RecordOutcome(e.ctx, b.ID, StatusTerminated, "ended by security"); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(); a.Action != "booking.outcome" || a.Actor != systemActor || json.Unmarshal(a.Detail, &d) != nil ||
		d.Before.Status != StatusBooked || d.After.Status != StatusTerminated {
		t.Fatalf("outcome audit %s", a.Detail)
	}
}
