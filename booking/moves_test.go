package booking

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// TestMoveRelease: a release flags every booking of the prisoner that has
// not ended, each flag audited; the review queue lists them; keeping one
// is refused, cancelling clears it.
func TestMoveRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow()) // Monday 2026-11-23 08:00 London
	clerk := e.token("clerk")
	ids := e.contactIDs()
	daniel := e.demo.PrisonerID
	inProgress := e.mustBook(clerk, e.visitRequest(e.slot("2026-11-23", "08:00", "Demo room").ID))
	future := e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", "10:00", "Visits room").ID))
	legal := e.mustBook(clerk, CreateRequest{PrisonerID: daniel, SlotID: e.slot("2026-11-25", "10:00", "Visits room").ID,
		CallType: CallLegal, ContactIDs: []int64{ids["Priya Shah (solicitor)"]}})
	cancelled := e.mustBook(clerk, e.visitRequest(e.slot("2026-12-01", "10:00", "Visits room").ID))
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(cancelled.ID)+"/cancel", cancelRequest{Reason: "x"}).decode(t, 200, nil)
	someoneElse := e.mustBook(clerk, e.otherPrisoner("M1111MM", e.slot("2026-11-24", "10:00", "Visits room").ID))

	path := "/api/v1/prisoners/" + itoa(daniel) + "/move"
	for _, bad := range []any{
		MoveRequest{Status: PrisonerActive, Reason: "x"},
		MoveRequest{Status: PrisonerReleased},
		MoveRequest{Status: PrisonerReleased, ToPrisonID: e.demo.PrisonID, Reason: "x"},
		MoveRequest{Status: PrisonerTransferred, ToPrisonID: e.demo.PrisonID, Reason: "x"},
		MoveRequest{Status: PrisonerTransferred, ToPrisonID: 987654, Reason: "x"},
		MoveRequest{Status: PrisonerTransferred, ToPrisonID: -1, Reason: "x"},
		`{"status":"released","reason":"x","when":"now"}`,
	} {
		e.refused(clerk, http.MethodPost, path, bad, 400, string(ErrValidation))
	}
	e.refused(e.token("security"), http.MethodPost, path, MoveRequest{Status: PrisonerReleased, Reason: "x"}, 403, string(ErrForbidden))
	e.refused(e.token("probation"), http.MethodPost, path, MoveRequest{Status: PrisonerReleased, Reason: "x"}, 403, string(ErrForbidden))
	e.refused(clerk, http.MethodPost, "/api/v1/prisoners/987654/move", MoveRequest{Status: PrisonerReleased, Reason: "x"}, 404, string(ErrPrisonerNotFound))

	auditBefore := e.lastAudit().ID
	var res MoveResult
	e.as(clerk, http.MethodPost, path, MoveRequest{Status: PrisonerReleased, Reason: "end of sentence"}).decode(t, 200, &res)
	want := []int64{inProgress.ID, future.ID, legal.ID}
	if res.Prisoner.Status != PrisonerReleased || res.Prisoner.PrisonID != e.demo.PrisonID || !slices.Equal(res.FlaggedBookingIDs, want) {
		t.Fatalf("move %+v, want flagged %v", res, want)
	}
	// One audit entry for the move, one per flag.
	entries, err := e.store.AuditEntries(e.ctx, auditBefore, 10)
	if err != nil || len(entries) != 4 || entries[0].Action != "prisoner.move" {
		t.Fatalf("audit after the move: %+v %v", entries, err)
	}
	var flag struct{ Before, After reviewState }
	if json.Unmarshal(entries[1].Detail, &flag) != nil || entries[1].Action != "booking.review_flag" ||
		flag.Before.NeedsReview || !flag.After.NeedsReview || flag.After.ReviewReason != "prisoner released: end of sentence" {
		t.Fatalf("flag audit %s", entries[1].Detail)
	}
	e.refused(clerk, http.MethodPost, path, MoveRequest{Status: PrisonerReleased, Reason: "again"}, 409, string(ErrInvalidTransition))

	var queue []Booking
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=true", nil).decode(t, 200, &queue)
	var queued []int64
	for _, b := range queue {
		queued = append(queued, b.ID)
		if !b.NeedsReview || b.ReviewReason != "prisoner released: end of sentence" {
			t.Errorf("queued %+v", b)
		}
	}
	if !slices.Equal(queued, want) {
		t.Fatalf("review queue %v, want %v", queued, want)
	}
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=true&from=2026-11-24&to=2026-11-24", nil).decode(t, 200, &queue)
	if len(queue) != 1 || queue[0].ID != future.ID {
		t.Fatalf("review queue of 24 November %+v", queue)
	}
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=maybe", nil).wantProblem(t, 400, string(ErrValidation))
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=true&from=2026-11-25&to=2026-11-24", nil).wantProblem(t, 400, string(ErrValidation))
	var plain []Booking
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=false&from=2026-11-24&to=2026-11-24", nil).decode(t, 200, &plain)
	if len(plain) != 2 {
		t.Fatalf("plain list %d bookings", len(plain))
	}

	// Reviews.
	rpath := func(id int64) string { return "/api/v1/bookings/" + itoa(id) + "/review" }
	e.refused(clerk, http.MethodPost, rpath(future.ID), ReviewRequest{Action: ReviewKeep, Reason: "x"}, 422, string(ErrPrisonerInactive))
	e.refused(clerk, http.MethodPost, rpath(future.ID), ReviewRequest{Action: "ignore", Reason: "x"}, 400, string(ErrValidation))
	e.refused(clerk, http.MethodPost, rpath(future.ID), ReviewRequest{Action: ReviewCancel}, 400, string(ErrValidation))
	e.refused(clerk, http.MethodPost, rpath(someoneElse.ID), ReviewRequest{Action: ReviewCancel, Reason: "x"}, 409, string(ErrInvalidTransition))
	e.refused(e.token("security"), http.MethodPost, rpath(future.ID), ReviewRequest{Action: ReviewCancel, Reason: "x"}, 403, string(ErrForbidden))
	var b Booking
	e.as(clerk, http.MethodPost, rpath(future.ID), ReviewRequest{Action: ReviewCancel, Reason: "released"}).decode(t, 200, &b)
	if b.Status != StatusCancelled || b.StatusReason != "released" || b.NeedsReview || b.ReviewReason != "" {
		t.Fatalf("cancelled by review %+v", b)
	}
	e.refused(clerk, http.MethodPost, rpath(future.ID), ReviewRequest{Action: ReviewCancel, Reason: "again"}, 409, string(ErrInvalidTransition))
	// A released prisoner cannot be booked or hold a place.
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", e.visitRequest(e.slot("2026-11-27", "10:00", "Visits room").ID), 422, string(ErrPrisonerInactive))
	e.checkAuditChain()
}

// TestMoveTransfer: a transfer to another Gatehouse prison moves the
// prisoner there, active; the old prison's bookings are flagged and can no
// longer be kept; the old prison's clerk no longer sees the prisoner. A
// transfer out of the estate leaves them transferred.
func TestMoveTransfer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin := e.token("clerk"), e.token("admin")
	other, err := e.store.CreatePrison(e.ctx, Prison{Code: "NEW", Name: "HMP New"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.mustBook(clerk, e.visitRequest(e.slot("2026-11-24", "10:00", "Visits room").ID))
	var res MoveResult
	e.as(clerk, http.MethodPost, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/move",
		MoveRequest{Status: PrisonerTransferred, ToPrisonID: other, Reason: "to HMP New"}).decode(t, 200, &res)
	if res.Prisoner.PrisonID != other || res.Prisoner.Status != PrisonerActive || !slices.Equal(res.FlaggedBookingIDs, []int64{b.ID}) {
		t.Fatalf("transfer %+v", res)
	}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(b.ID)+"/review", ReviewRequest{Action: ReviewKeep, Reason: "x"}, 422, string(ErrPrisonerNotAtPrison))
	e.as(clerk, http.MethodGet, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/allowance", nil).wantProblem(t, 404, string(ErrPrisonerNotFound))
	e.refused(clerk, http.MethodPost, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/move", MoveRequest{Status: PrisonerReleased, Reason: "x"}, 404, string(ErrPrisonerNotFound))
	// The prisoner is active at the new prison: an admin transfers them
	// out of the estate.
	e.as(admin, http.MethodPost, "/api/v1/prisoners/"+itoa(e.demo.PrisonerID)+"/move",
		MoveRequest{Status: PrisonerTransferred, Reason: "to a private prison"}).decode(t, 200, &res)
	if res.Prisoner.PrisonID != other || res.Prisoner.Status != PrisonerTransferred || len(res.FlaggedBookingIDs) != 1 {
		t.Fatalf("transfer out %+v", res)
	}
}

// TestMoveRacesBooking: a move and a booking of the same prisoner at once
// never leave an active, unflagged booking of a released prisoner.
func TestMoveRacesBooking(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := k.newEnv(t, defaultNow())
			clerk, err := e.store.StaffByUsername(e.ctx, "clerk")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				req := e.otherPrisoner("X"+itoa(int64(1000+i))+"XX", e.slot("2026-11-24", "10:00", "Demo room").ID)
				done := make(chan error, 1)
				go func() {
					_, err := e.svc.MovePrisoner(e.ctx, clerk, req.PrisonerID, MoveRequest{Status: PrisonerReleased, Reason: "x"})
					done <- err
				}()
				b, berr := e.svc.CreateBooking(e.ctx, clerk, req)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if berr != nil {
					continue // refused: the prisoner was released first
				}
				got, err := e.store.Booking(e.ctx, b.ID)
				if err != nil || !got.NeedsReview {
					t.Fatalf("booking %d of a released prisoner is not flagged: %+v %v", b.ID, got, err)
				}
			}
		})
	}
}
