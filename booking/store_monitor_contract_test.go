package booking

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// The store contract of monitoring and recordings (MonitorQueries), on
// each store.

func TestStoreMonitoring(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 4)
		add := func(b Booking) Booking {
			t.Helper()
			var err error
			if b.ID, err = s.CreateBooking(ctx, b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		social := add(w.booking(0, w.template, 9, 0, 30))
		legalB := w.booking(1, w.template, 9, 0, 30)
		legalB.CallType = CallLegal
		legal := add(legalB)
		later := add(w.booking(2, w.template, 10, 0, 30))
		cancelled := add(w.booking(3, w.template2, 9, 0, 30))
		if err := s.SetBookingStatus(ctx, cancelled.ID, StatusCancelled, "ill"); err != nil {
			t.Fatal(err)
		}

		// Open bookings: the room opens ten minutes before the start.
		open := func(at time.Time) []int64 {
			t.Helper()
			list, err := s.OpenBookings(ctx, w.prison, at)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, b := range list {
				ids = append(ids, b.ID)
				if len(b.Participants) != 2 {
					t.Errorf("booking %d without its participants", b.ID)
				}
			}
			return ids
		}
		at := func(hh, mm int) time.Time { return contractMonday.Add(time.Duration(hh*60+mm) * time.Minute) }
		for _, c := range []struct {
			at   time.Time
			want []int64
		}{
			{at(8, 49), nil}, {at(8, 50), []int64{social.ID, legal.ID}}, {at(9, 29), []int64{social.ID, legal.ID}},
			{at(9, 50), []int64{later.ID}}, {at(10, 30), nil},
		} {
			if got := open(c.at); !slices.Equal(got, c.want) {
				t.Errorf("open at %s: %v, want %v", c.at.Format("15:04"), got, c.want)
			}
		}

		// Sight-only: legal calls only, by the database too.
		if err := s.SetSightOnly(ctx, legal.ID, true, "ordered"); err != nil {
			t.Fatal(err)
		}
		if b, err := s.Booking(ctx, legal.ID); err != nil || !b.SightOnly || b.SightOnlyReason != "ordered" || !b.Monitorable() {
			t.Errorf("sight-only booking %+v %v", b, err)
		}
		if err := s.SetSightOnly(ctx, social.ID, true, "x"); err == nil {
			t.Error("sight-only accepted on a social call")
		}
		if err := s.SetSightOnly(ctx, 999999, false, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("sight-only of a missing booking: %v", err)
		}

		// Recordings.
		t0 := at(9, 0)
		rec := Recording{BookingID: social.ID, PrisonID: w.prison, Dir: "1", Status: RecordingStatusRecording,
			StartedAt: t0, DeleteAfter: t0.Add(90 * 24 * time.Hour)}
		var err error
		if rec.ID, err = s.CreateRecording(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRecording(ctx, rec); !errors.Is(err, ErrDuplicate) {
			t.Errorf("a second recording of a booking: %v", err)
		}
		legalRec := rec
		legalRec.BookingID = legal.ID
		if _, err := s.CreateRecording(ctx, legalRec); err == nil || !strings.Contains(err.Error(), "never recorded") {
			t.Errorf("a recording of a legal call: %v", err)
		}
		// Nor may a recording be moved onto a legal call.
		if _, err := s.db.ExecContext(ctx, s.d.bind(`UPDATE recordings SET booking_id = ? WHERE id = ?`), legal.ID, rec.ID); err == nil {
			t.Error("a recording was moved onto a legal call")
		}
		got, err := s.Recording(ctx, rec.ID)
		if err != nil || got.Reference != social.Reference || got.CallType != CallSocial || !got.EndedAt.IsZero() ||
			got.Held() || !got.StartedAt.Equal(t0) || got.Dir != "1" {
			t.Fatalf("recording %+v %v", got, err)
		}
		if byBooking, err := s.RecordingOfBooking(ctx, social.ID); err != nil || byBooking != got {
			t.Errorf("by booking %+v %v", byBooking, err)
		}
		if _, err := s.Recording(ctx, 999999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing recording: %v", err)
		}
		if _, err := s.RecordingOfBooking(ctx, later.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("booking without a recording: %v", err)
		}
		// Read and updated inside a transaction (where PostgreSQL locks it).
		end := t0.Add(30 * time.Minute)
		err = s.InTx(ctx, func(q Queries) error {
			r, err := q.Recording(ctx, rec.ID)
			if err != nil {
				return err
			}
			r.Status, r.ManifestSHA256, r.EndedAt, r.DeleteAfter = RecordingStatusComplete, strings.Repeat("a", 64), end, end.Add(time.Hour)
			r.HoldReason, r.HeldBy, r.HeldAt = "case", w.staff.ID, end
			return q.UpdateRecording(ctx, r)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = s.Recording(ctx, rec.ID)
		if got.Status != RecordingStatusComplete || !got.EndedAt.Equal(end) || !got.Held() || got.HeldBy != w.staff.ID ||
			got.HoldReason != "case" || got.ManifestSHA256 != strings.Repeat("a", 64) {
			t.Errorf("updated %+v", got)
		}
		if err := s.UpdateRecording(ctx, Recording{ID: 999999, Status: RecordingStatusFailed}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update a missing recording: %v", err)
		}
		if list, err := s.Recordings(ctx, w.prison, t0, t0.Add(time.Second)); err != nil || len(list) != 1 || list[0].ID != rec.ID {
			t.Errorf("recordings of the hour %+v %v", list, err)
		}
		if list, err := s.Recordings(ctx, w.prison, t0.Add(time.Second), t0.Add(time.Hour)); err != nil || len(list) != 0 {
			t.Errorf("recordings after the start %+v %v", list, err)
		}

		// Due for deletion: past DeleteAfter, not held, not deleted.
		due := func(now time.Time) []int64 {
			t.Helper()
			list, err := s.DueRecordings(ctx, now, 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range list {
				ids = append(ids, r.ID)
			}
			return ids
		}
		if got := due(end.Add(2 * time.Hour)); len(got) != 0 {
			t.Errorf("a held recording is due: %v", got)
		}
		r, _ := s.Recording(ctx, rec.ID)
		r.HoldReason, r.HeldBy, r.HeldAt = "", 0, time.Time{}
		if err := s.UpdateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got := due(end.Add(time.Hour - time.Second)); len(got) != 0 {
			t.Errorf("due before its time: %v", got)
		}
		if got := due(end.Add(time.Hour)); !slices.Equal(got, []int64{rec.ID}) {
			t.Errorf("due %v", got)
		}
		// Retention recomputes the date from the end, or the start.
		failedRec := Recording{BookingID: later.ID, PrisonID: w.prison, Status: RecordingStatusFailed, Failure: "x",
			StartedAt: at(10, 0), DeleteAfter: at(10, 0)}
		if failedRec.ID, err = s.CreateRecording(ctx, failedRec); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRetention(ctx, w.prison, 48*time.Hour); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Recording(ctx, rec.ID); !r.DeleteAfter.Equal(end.Add(48 * time.Hour)) {
			t.Errorf("retention from the end: %v", r.DeleteAfter)
		}
		if r, _ := s.Recording(ctx, failedRec.ID); !r.DeleteAfter.Equal(at(10, 0).Add(48 * time.Hour)) {
			t.Errorf("retention from the start: %v", r.DeleteAfter)
		}
		r, _ = s.Recording(ctx, rec.ID)
		r.Status, r.DeletedAt = RecordingStatusDeleted, end.Add(72*time.Hour)
		if err := s.UpdateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRetention(ctx, w.prison, time.Hour); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Recording(ctx, rec.ID); !r.DeleteAfter.Equal(end.Add(48*time.Hour)) || !r.DeletedAt.Equal(end.Add(72*time.Hour)) {
			t.Errorf("a deleted recording's dates changed: %+v", r)
		}
		if got := due(end.Add(100 * time.Hour)); !slices.Equal(got, []int64{failedRec.ID}) {
			t.Errorf("due after deletion %v", got)
		}

		// Staff actions, by time, with the staff member's name.
		for i, a := range []string{ActionMute, ActionEnd, ActionPauseVideo} {
			if _, err := s.AddStaffAction(ctx, StaffActionRecord{BookingID: social.ID, At: t0.Add(time.Duration(3-i) * time.Minute),
				StaffID: w.staff.ID, Action: a, ParticipantID: "p", Reason: "r"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddStaffAction(ctx, StaffActionRecord{BookingID: social.ID, At: t0, StaffID: w.staff.ID,
			Action: "kick", Reason: "r"}); err == nil {
			t.Error("an unknown action was stored")
		}
		acts, err := s.StaffActions(ctx, social.ID)
		if err != nil || len(acts) != 3 || acts[0].Action != ActionPauseVideo || acts[2].Action != ActionMute ||
			acts[0].StaffName != w.staff.Name || !acts[0].At.Equal(t0.Add(time.Minute)) {
			t.Errorf("staff actions %+v %v", acts, err)
		}
		if acts, err := s.StaffActions(ctx, later.ID); err != nil || len(acts) != 0 || acts == nil {
			t.Errorf("no staff actions %+v %v", acts, err)
		}
	})
}
