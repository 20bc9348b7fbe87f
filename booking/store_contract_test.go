package booking

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking/storetest"
)

// The store contract: every test in this file runs the same checks on each
// Store implementation (forEachStore), so the SQLite and PostgreSQL stores
// behave alike for everything the service relies on.

// storeKind is one Store implementation under test.
type storeKind struct {
	name string
	// open returns a new, empty, migrated store, closed when tb ends.
	open func(tb testing.TB) *sqlStore
	// unguardAudit is what the database's owner would run to edit the
	// audit log behind the application's back.
	unguardAudit []string
	// newEnv starts a seeded service and API on a new store of this kind.
	newEnv func(t *testing.T, now time.Time) *env
}

var storeKinds = []storeKind{
	{
		name:         "sqlite",
		open:         openTestSQLite,
		unguardAudit: []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`},
		newEnv:       newEnv,
	},
	{
		name:         "postgres",
		open:         openTestPostgres,
		unguardAudit: []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`},
		newEnv:       newPostgresEnv,
	},
}

// forEachStore runs fn as a parallel subtest on a new store of each kind.
func forEachStore(t *testing.T, fn func(t *testing.T, k storeKind, s *sqlStore)) {
	t.Helper()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, k, k.open(t))
		})
	}
}

func openTestSQLite(tb testing.TB) *sqlStore {
	tb.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s.sqlStore
}

// openPostgres opens a store on a new database of the test server; the
// caller closes it.
func openPostgres(tb testing.TB) *PostgresStore {
	tb.Helper()
	s, err := OpenPostgres(context.Background(), storetest.PostgresURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func openTestPostgres(tb testing.TB) *sqlStore {
	tb.Helper()
	s := openPostgres(tb)
	tb.Cleanup(func() { _ = s.Close() })
	return s.sqlStore
}

// newPostgresEnv is newEnv on a new PostgreSQL database, seeded by the env.
func newPostgresEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	return startEnv(t, openPostgres(t).sqlStore, now)
}

// world is a small prison built directly on a store.
type world struct {
	prison, room, room2, template, template2 int64
	prisoners, contacts                      []int64
	staff                                    Staff
}

// contractMonday is a Monday; the fixture's templates run on Mondays.
var contractMonday = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// newWorld creates a prison with two rooms, a Monday template in each
// (09:00-12:00, 30-minute slots, capacity 3), n active prisoners each with
// one approved social contact, and a clerk.
func newWorld(t *testing.T, s Store, n int) world {
	t.Helper()
	ctx := context.Background()
	var w world
	err := s.InTx(ctx, func(q Queries) error {
		w = world{}
		var err error
		if w.prison, err = q.CreatePrison(ctx, Prison{Code: "TST", Name: "HMP Test"}); err != nil {
			return err
		}
		if w.room, err = q.CreateRoom(ctx, Room{PrisonID: w.prison, Name: "Room A"}); err != nil {
			return err
		}
		if w.room2, err = q.CreateRoom(ctx, Room{PrisonID: w.prison, Name: "Room B"}); err != nil {
			return err
		}
		for _, r := range []struct {
			room int64
			dst  *int64
		}{{w.room, &w.template}, {w.room2, &w.template2}} {
			if *r.dst, err = q.CreateSlotTemplate(ctx, SlotTemplate{RoomID: r.room, Weekday: time.Monday,
				StartMinute: 9 * 60, EndMinute: 12 * 60, SlotMinutes: 30, Capacity: 3,
				CallTypes: []CallType{CallSocial, CallLegal}, ValidFrom: contractMonday.AddDate(0, -1, 0)}); err != nil {
				return err
			}
		}
		for i := range n {
			pid, err := q.CreatePrisoner(ctx, Prisoner{PrisonID: w.prison, Number: fmt.Sprintf("T%04dAA", i),
				Name: fmt.Sprintf("Prisoner %04d", i)})
			if err != nil {
				return err
			}
			cid, err := q.CreateContact(ctx, Contact{Name: fmt.Sprintf("Visitor %04d", i), Kind: ContactSocial})
			if err != nil {
				return err
			}
			if err := q.LinkContact(ctx, PrisonerContact{PrisonerID: pid, Contact: Contact{ID: cid},
				Relationship: "friend", Approved: true}); err != nil {
				return err
			}
			w.prisoners, w.contacts = append(w.prisoners, pid), append(w.contacts, cid)
		}
		w.staff = Staff{Username: "clerk", Name: "A Clerk", Role: StaffClerk, PrisonID: w.prison, PasswordHash: "x"}
		w.staff.ID, err = q.CreateStaff(ctx, w.staff)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// booking returns a booked social call of prisoner i of w in w's first
// room, at hh:mm on contractMonday (UTC), for minutes.
func (w world) booking(i int, template int64, hh, mm, minutes int) Booking {
	start := contractMonday.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	room := w.room
	if template == w.template2 {
		room = w.room2
	}
	return Booking{
		Reference:  newReference(),
		PrisonID:   w.prison,
		RoomID:     room,
		TemplateID: template,
		SlotID:     slotKey{TemplateID: template, Date: contractMonday, Minute: hh*60 + mm}.String(),
		PrisonerID: w.prisoners[i],
		CallType:   CallSocial,
		Status:     StatusBooked,
		StartsAt:   start,
		EndsAt:     start.Add(time.Duration(minutes) * time.Minute),
		CreatedBy:  w.staff.ID,
		CreatedAt:  contractMonday.Add(-24 * time.Hour),
		Participants: []Participant{
			{ID: newParticipantID(), Role: RolePrisoner, Name: fmt.Sprintf("Prisoner %04d", i), PrisonerID: w.prisoners[i]},
			{ID: newParticipantID(), Role: RoleVisitor, Name: fmt.Sprintf("Visitor %04d", i), ContactID: w.contacts[i]},
		},
	}
}

func TestStorePrisons(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		if ps, err := s.Prisons(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("empty store lists %v %v", ps, err)
		}
		a, err := s.CreatePrison(ctx, Prison{Code: "AAA", Name: "HMP A"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreatePrison(ctx, Prison{Code: "BBB", Name: "HMP B", Timezone: "Europe/Belfast"})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := s.Prisons(ctx)
		if err != nil || !slices.Equal(ps, []Prison{{a, "AAA", "HMP A", DefaultTimezone}, {b, "BBB", "HMP B", "Europe/Belfast"}}) {
			t.Fatalf("prisons %+v %v", ps, err)
		}
		if p, err := s.Prison(ctx, b); err != nil || p.Code != "BBB" || p.Timezone != "Europe/Belfast" {
			t.Fatalf("prison %+v %v", p, err)
		}
		if _, err := s.Prison(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing prison: %v", err)
		}
		if _, err := s.CreatePrison(ctx, Prison{Code: "AAA", Name: "again"}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate prison code: %v", err)
		}

		room, err := s.CreateRoom(ctx, Room{PrisonID: a, Name: "Visits"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRoom(ctx, Room{PrisonID: a, Name: "Visits"}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate room name: %v", err)
		}
		if _, err := s.CreateRoom(ctx, Room{PrisonID: 999, Name: "orphan"}); err == nil {
			t.Error("a room of a missing prison was accepted")
		}

		from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		to := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
		t1 := SlotTemplate{RoomID: room, Weekday: time.Tuesday, StartMinute: 540, EndMinute: 1440, SlotMinutes: 45,
			Capacity: 2, CallTypes: []CallType{CallLegal, CallProbation}, ValidFrom: from, ValidTo: to}
		if t1.ID, err = s.CreateSlotTemplate(ctx, t1); err != nil {
			t.Fatal(err)
		}
		t2 := SlotTemplate{RoomID: room, Weekday: time.Sunday, StartMinute: 0, EndMinute: 60, SlotMinutes: 5,
			Capacity: 0, CallTypes: []CallType{CallSocial}, ValidFrom: from}
		if t2.ID, err = s.CreateSlotTemplate(ctx, t2); err != nil {
			t.Fatal(err)
		}
		t1.PrisonID, t1.RoomName, t2.PrisonID, t2.RoomName = a, "Visits", a, "Visits"
		got, err := s.SlotTemplate(ctx, t1.ID)
		if err != nil || !templatesEqual(got, t1) {
			t.Fatalf("template\n got %+v %v\nwant %+v", got, err, t1)
		}
		list, err := s.SlotTemplates(ctx, a)
		if err != nil || len(list) != 2 || !templatesEqual(list[0], t1) || !templatesEqual(list[1], t2) {
			t.Fatalf("templates %+v %v", list, err)
		}
		if list, err := s.SlotTemplates(ctx, b); err != nil || len(list) != 0 {
			t.Fatalf("templates of another prison %+v %v", list, err)
		}
		if _, err := s.SlotTemplate(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing template: %v", err)
		}
		if _, err := s.CreateSlotTemplate(ctx, SlotTemplate{RoomID: 999, Weekday: time.Monday, StartMinute: 0,
			EndMinute: 60, SlotMinutes: 30, Capacity: 1, ValidFrom: from}); !errors.Is(err, ErrNotFound) {
			t.Errorf("template of a missing room: %v", err)
		}
		if _, err := s.CreateSlotTemplate(ctx, SlotTemplate{RoomID: room, Weekday: time.Monday, StartMinute: 600,
			EndMinute: 500, SlotMinutes: 30, Capacity: 1, ValidFrom: from}); err == nil {
			t.Error("a template ending before it starts was accepted")
		}
	})
}

func templatesEqual(a, b SlotTemplate) bool {
	return a.ID == b.ID && a.PrisonID == b.PrisonID && a.RoomID == b.RoomID && a.RoomName == b.RoomName &&
		a.Weekday == b.Weekday && a.StartMinute == b.StartMinute && a.EndMinute == b.EndMinute &&
		a.SlotMinutes == b.SlotMinutes && a.Capacity == b.Capacity && slices.Equal(a.CallTypes, b.CallTypes) &&
		a.ValidFrom.Equal(b.ValidFrom) && a.ValidTo.Equal(b.ValidTo)
}

func TestStorePeople(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		prison, err := s.CreatePrison(ctx, Prison{Code: "PPL", Name: "HMP People"})
		if err != nil {
			t.Fatal(err)
		}
		zed, err := s.CreatePrisoner(ctx, Prisoner{PrisonID: prison, Number: "Z1111ZZ", Name: "Zed Last"})
		if err != nil {
			t.Fatal(err)
		}
		amy, err := s.CreatePrisoner(ctx, Prisoner{PrisonID: prison, Number: "A2222AA", Name: "Amy First",
			Status: PrisonerReleased})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := s.Prisoner(ctx, zed); err != nil || p != (Prisoner{ID: zed, PrisonID: prison, Number: "Z1111ZZ", Name: "Zed Last", Status: PrisonerActive}) {
			t.Fatalf("prisoner %+v %v", p, err)
		}
		ps, err := s.Prisoners(ctx, prison)
		if err != nil || len(ps) != 2 || ps[0].ID != amy || ps[0].Status != PrisonerReleased || ps[1].ID != zed {
			t.Fatalf("prisoners by name %+v %v", ps, err)
		}
		if _, err := s.Prisoner(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing prisoner: %v", err)
		}
		if _, err := s.CreatePrisoner(ctx, Prisoner{PrisonID: prison, Number: "Z1111ZZ", Name: "Twin"}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate prison number: %v", err)
		}
		if _, err := s.CreatePrisoner(ctx, Prisoner{PrisonID: prison, Number: "B3333BB", Name: "Bad", Status: "escaped"}); err == nil {
			t.Error("an unknown prisoner status was accepted")
		}

		dob := time.Date(2010, 2, 28, 0, 0, 0, 0, time.UTC)
		kid, err := s.CreateContact(ctx, Contact{Name: "Bea Child", Kind: ContactSocial, DateOfBirth: dob})
		if err != nil {
			t.Fatal(err)
		}
		lawyer, err := s.CreateContact(ctx, Contact{Name: "Al Lawyer", Kind: ContactLegal})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateContact(ctx, Contact{Name: "X", Kind: "friendly"}); err == nil {
			t.Error("an unknown contact kind was accepted")
		}
		for _, pc := range []PrisonerContact{
			{PrisonerID: zed, Contact: Contact{ID: kid}, Relationship: "niece", Approved: false},
			{PrisonerID: zed, Contact: Contact{ID: lawyer}, Relationship: "solicitor", Approved: true},
			// Linking again updates the link.
			{PrisonerID: zed, Contact: Contact{ID: kid}, Relationship: "daughter", Approved: true, Banned: true},
		} {
			if err := s.LinkContact(ctx, pc); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.LinkContact(ctx, PrisonerContact{PrisonerID: zed, Contact: Contact{ID: 999}, Relationship: "x"}); err == nil {
			t.Error("a link to a missing contact was accepted")
		}
		list, err := s.PrisonerContacts(ctx, zed)
		want := []PrisonerContact{
			{PrisonerID: zed, Contact: Contact{ID: lawyer, Name: "Al Lawyer", Kind: ContactLegal}, Relationship: "solicitor", Approved: true},
			{PrisonerID: zed, Contact: Contact{ID: kid, Name: "Bea Child", Kind: ContactSocial, DateOfBirth: dob},
				Relationship: "daughter", Approved: true, Banned: true},
		}
		if err != nil || !slices.EqualFunc(list, want, func(a, b PrisonerContact) bool {
			return a.PrisonerID == b.PrisonerID && a.ID == b.ID && a.Name == b.Name && a.Kind == b.Kind &&
				a.DateOfBirth.Equal(b.DateOfBirth) && a.Relationship == b.Relationship &&
				a.Approved == b.Approved && a.Banned == b.Banned
		}) {
			t.Fatalf("contacts\n got %+v %v\nwant %+v", list, err, want)
		}
		if list, err := s.PrisonerContacts(ctx, amy); err != nil || len(list) != 0 {
			t.Fatalf("contacts of a prisoner with none: %+v %v", list, err)
		}
	})
}

func TestStoreStaffAndSessions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		prison, err := s.CreatePrison(ctx, Prison{Code: "STF", Name: "HMP Staff"})
		if err != nil {
			t.Fatal(err)
		}
		clerk := Staff{Username: "clerk1", Name: "Clerk One", Role: StaffClerk, PrisonID: prison, PasswordHash: "h1"}
		if clerk.ID, err = s.CreateStaff(ctx, clerk); err != nil {
			t.Fatal(err)
		}
		admin := Staff{Username: "admin1", Name: "Admin One", Role: StaffAdmin, PasswordHash: "h2"}
		if admin.ID, err = s.CreateStaff(ctx, admin); err != nil {
			t.Fatal(err)
		}
		if got, err := s.StaffByID(ctx, clerk.ID); err != nil || got != clerk {
			t.Fatalf("staff by id %+v %v", got, err)
		}
		if got, err := s.StaffByUsername(ctx, "admin1"); err != nil || got != admin {
			t.Fatalf("staff by username %+v %v", got, err)
		}
		if _, err := s.StaffByID(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing staff: %v", err)
		}
		if _, err := s.StaffByUsername(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing username: %v", err)
		}
		if _, err := s.CreateStaff(ctx, Staff{Username: "clerk1", Name: "x", Role: StaffClerk, PasswordHash: "h"}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate username: %v", err)
		}
		if _, err := s.CreateStaff(ctx, Staff{Username: "boss", Name: "x", Role: "governor", PasswordHash: "h"}); err == nil {
			t.Error("an unknown role was accepted")
		}

		now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		live := Session{TokenHash: "live", StaffID: clerk.ID, CSRFToken: "c1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		old := Session{TokenHash: "old", StaffID: admin.ID, CSRFToken: "c2", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now}
		for _, se := range []Session{live, old} {
			if err := s.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateSession(ctx, live); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate session: %v", err)
		}
		if got, err := s.Session(ctx, "live"); err != nil || got.StaffID != clerk.ID || got.CSRFToken != "c1" ||
			!got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(time.Hour)) || got.ExpiresAt.Location() != time.UTC {
			t.Fatalf("session %+v %v", got, err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
			t.Fatalf("expired sessions deleted: %d %v", n, err)
		}
		if _, err := s.Session(ctx, "old"); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired session still there: %v", err)
		}
		if err := s.DeleteSession(ctx, "live"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "live"); err != nil {
			t.Errorf("deleting a missing session: %v", err)
		}
		if _, err := s.Session(ctx, "live"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
	})
}

func TestStoreBookings(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 3)
		b0 := w.booking(0, w.template, 9, 0, 30)
		b1 := w.booking(1, w.template, 9, 0, 30)
		b1.Participants = append(b1.Participants, Participant{ID: newParticipantID(), Role: RoleLegal,
			Name: "Visitor 0000", ContactID: w.contacts[0]})
		b2 := w.booking(2, w.template2, 10, 30, 60)
		for _, b := range []*Booking{&b0, &b1, &b2} {
			var err error
			if b.ID, err = s.CreateBooking(ctx, *b); err != nil {
				t.Fatal(err)
			}
			b.RoomName = map[int64]string{w.room: "Room A", w.room2: "Room B"}[b.RoomID]
		}
		got, err := s.Booking(ctx, b1.ID)
		if err != nil || !bookingsEqual(got, b1) {
			t.Fatalf("booking\n got %+v %v\nwant %+v", got, err, b1)
		}
		if _, err := s.Booking(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing booking: %v", err)
		}
		dup := w.booking(2, w.template, 11, 0, 30)
		dup.Reference = b0.Reference
		if _, err := s.CreateBooking(ctx, dup); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate reference: %v", err)
		}

		day := contractMonday
		list, err := s.Bookings(ctx, w.prison, day, day.Add(24*time.Hour))
		if err != nil || !slices.EqualFunc(list, []Booking{b0, b1, b2}, bookingsEqual) {
			t.Fatalf("bookings of the day\n got %+v %v", list, err)
		}
		// [from, to): a booking starting at to is not listed.
		if list, err := s.Bookings(ctx, w.prison, day, b2.StartsAt); err != nil || len(list) != 2 {
			t.Fatalf("bookings before 10:30: %d %v", len(list), err)
		}
		if list, err := s.Bookings(ctx, w.prison, b2.StartsAt, b2.EndsAt); err != nil || len(list) != 1 || list[0].ID != b2.ID {
			t.Fatalf("bookings from 10:30: %+v %v", list, err)
		}
		if list, err := s.Bookings(ctx, w.prison+1, day, day.Add(24*time.Hour)); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("bookings of another prison: %+v %v", list, err)
		}

		counts, err := s.ActiveCounts(ctx, w.prison, day, day.Add(24*time.Hour))
		if err != nil || len(counts) != 2 || counts[b0.SlotID] != 2 || counts[b2.SlotID] != 1 {
			t.Fatalf("active counts %v %v", counts, err)
		}
		if n, err := s.ActiveInSlot(ctx, b0.SlotID); err != nil || n != 2 {
			t.Fatalf("active in slot %d %v", n, err)
		}
		for _, c := range []struct {
			prisoner   int
			start, end time.Time
			busy       bool
		}{
			{2, b2.StartsAt, b2.EndsAt, true},
			{2, b2.StartsAt.Add(-30 * time.Minute), b2.StartsAt, false}, // ends as it starts
			{2, b2.EndsAt, b2.EndsAt.Add(time.Hour), false},             // starts as it ends
			{2, b2.StartsAt.Add(59 * time.Minute), b2.EndsAt.Add(time.Hour), true},
			{0, b2.StartsAt, b2.EndsAt, false},
		} {
			busy, err := s.PrisonerBusy(ctx, w.prisoners[c.prisoner], c.start, c.end)
			if err != nil || busy != c.busy {
				t.Errorf("prisoner %d busy %s-%s = %v %v, want %v", c.prisoner, c.start.Format("15:04"),
					c.end.Format("15:04"), busy, err, c.busy)
			}
		}
		if taken, err := s.ReferenceTaken(ctx, b0.Reference); err != nil || !taken {
			t.Errorf("reference of b0 taken %v %v", taken, err)
		}
		if taken, err := s.ReferenceTaken(ctx, "ZZZZZZZZ"); err != nil || taken {
			t.Errorf("unused reference taken %v %v", taken, err)
		}

		if err := s.SetBookingStatus(ctx, b0.ID, StatusCancelled, "moved"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Booking(ctx, b0.ID); err != nil || got.Status != StatusCancelled || got.StatusReason != "moved" {
			t.Fatalf("cancelled booking %+v %v", got, err)
		}
		var r *Refusal
		if err := s.SetBookingStatus(ctx, b0.ID, StatusCompleted, ""); !errors.As(err, &r) || r.Code != ErrNotActive {
			t.Errorf("second status change: %v", err)
		}
		if err := s.SetBookingStatus(ctx, 999, StatusCompleted, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("status of a missing booking: %v", err)
		}
		if n, err := s.ActiveInSlot(ctx, b0.SlotID); err != nil || n != 1 {
			t.Fatalf("active in slot after cancelling %d %v", n, err)
		}
		if busy, err := s.PrisonerBusy(ctx, w.prisoners[0], b0.StartsAt, b0.EndsAt); err != nil || busy {
			t.Errorf("a cancelled booking keeps the prisoner busy: %v %v", busy, err)
		}
	})
}

func bookingsEqual(a, b Booking) bool {
	return a.ID == b.ID && a.Reference == b.Reference && a.PrisonID == b.PrisonID && a.RoomID == b.RoomID &&
		a.RoomName == b.RoomName && a.TemplateID == b.TemplateID && a.SlotID == b.SlotID &&
		a.PrisonerID == b.PrisonerID && a.CallType == b.CallType && a.Status == b.Status &&
		a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) && a.CreatedBy == b.CreatedBy &&
		a.CreatedAt.Equal(b.CreatedAt) && a.StatusReason == b.StatusReason &&
		a.StartsAt.Location() == time.UTC && slices.Equal(a.Participants, b.Participants)
}

func TestStoreTransactions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.InTx(ctx, func(q Queries) error {
			if _, err := q.CreatePrison(ctx, Prison{Code: "RBK", Name: "rolled back"}); err != nil {
				return err
			}
			if ps, err := q.Prisons(ctx); err != nil || len(ps) != 1 {
				return fmt.Errorf("own write not visible: %v %v", ps, err)
			}
			return fmt.Errorf("stop: %w", boom)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want fn's error", err)
		}
		if ps, err := s.Prisons(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("rolled-back write kept: %v %v", ps, err)
		}
		err = s.InTx(ctx, func(q Queries) error {
			if err := q.LockBooking(ctx, "1-20261123-0900", 1); err != nil {
				return err
			}
			_, err := q.CreatePrison(ctx, Prison{Code: "CMT", Name: "committed"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ps, err := s.Prisons(ctx); err != nil || len(ps) != 1 || ps[0].Code != "CMT" {
			t.Fatalf("committed write: %v %v", ps, err)
		}
		if err := s.LockBooking(ctx, "1-20261123-0900", 1); err == nil {
			t.Error("LockBooking outside InTx succeeded")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.InTx(cctx, func(Queries) error { return nil }); err == nil {
			t.Error("InTx with a cancelled context succeeded")
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}

func TestStoreAuditLog(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, k storeKind, s *sqlStore) {
		ctx := context.Background()
		if _, err := s.LastAudit(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("last entry of an empty log: %v", err)
		}
		if n, err := VerifyAudit(ctx, s); err != nil || n != 0 {
			t.Fatalf("verify an empty log: %d %v", n, err)
		}
		at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		const entries = 1203 // more than one page of VerifyAudit
		for i := range entries {
			err := s.InTx(ctx, func(q Queries) error {
				return appendAudit(ctx, q, at.Add(time.Duration(i)*time.Second), "staff:1", "test.append",
					fmt.Sprintf("thing:%d", i), map[string]any{"i": i, "text": "naïve ✓"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, err := VerifyAudit(ctx, s); err != nil || n != entries {
			t.Fatalf("verify: %d %v", n, err)
		}
		last, err := s.LastAudit(ctx)
		if err != nil || last.ID != entries || last.Subject != fmt.Sprintf("thing:%d", entries-1) ||
			!last.At.Equal(at.Add((entries-1)*time.Second)) {
			t.Fatalf("last entry %+v %v", last, err)
		}
		page, err := s.AuditEntries(ctx, 10, 5)
		if err != nil || len(page) != 5 || page[0].ID != 11 || page[4].ID != 15 || page[0].PrevHash == "" ||
			string(page[0].Detail) != `{"i":10,"text":"naïve ✓"}` {
			t.Fatalf("page %+v %v", page, err)
		}
		if err := s.AppendAudit(ctx, last); !errors.Is(err, ErrDuplicate) {
			t.Errorf("appending an existing entry again: %v", err)
		}

		// The database refuses changes to the log...
		refused := []string{
			`UPDATE audit_log SET actor = 'x' WHERE id = 2`,
			`DELETE FROM audit_log WHERE id = 2`,
			`DELETE FROM audit_log`,
		}
		if k.name == "postgres" {
			refused = append(refused, `TRUNCATE audit_log`)
		}
		for _, q := range refused {
			if _, err := s.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want append-only refusal", q, err)
			}
		}
		if n, err := VerifyAudit(ctx, s); err != nil || n != entries {
			t.Fatalf("verify after refused changes: %d %v", n, err)
		}
		// ...and when its owner removes the guard and edits a line, the
		// chain no longer verifies.
		for _, q := range append(k.unguardAudit, `UPDATE audit_log SET detail = '{"i":5,"text":"edited"}' WHERE id = 6`) {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var brk *AuditBreak
		if n, err := VerifyAudit(ctx, s); !errors.As(err, &brk) || !errors.Is(err, ErrAuditBroken) || brk.EntryID != 6 ||
			n != 5 || err.Error() != "audit log broken at entry 6: hash does not match its content" {
			t.Fatalf("tampered log: %d %v, want entry 6 flagged", n, err)
		}
		// A deleted line breaks the chain too, and is named.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE id = 6`); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyAudit(ctx, s); !errors.As(err, &brk) || brk.EntryID != 6 || !strings.Contains(brk.Reason, "missing") {
			t.Fatalf("log with a line removed: %v", err)
		}
		// So is a missing first line.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE id < 6`); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyAudit(ctx, s); !errors.As(err, &brk) || brk.EntryID != 1 || !strings.Contains(brk.Reason, "starts at entry 7") {
			t.Fatalf("log without its first lines: %v", err)
		}
	})
}

// TestStoreConcurrentBookingsNeverOverbook runs the booking rules' pattern
// (lock, check, write, audit) from many goroutines at once: 50 prisoners
// into one slot of capacity 3 give exactly 3 bookings, one prisoner into 20
// slots at the same time gets exactly one, and the audit chain stays whole.
func TestStoreConcurrentBookingsNeverOverbook(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		const n = 50
		w := newWorld(t, s, n)

		// book checks capacity and the prisoner's calls under LockBooking,
		// then books b; it reports whether it did.
		book := func(b Booking) (bool, error) {
			booked := false
			err := s.InTx(ctx, func(q Queries) error {
				booked = false
				if err := q.LockBooking(ctx, b.SlotID, b.PrisonerID); err != nil {
					return err
				}
				taken, err := q.ActiveInSlot(ctx, b.SlotID)
				if err != nil || taken >= 3 {
					return err
				}
				busy, err := q.PrisonerBusy(ctx, b.PrisonerID, b.StartsAt, b.EndsAt)
				if err != nil || busy {
					return err
				}
				id, err := q.CreateBooking(ctx, b)
				if err != nil {
					return err
				}
				booked = true
				return appendAudit(ctx, q, b.CreatedAt, "staff:1", "booking.create", bookingSubject(id), map[string]any{})
			})
			return booked && err == nil, err
		}
		run := func(bs []Booking) int {
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				booked int
				start  = make(chan struct{})
			)
			for _, b := range bs {
				wg.Go(func() {
					<-start
					ok, err := book(b)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					defer mu.Unlock()
					if ok {
						booked++
					}
				})
			}
			close(start)
			wg.Wait()
			return booked
		}

		var sameSlot []Booking
		for i := range n {
			sameSlot = append(sameSlot, w.booking(i, w.template, 9, 0, 30))
		}
		if got := run(sameSlot); got != 3 {
			t.Fatalf("%d of %d concurrent bookings of a slot of capacity 3 succeeded", got, n)
		}
		if c, err := s.ActiveInSlot(ctx, sameSlot[0].SlotID); err != nil || c != 3 {
			t.Fatalf("slot holds %d %v", c, err)
		}

		// Prisoner 0 into overlapping slots of both rooms (and the slot
		// above, where it may already be).
		var samePrisoner []Booking
		for range 10 {
			samePrisoner = append(samePrisoner, w.booking(0, w.template, 10, 0, 30),
				w.booking(0, w.template2, 10, 0, 30))
		}
		if got := run(samePrisoner); got != 1 {
			t.Fatalf("one prisoner got %d overlapping bookings", got)
		}
		if n, err := VerifyAudit(ctx, s); err != nil || n != 4 {
			t.Fatalf("audit chain after concurrent bookings: %d %v", n, err)
		}

		// Appends that share no slot or prisoner (logins, say) still form
		// one chain: none fails, none forks.
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				err := s.InTx(ctx, func(q Queries) error {
					return appendAudit(ctx, q, contractMonday, fmt.Sprintf("staff:%d", i), "login", "x", map[string]any{})
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n, err := VerifyAudit(ctx, s); err != nil || n != 4+50 {
			t.Fatalf("audit chain after concurrent appends: %d %v", n, err)
		}
	})
}

// TestStoreSlotsCount: the service's slot listing counts a store's active
// bookings against each slot's capacity.
func TestStoreSlotsCount(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 3)
		for i, b := range []Booking{w.booking(0, w.template, 9, 0, 30), w.booking(1, w.template, 9, 0, 30),
			w.booking(2, w.template, 9, 30, 30), w.booking(0, w.template2, 11, 30, 30)} {
			id, err := s.CreateBooking(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if i == 2 {
				if err := s.SetBookingStatus(ctx, id, StatusCancelled, "x"); err != nil {
					t.Fatal(err)
				}
			}
		}
		svc := NewService(s, nil, nil, nil, nil, Config{})
		slots, err := svc.Slots(ctx, w.staff, w.prison, contractMonday, contractMonday)
		if err != nil {
			t.Fatal(err)
		}
		remaining := map[string]int{}
		for _, sl := range slots {
			remaining[sl.RoomName+" "+sl.StartsAt.In(time.UTC).Format("15:04")] = sl.Remaining
		}
		want := map[string]int{"Room A 09:00": 1, "Room A 09:30": 3, "Room B 11:30": 2, "Room B 09:00": 3}
		if len(slots) != 12 {
			t.Errorf("%d slots, want 12", len(slots))
		}
		for k, v := range want {
			if remaining[k] != v {
				t.Errorf("%s: %d remaining, want %d (all: %v)", k, remaining[k], v, remaining)
			}
		}
	})
}

// TestMigrationHistoriesInStep: both dialects have the same migration
// versions, so a schema change is never made in one store only.
func TestMigrationHistoriesInStep(t *testing.T) {
	t.Parallel()
	versions := func(dir string) []string {
		names, err := fs.Glob(migrationFiles, "migrations/"+dir+"/*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("migrations of %s: %v %v", dir, names, err)
		}
		var out []string
		for _, n := range names {
			v, _, _ := strings.Cut(filepath.Base(n), "_")
			out = append(out, v)
		}
		return out
	}
	if a, b := versions(newSQLiteDialect().migrations), versions(newPGDialect().migrations); !slices.Equal(a, b) {
		t.Fatalf("sqlite migrations %v, postgres migrations %v", a, b)
	}
}
