package booking

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// The store contract of RulesQueries: the same checks on every Store.

func TestStoreSettings(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)
		if got, err := s.PrisonSettings(ctx, w.prison); err != nil || got != Defaults() {
			t.Fatalf("settings of a prison with none: %+v %v", got, err)
		}
		set := Defaults()
		set.SocialAllowanceMinutes, set.RecordProbationCalls, set.MaxVisitors = 120, true, 6
		if err := s.SetPrisonSettings(ctx, w.prison, set, w.staff.ID, contractMonday); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PrisonSettings(ctx, w.prison); err != nil || got != set {
			t.Fatalf("settings %+v %v, want %+v", got, err, set)
		}
		set.HoldMinutes = 3
		if err := s.SetPrisonSettings(ctx, w.prison, set, 0, contractMonday); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PrisonSettings(ctx, w.prison); err != nil || got != set {
			t.Fatalf("replaced settings %+v %v", got, err)
		}
		if err := s.SetPrisonSettings(ctx, 999, set, 0, contractMonday); err == nil {
			t.Error("settings of a missing prison were stored")
		}
		// A setting added after a prison stored its own takes its default.
		if _, err := s.db.ExecContext(ctx, s.d.bind(`UPDATE prison_settings SET settings = ? WHERE prison_id = ?`),
			`{"maxDaysAhead":14}`, w.prison); err != nil {
			t.Fatal(err)
		}
		want := Defaults()
		want.MaxDaysAhead = 14
		if got, err := s.PrisonSettings(ctx, w.prison); err != nil || got != want {
			t.Fatalf("partial settings %+v %v", got, err)
		}
	})
}

func TestStoreHoldsAndOccupancy(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 4)
		slot := w.booking(0, w.template, 9, 0, 30).SlotID
		now := contractMonday.Add(-48 * time.Hour)
		hold := func(i int, ttl time.Duration) int64 {
			t.Helper()
			id, err := s.CreateHold(ctx, Hold{PrisonID: w.prison, SlotID: slot, PrisonerID: w.prisoners[i],
				CreatedBy: w.staff.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		h1 := hold(1, 10*time.Minute)
		h2 := hold(2, 5*time.Minute)
		hold(2, time.Minute)
		got, err := s.Hold(ctx, h1)
		if err != nil || got.SlotID != slot || got.PrisonerID != w.prisoners[1] || got.PrisonID != w.prison ||
			!got.ExpiresAt.Equal(now.Add(10*time.Minute)) || got.ExpiresAt.Location() != time.UTC || got.CreatedBy != w.staff.ID {
			t.Fatalf("hold %+v %v", got, err)
		}
		if _, err := s.Hold(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing hold: %v", err)
		}
		if _, err := s.CreateHold(ctx, Hold{PrisonID: w.prison, SlotID: slot, PrisonerID: w.prisoners[1],
			CreatedBy: w.staff.ID, CreatedAt: now, ExpiresAt: now}); err == nil {
			t.Error("a hold expiring as it is made was stored")
		}

		b0 := w.booking(0, w.template, 9, 0, 30)
		if _, err := s.CreateBooking(ctx, b0); err != nil {
			t.Fatal(err)
		}
		occ, err := s.SlotOccupancy(ctx, slot, w.prisoners[3], now)
		if err != nil || occ != (Occupancy{Booked: 1, Held: 3}) || occ.Taken() != 4 {
			t.Fatalf("occupancy for prisoner 3: %+v %v", occ, err)
		}
		occ, err = s.SlotOccupancy(ctx, slot, w.prisoners[2], now.Add(2*time.Minute))
		if err != nil || occ != (Occupancy{Booked: 1, Held: 1, OwnHolds: 1}) {
			t.Fatalf("occupancy for prisoner 2 two minutes on: %+v %v", occ, err)
		}
		counts, err := s.HeldCounts(ctx, w.prison, now.Add(6*time.Minute))
		if err != nil || len(counts) != 1 || counts[slot] != 1 {
			t.Fatalf("held counts %v %v", counts, err)
		}

		// Non-associations: in either order, counted through bookings
		// and unexpired holds.
		if err := s.AddNonAssociation(ctx, NonAssociation{PrisonerID: w.prisoners[3], OtherPrisonerID: w.prisoners[0],
			Reason: "feud", CreatedBy: w.staff.ID, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddNonAssociation(ctx, NonAssociation{PrisonerID: w.prisoners[2], OtherPrisonerID: w.prisoners[3],
			Reason: "witness", CreatedBy: w.staff.ID, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddNonAssociation(ctx, NonAssociation{PrisonerID: w.prisoners[0], OtherPrisonerID: w.prisoners[3],
			Reason: "again", CreatedBy: w.staff.ID, CreatedAt: now}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("the same pair the other way round: %v", err)
		}
		if occ, err := s.SlotOccupancy(ctx, slot, w.prisoners[3], now); err != nil || occ.NonAssociated != 2 {
			t.Fatalf("non-associated in the slot: %+v %v", occ, err)
		}
		if occ, err := s.SlotOccupancy(ctx, slot, w.prisoners[3], now.Add(6*time.Minute)); err != nil || occ.NonAssociated != 1 {
			t.Fatalf("non-associated once prisoner 2's holds lapse: %+v %v", occ, err)
		}
		if occ, err := s.SlotOccupancy(ctx, slot, w.prisoners[1], now); err != nil || occ.NonAssociated != 0 {
			t.Fatalf("prisoner 1 has no non-associations: %+v %v", occ, err)
		}
		list, err := s.NonAssociations(ctx, w.prisoners[3])
		if err != nil || len(list) != 2 || list[0].OtherPrisonerID != w.prisoners[0] || list[1].OtherPrisonerID != w.prisoners[2] ||
			list[0].PrisonerID != w.prisoners[3] || list[0].Reason != "feud" || !list[0].CreatedAt.Equal(now) {
			t.Fatalf("non-associations of prisoner 3: %+v %v", list, err)
		}
		if list, err := s.NonAssociations(ctx, w.prisoners[1]); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("non-associations of prisoner 1: %+v %v", list, err)
		}
		if err := s.RemoveNonAssociation(ctx, w.prisoners[0], w.prisoners[3]); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveNonAssociation(ctx, w.prisoners[3], w.prisoners[0]); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing a removed pair: %v", err)
		}

		// Consuming and expiring holds.
		if n, err := s.DeletePrisonerHolds(ctx, slot, w.prisoners[2]); err != nil || n != 2 {
			t.Fatalf("deleted %d holds of prisoner 2: %v", n, err)
		}
		if n, err := s.DeleteExpiredHolds(ctx, "other-slot", now.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("expired holds of another slot: %d %v", n, err)
		}
		hold(3, time.Minute)
		if n, err := s.DeleteExpiredHolds(ctx, slot, now.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("expired holds of the slot: %d %v", n, err)
		}
		if n, err := s.DeleteExpiredHolds(ctx, "", now.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("expired holds of every slot: %d %v", n, err)
		}
		if err := s.DeleteHold(ctx, h1); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting a purged hold: %v", err)
		}
		if err := s.DeleteHold(ctx, h2); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting a consumed hold: %v", err)
		}
	})
}

func TestStoreAllowanceAndOutcomes(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 2)
		day := contractMonday
		var ids []int64
		for _, b := range []Booking{
			w.booking(0, w.template, 9, 0, 30), w.booking(0, w.template, 10, 0, 60), w.booking(0, w.template2, 11, 0, 30),
			w.booking(1, w.template, 9, 0, 30),
		} {
			id, err := s.CreateBooking(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		legal := w.booking(0, w.template2, 9, 0, 30)
		legal.CallType = CallLegal
		if _, err := s.CreateBooking(ctx, legal); err != nil {
			t.Fatal(err)
		}
		minutes := func() int {
			t.Helper()
			n, err := s.SocialMinutes(ctx, w.prisoners[0], day, day.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := minutes(); n != 120 {
			t.Fatalf("social minutes %d, want 120 (legal calls do not count)", n)
		}
		if n, err := s.SocialMinutes(ctx, w.prisoners[0], day.Add(10*time.Hour+time.Minute), day.Add(24*time.Hour)); err != nil || n != 30 {
			t.Fatalf("social minutes from 10:01: %d %v", n, err)
		}
		for _, c := range []struct {
			from, to Status
			minutes  int
		}{
			{StatusBooked, StatusCompleted, 120},
			{StatusCompleted, StatusNoShow, 120},
			{StatusNoShow, StatusFailed, 60},
		} {
			if err := s.ChangeBookingStatus(ctx, ids[1], c.from, c.to, "why "+string(c.to), c.to == StatusFailed); err != nil {
				t.Fatal(err)
			}
			if n := minutes(); n != c.minutes {
				t.Errorf("after %s: %d minutes, want %d", c.to, n, c.minutes)
			}
		}
		b, err := s.Booking(ctx, ids[1])
		if err != nil || b.Status != StatusFailed || b.StatusReason != "why failed" || !b.RebookOffered {
			t.Fatalf("failed booking %+v %v", b, err)
		}
		var r *Refusal
		if err := s.ChangeBookingStatus(ctx, ids[1], StatusBooked, StatusCompleted, "", false); !errors.As(err, &r) || r.Code != ErrInvalidTransition {
			t.Errorf("a transition from the wrong status: %v", err)
		}
		if err := s.ChangeBookingStatus(ctx, 999, StatusBooked, StatusCompleted, "", false); !errors.Is(err, ErrNotFound) {
			t.Errorf("a transition of a missing booking: %v", err)
		}
		if err := s.SetBookingStatus(ctx, ids[0], StatusCancelled, "x"); err != nil {
			t.Fatal(err)
		}
		if n := minutes(); n != 30 {
			t.Errorf("after cancelling: %d minutes, want 30", n)
		}

		// Reviews, the prisoner's bookings and the queue.
		pb, err := s.PrisonerBookings(ctx, w.prisoners[0], day.Add(9*time.Hour+10*time.Minute))
		if err != nil || len(pb) != 2 || pb[0].CallType != CallLegal || pb[1].ID != ids[2] {
			t.Fatalf("active bookings of prisoner 0 ending after 09:10: %+v %v", pb, err)
		}
		if pb, err := s.PrisonerBookings(ctx, w.prisoners[0], day.Add(11*time.Hour+30*time.Minute)); err != nil || pb == nil || len(pb) != 0 {
			t.Fatalf("bookings ending after the last one ends: %+v %v", pb, err)
		}
		if err := s.SetBookingReview(ctx, ids[2], true, "prisoner released: x"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBookingReview(ctx, ids[3], true, "other"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBookingReview(ctx, 999, true, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("flagging a missing booking: %v", err)
		}
		q, err := s.ReviewQueue(ctx, w.prison, time.Time{}, time.Time{})
		if err != nil || len(q) != 2 || q[0].ID != ids[3] || q[1].ID != ids[2] || !q[1].NeedsReview ||
			q[1].ReviewReason != "prisoner released: x" || len(q[1].Participants) != 2 {
			t.Fatalf("review queue %+v %v", q, err)
		}
		if q, err := s.ReviewQueue(ctx, w.prison, day.Add(10*time.Hour), time.Time{}); err != nil || len(q) != 1 || q[0].ID != ids[2] {
			t.Fatalf("review queue from 10:00: %+v %v", q, err)
		}
		if q, err := s.ReviewQueue(ctx, w.prison, time.Time{}, day.Add(10*time.Hour)); err != nil || len(q) != 1 || q[0].ID != ids[3] {
			t.Fatalf("review queue to 10:00: %+v %v", q, err)
		}
		if err := s.SetBookingStatus(ctx, ids[3], StatusCancelled, "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBookingReview(ctx, ids[2], false, ""); err != nil {
			t.Fatal(err)
		}
		if q, err := s.ReviewQueue(ctx, w.prison, time.Time{}, time.Time{}); err != nil || len(q) != 0 {
			t.Fatalf("review queue after clearing and cancelling: %+v %v", q, err)
		}

		// Two prisoners sharing a slot.
		shared, err := s.SharedSlotBookings(ctx, w.prisoners[0], w.prisoners[1], day)
		if err != nil || len(shared) != 0 {
			t.Fatalf("shared slots while prisoner 0's 09:00 is cancelled: %v %v", shared, err)
		}
		again, err := s.CreateBooking(ctx, w.booking(0, w.template, 9, 0, 30))
		if err != nil {
			t.Fatal(err)
		}
		back, err := s.CreateBooking(ctx, w.booking(1, w.template, 9, 0, 30))
		if err != nil {
			t.Fatal(err)
		}
		shared, err = s.SharedSlotBookings(ctx, w.prisoners[1], w.prisoners[0], day)
		if err != nil || !slices.Equal(shared, []int64{again, back}) {
			t.Fatalf("shared slots %v %v, want %v", shared, err, []int64{again, back})
		}
		if shared, err := s.SharedSlotBookings(ctx, w.prisoners[1], w.prisoners[0], day.Add(10*time.Hour)); err != nil || len(shared) != 0 {
			t.Fatalf("shared slots ending after 10:00: %v %v", shared, err)
		}
	})
}

func TestStoreMovesAndLocks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)
		other, err := s.CreatePrison(ctx, Prison{Code: "OTR", Name: "HMP Other"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MovePrisoner(ctx, w.prisoners[0], other, PrisonerActive); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Prisoner(ctx, w.prisoners[0]); err != nil || p.PrisonID != other || p.Status != PrisonerActive {
			t.Fatalf("transferred prisoner %+v %v", p, err)
		}
		if err := s.MovePrisoner(ctx, w.prisoners[0], other, PrisonerReleased); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Prisoner(ctx, w.prisoners[0]); err != nil || p.Status != PrisonerReleased {
			t.Fatalf("released prisoner %+v %v", p, err)
		}
		if err := s.MovePrisoner(ctx, 999, other, PrisonerReleased); !errors.Is(err, ErrNotFound) {
			t.Errorf("moving a missing prisoner: %v", err)
		}
		if err := s.MovePrisoner(ctx, w.prisoners[0], 999, PrisonerActive); err == nil {
			t.Error("a prisoner was moved to a missing prison")
		}
		if err := s.LockPrisoner(ctx, w.prisoners[0]); err == nil {
			t.Error("LockPrisoner outside InTx succeeded")
		}
		if err := s.InTx(ctx, func(q Queries) error { return q.LockPrisoner(ctx, w.prisoners[0]) }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStoreLockPrisonerSerialises: LockPrisoner and LockBooking share the
// prisoner lock, so a transaction holding one makes the other wait.
func TestStoreLockPrisonerSerialises(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			_ = s.InTx(ctx, func(q Queries) error {
				if err := q.LockPrisoner(ctx, w.prisoners[0]); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		got := make(chan time.Time, 1)
		go func() {
			_ = s.InTx(ctx, func(q Queries) error {
				err := q.LockBooking(ctx, "1-20261123-0900", w.prisoners[0])
				got <- time.Now()
				return err
			})
		}()
		time.Sleep(100 * time.Millisecond)
		released := time.Now()
		close(release)
		<-done
		if at := <-got; at.Before(released) {
			t.Fatal("LockBooking of the prisoner went ahead while LockPrisoner held it")
		}
	})
}
