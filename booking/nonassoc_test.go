package booking

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNonAssociations: admins record and remove pairs; two prisoners of a
// pair are never booked into, or holding places in, the same slot, either
// way round, overrides or not; a new pair flags the bookings it breaks.
func TestNonAssociations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk, admin := e.token("clerk"), e.token("admin")
	tpl := e.addRoom("Group room", time.Monday, 10*60, 12*60, 30, 3, CallSocial)
	slot := slotID(tpl, "2026-11-30", "10:00")
	a := e.otherPrisoner("N1111NA", slot)
	b := e.otherPrisoner("N2222NB", slot)
	c := e.otherPrisoner("N3333NC", slot)
	path := func(p int64) string { return "/api/v1/prisoners/" + itoa(p) + "/non-associations" }

	// Refusals write nothing.
	pair := NonAssociationRequest{OtherPrisonerID: b.PrisonerID, Reason: "threats on the wing"}
	e.refused(clerk, http.MethodPost, path(a.PrisonerID), pair, 403, string(ErrForbidden))
	e.refused(admin, http.MethodPost, path(a.PrisonerID), NonAssociationRequest{OtherPrisonerID: a.PrisonerID, Reason: "x"}, 400, string(ErrValidation))
	e.refused(admin, http.MethodPost, path(a.PrisonerID), NonAssociationRequest{OtherPrisonerID: b.PrisonerID}, 400, string(ErrValidation))
	e.refused(admin, http.MethodPost, path(a.PrisonerID), NonAssociationRequest{OtherPrisonerID: 987654, Reason: "x"}, 404, string(ErrPrisonerNotFound))
	e.refused(admin, http.MethodPost, path(987654), pair, 404, string(ErrPrisonerNotFound))

	var added NonAssociationAdded
	e.as(admin, http.MethodPost, path(a.PrisonerID), pair).decode(t, http.StatusCreated, &added)
	if added.NonAssociation.PrisonerID != a.PrisonerID || added.NonAssociation.OtherPrisonerID != b.PrisonerID ||
		added.NonAssociation.Reason != "threats on the wing" || len(added.FlaggedBookingIDs) != 0 {
		t.Fatalf("added %+v", added)
	}
	if au := e.lastAudit(); au.Action != "non_association.add" || au.Subject != prisonerSubject(a.PrisonerID) {
		t.Errorf("audit %+v", au)
	}
	// Either way round it is the same pair.
	e.refused(admin, http.MethodPost, path(b.PrisonerID), NonAssociationRequest{OtherPrisonerID: a.PrisonerID, Reason: "again"}, 409, string(ErrAlreadyExists))
	var list []NonAssociation
	e.as(admin, http.MethodGet, path(b.PrisonerID), nil).decode(t, 200, &list)
	if len(list) != 1 || list[0].PrisonerID != b.PrisonerID || list[0].OtherPrisonerID != a.PrisonerID {
		t.Fatalf("b's non-associations %+v", list)
	}
	e.as(clerk, http.MethodGet, path(b.PrisonerID), nil).wantProblem(t, 403, string(ErrForbidden))

	// A is booked; B may neither book nor hold the slot, even with an
	// override; C may. B may book another slot.
	e.mustBook(clerk, a)
	p := e.book(clerk, b).wantProblem(t, 409, string(ErrNonAssociation))
	if strings.Contains(p.Detail, "N1111NA") || strings.Contains(p.Detail, "Prisoner N1111NA") {
		t.Errorf("the refusal names the other prisoner: %q", p.Detail)
	}
	bo := b
	bo.Override = &Override{Capacity: true, Allowance: true, Reason: "x"}
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", bo, 409, string(ErrNonAssociation))
	e.refused(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: b.PrisonerID}, 409, string(ErrNonAssociation))
	e.mustBook(clerk, c)
	later := b
	later.SlotID = slotID(tpl, "2026-11-30", "10:30")
	e.mustBook(clerk, later)

	// A hold counts too: C holds 11:00, so a prisoner non-associated with C
	// may not book it.
	if _, err := e.svc.AddNonAssociation(e.ctx, e.adminStaff(), c.PrisonerID, NonAssociationRequest{OtherPrisonerID: b.PrisonerID, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	eleven := slotID(tpl, "2026-11-30", "11:00")
	e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: eleven, PrisonerID: c.PrisonerID}).decode(t, 201, nil)
	b11 := b
	b11.SlotID = eleven
	e.refused(clerk, http.MethodPost, "/api/v1/bookings", b11, 409, string(ErrNonAssociation))

	// Removing the pair lets B into A's slot.
	e.refused(clerk, http.MethodDelete, path(a.PrisonerID), pair, 403, string(ErrForbidden))
	e.as(admin, http.MethodDelete, path(b.PrisonerID), NonAssociationRequest{OtherPrisonerID: a.PrisonerID, Reason: "moved wings"}).
		decode(t, http.StatusNoContent, nil)
	e.refused(admin, http.MethodDelete, path(a.PrisonerID), pair, 404, "not_found")
	d := e.otherPrisoner("N4444ND", slot) // a fourth prisoner shares 10:00 with A and C
	e.mustBook(clerk, d)

	// A new pair between prisoners already sharing a slot flags both
	// bookings for review.
	e.as(admin, http.MethodPost, path(d.PrisonerID), NonAssociationRequest{OtherPrisonerID: a.PrisonerID, Reason: "new intelligence"}).
		decode(t, http.StatusCreated, &added)
	var queue []Booking
	e.as(clerk, http.MethodGet, "/api/v1/bookings?needsReview=true", nil).decode(t, 200, &queue)
	var flagged []int64
	for _, bk := range queue {
		flagged = append(flagged, bk.ID)
		if bk.ReviewReason != nonAssociationReview || (bk.PrisonerID != a.PrisonerID && bk.PrisonerID != d.PrisonerID) {
			t.Errorf("flagged %+v", bk)
		}
	}
	slices.Sort(flagged)
	if len(added.FlaggedBookingIDs) != 2 || !slices.Equal(flagged, added.FlaggedBookingIDs) {
		t.Fatalf("flagged %v, queue %v", added.FlaggedBookingIDs, flagged)
	}
	// Keeping one of them is refused while the other is still there;
	// cancelling one, the other may be kept.
	e.refused(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(flagged[0])+"/review",
		ReviewRequest{Action: ReviewKeep, Reason: "x"}, 409, string(ErrNonAssociation))
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(flagged[1])+"/review",
		ReviewRequest{Action: ReviewCancel, Reason: "keep them apart"}).decode(t, 200, nil)
	var kept Booking
	e.as(clerk, http.MethodPost, "/api/v1/bookings/"+itoa(flagged[0])+"/review",
		ReviewRequest{Action: ReviewKeep, Reason: "the other call is cancelled"}).decode(t, 200, &kept)
	if kept.NeedsReview || kept.ReviewReason != "" || kept.Status != StatusBooked {
		t.Fatalf("kept %+v", kept)
	}
	e.checkAuditChain()
}

// TestNonAssociationRacesBooking: a pair recorded while one of the two is
// being booked into the other's slot either refuses that booking or flags
// both for review; never both booked there unflagged.
func TestNonAssociationRacesBooking(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := k.newEnv(t, defaultNow())
			clerk, err := e.store.StaffByUsername(e.ctx, "clerk")
			if err != nil {
				t.Fatal(err)
			}
			admin := e.adminStaff()
			for i := range 10 {
				slot := e.slot("2026-11-24", fmt.Sprintf("%02d:00", 9+i), "Demo room").ID
				a := e.otherPrisoner(fmt.Sprintf("A%04dAA", i), slot)
				b := e.otherPrisoner(fmt.Sprintf("B%04dBB", i), slot)
				ab, err := e.svc.CreateBooking(e.ctx, clerk, a)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					_, err := e.svc.AddNonAssociation(e.ctx, admin, a.PrisonerID, NonAssociationRequest{OtherPrisonerID: b.PrisonerID, Reason: "x"})
					done <- err
				}()
				bb, berr := e.svc.CreateBooking(e.ctx, clerk, b)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if berr != nil {
					if !errors.Is(berr, ErrNonAssociation) {
						t.Fatal(berr)
					}
					continue
				}
				for _, id := range []int64{ab.ID, bb.ID} {
					if got, err := e.store.Booking(e.ctx, id); err != nil || !got.NeedsReview {
						t.Fatalf("booking %d shares a slot with a non-associated prisoner, unflagged: %+v %v", id, got, err)
					}
				}
			}
		})
	}
}
