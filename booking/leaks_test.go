package booking

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNoLeaksAcrossPrisons: a slot or prisoner at a prison the caller
// cannot see is not found, exactly as one that does not exist; a prisoner
// held elsewhere, at a prison the caller can see, is refused without
// naming them.
func TestNoLeaksAcrossPrisons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin := e.token("clerk"), e.token("admin")
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, cid := e.addPrisoner(other, "Z9876YX", ContactSocial)
	room, err := e.store.CreateRoom(e.ctx, Room{PrisonID: other, Name: "Their room"})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: room, Weekday: time.Monday, StartMinute: 600, EndMinute: 660,
		SlotMinutes: 30, Capacity: 2, CallTypes: []CallType{CallSocial}, ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	theirSlot := slotID(tpl, "2026-11-30", "10:00")
	ourSlot := e.slot("2026-11-30", "10:00", "Visits room").ID

	// A clerk of the demo prison: their slot and their prisoner do not
	// exist, with the same answer as ids that never existed.
	missingSlot := e.book(clerk, CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: "987654-20261130-1000", CallType: CallSocial, ContactIDs: []int64{1}}).
		wantProblem(t, 404, string(ErrSlotNotFound))
	hiddenSlot := e.book(clerk, CreateRequest{PrisonerID: elsewhere, SlotID: theirSlot, CallType: CallSocial, ContactIDs: []int64{cid}}).
		wantProblem(t, 404, string(ErrSlotNotFound))
	if strings.Replace(hiddenSlot.Detail, theirSlot, "X", 1) != strings.Replace(missingSlot.Detail, "987654-20261130-1000", "X", 1) {
		t.Errorf("a hidden slot is told apart from a missing one: %q vs %q", hiddenSlot.Detail, missingSlot.Detail)
	}
	e.refused(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: theirSlot, PrisonerID: elsewhere}, 404, string(ErrSlotNotFound))
	hiddenPrisoner := e.book(clerk, CreateRequest{PrisonerID: elsewhere, SlotID: ourSlot, CallType: CallSocial, ContactIDs: []int64{cid}}).
		wantProblem(t, 404, string(ErrPrisonerNotFound))
	missingPrisoner := e.book(clerk, CreateRequest{PrisonerID: 987654, SlotID: ourSlot, CallType: CallSocial, ContactIDs: []int64{cid}}).
		wantProblem(t, 404, string(ErrPrisonerNotFound))
	if strings.Replace(hiddenPrisoner.Detail, itoa(elsewhere), "X", 1) != strings.Replace(missingPrisoner.Detail, "987654", "X", 1) {
		t.Errorf("a hidden prisoner is told apart from a missing one: %q vs %q", hiddenPrisoner.Detail, missingPrisoner.Detail)
	}

	// An admin sees both prisons: the prisoner is not at the slot's
	// prison, and the detail names neither them nor their number.
	p := e.book(admin, CreateRequest{PrisonerID: elsewhere, SlotID: ourSlot, CallType: CallSocial, ContactIDs: []int64{cid}}).
		wantProblem(t, 422, string(ErrPrisonerNotAtPrison))
	if strings.Contains(p.Detail, "Z9876YX") || strings.Contains(p.Detail, "Prisoner Z9876YX") || strings.Contains(p.Detail, "HMP Other") {
		t.Errorf("detail %q says who the prisoner is", p.Detail)
	}
	e.as(admin, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: elsewhere, SlotID: theirSlot, CallType: CallSocial,
		ContactIDs: []int64{cid}}).decode(t, http.StatusCreated, nil)
}
