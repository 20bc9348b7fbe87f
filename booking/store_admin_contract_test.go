package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// The store contract of the administration half (AdminQueries), on both
// stores: see store_contract_test.go.

func TestStoreSetup(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)

		if err := s.UpdatePrison(ctx, Prison{ID: w.prison, Name: "HMP Renamed", Timezone: "Europe/Belfast"}); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Prison(ctx, w.prison); err != nil || p.Name != "HMP Renamed" || p.Timezone != "Europe/Belfast" || p.Code != "TST" {
			t.Fatalf("updated prison %+v %v", p, err)
		}
		if err := s.UpdatePrison(ctx, Prison{ID: 999, Name: "x", Timezone: "UTC"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update a missing prison: %v", err)
		}

		// Rooms.
		if r, err := s.Room(ctx, w.room); err != nil || r != (Room{ID: w.room, PrisonID: w.prison, Name: "Room A"}) {
			t.Fatalf("room %+v %v", r, err)
		}
		if _, err := s.Room(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing room: %v", err)
		}
		spare, err := s.CreateRoom(ctx, Room{PrisonID: w.prison, Name: "Annexe"})
		if err != nil {
			t.Fatal(err)
		}
		rooms, err := s.Rooms(ctx, w.prison)
		if err != nil || len(rooms) != 3 || rooms[0].Name != "Annexe" || rooms[1].ID != w.room || rooms[2].ID != w.room2 {
			t.Fatalf("rooms by name %+v %v", rooms, err)
		}
		if rooms, err := s.Rooms(ctx, 999); err != nil || rooms == nil || len(rooms) != 0 {
			t.Fatalf("rooms of a missing prison %+v %v", rooms, err)
		}
		if err := s.UpdateRoom(ctx, Room{ID: spare, Name: "Room A"}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("rename to a taken name: %v", err)
		}
		if err := s.UpdateRoom(ctx, Room{ID: spare, Name: "Chapel"}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRoom(ctx, Room{ID: 999, Name: "x"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("rename a missing room: %v", err)
		}
		b := w.booking(0, w.template, 9, 0, 30)
		if _, err := s.CreateBooking(ctx, b); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			room                int64
			templates, bookings int
		}{{w.room, 1, 1}, {w.room2, 1, 0}, {spare, 0, 0}} {
			tc, bc, err := s.RoomUse(ctx, c.room)
			if err != nil || tc != c.templates || bc != c.bookings {
				t.Errorf("use of room %d: %d templates %d bookings %v, want %d %d", c.room, tc, bc, err, c.templates, c.bookings)
			}
		}

		// Excluded dates, at every level, and what templates see of them.
		dec := func(day int) time.Time { return time.Date(2026, 12, day, 0, 0, 0, 0, time.UTC) }
		prisonWide := ExcludedDate{PrisonID: w.prison, Date: dec(25), Reason: "Christmas"}
		roomDay := ExcludedDate{PrisonID: w.prison, RoomID: w.room, Date: dec(7), Reason: "Refit"}
		tplDay := ExcludedDate{PrisonID: w.prison, TemplateID: w.template2, Date: dec(14), Reason: "Training"}
		spareDay := ExcludedDate{PrisonID: w.prison, RoomID: spare, Date: dec(7), Reason: "Closed"}
		for _, e := range []*ExcludedDate{&prisonWide, &roomDay, &tplDay, &spareDay} {
			if e.ID, err = s.CreateExcludedDate(ctx, *e); err != nil {
				t.Fatal(err)
			}
		}
		for _, dup := range []ExcludedDate{
			{PrisonID: w.prison, Date: dec(25), Reason: "again"},
			{PrisonID: w.prison, RoomID: w.room, Date: dec(7), Reason: "again"},
			{PrisonID: w.prison, TemplateID: w.template2, Date: dec(14), Reason: "again"},
		} {
			if _, err := s.CreateExcludedDate(ctx, dup); !errors.Is(err, ErrDuplicate) {
				t.Errorf("duplicate exclusion %+v: %v", dup, err)
			}
		}
		if _, err := s.CreateExcludedDate(ctx, ExcludedDate{PrisonID: w.prison, RoomID: w.room, TemplateID: w.template,
			Date: dec(1), Reason: "both"}); err == nil {
			t.Error("an exclusion of a room and a template at once was accepted")
		}
		if got, err := s.ExcludedDate(ctx, roomDay.ID); err != nil || got != roomDay {
			t.Fatalf("excluded date %+v %v", got, err)
		}
		if _, err := s.ExcludedDate(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing excluded date: %v", err)
		}
		list, err := s.ExcludedDates(ctx, w.prison)
		if err != nil || !slices.Equal(list, []ExcludedDate{roomDay, spareDay, tplDay, prisonWide}) {
			t.Fatalf("excluded dates by date %+v %v", list, err)
		}
		if list, err := s.ExcludedDates(ctx, 999); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("excluded dates of a missing prison %+v %v", list, err)
		}
		// Template 1 (room A): its room's and the prison's; template 2
		// (room B): its own and the prison's. The spare room's is neither's.
		t1, err := s.SlotTemplate(ctx, w.template)
		if err != nil || !slices.Equal(t1.ExcludedDates, []time.Time{dec(7), dec(25)}) || t1.RepeatWeeks != 1 {
			t.Fatalf("template 1 %+v %v", t1, err)
		}
		all, err := s.SlotTemplates(ctx, w.prison)
		if err != nil || len(all) != 2 || !slices.Equal(all[1].ExcludedDates, []time.Time{dec(14), dec(25)}) {
			t.Fatalf("templates %+v %v", all, err)
		}

		// Templates: repeat, validity, updates, deletion.
		from := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
		fortnightly := SlotTemplate{RoomID: spare, Weekday: time.Monday, StartMinute: 600, EndMinute: 720, SlotMinutes: 60,
			Capacity: 1, CallTypes: []CallType{CallProbation}, ValidFrom: from, ValidTo: dec(10), RepeatWeeks: 2}
		if fortnightly.ID, err = s.CreateSlotTemplate(ctx, fortnightly); err != nil {
			t.Fatal(err)
		}
		got, err := s.SlotTemplate(ctx, fortnightly.ID)
		// Only the spare room's 7 December falls within its validity.
		if err != nil || got.RepeatWeeks != 2 || !slices.Equal(got.ExcludedDates, []time.Time{dec(7)}) {
			t.Fatalf("fortnightly template %+v %v", got, err)
		}
		got.Capacity, got.CallTypes, got.ValidTo = 4, []CallType{CallLegal, CallProbation}, time.Time{}
		got.StartMinute, got.Weekday = 0, time.Sunday // not changed by an update
		if err := s.UpdateSlotTemplate(ctx, got); err != nil {
			t.Fatal(err)
		}
		after, err := s.SlotTemplate(ctx, fortnightly.ID)
		if err != nil || after.Capacity != 4 || !slices.Equal(after.CallTypes, got.CallTypes) || !after.ValidTo.IsZero() ||
			after.StartMinute != 600 || after.Weekday != time.Monday || after.RepeatWeeks != 2 {
			t.Fatalf("updated template %+v %v", after, err)
		}
		if err := s.UpdateSlotTemplate(ctx, SlotTemplate{ID: 999, Capacity: 1, CallTypes: []CallType{CallLegal}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update a missing template: %v", err)
		}
		if _, err := s.CreateSlotTemplate(ctx, SlotTemplate{RoomID: spare, Weekday: time.Monday, StartMinute: 0, EndMinute: 60,
			SlotMinutes: 30, Capacity: 1, ValidFrom: from, RepeatWeeks: 3}); err == nil {
			t.Error("a template repeating every 3 weeks was accepted")
		}
		for id, want := range map[int64]int{w.template: 1, w.template2: 0, fortnightly.ID: 0} {
			if n, err := s.TemplateBookings(ctx, id); err != nil || n != want {
				t.Errorf("bookings of template %d: %d %v, want %d", id, n, err, want)
			}
		}
		tplOnly, err := s.CreateExcludedDate(ctx, ExcludedDate{PrisonID: w.prison, TemplateID: fortnightly.ID, Date: from, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSlotTemplate(ctx, fortnightly.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExcludedDate(ctx, tplOnly); !errors.Is(err, ErrNotFound) {
			t.Errorf("a deleted template's exclusion is left: %v", err)
		}
		if err := s.DeleteSlotTemplate(ctx, fortnightly.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete a deleted template: %v", err)
		}
		if err := s.DeleteSlotTemplate(ctx, w.template); err == nil {
			t.Error("a template with bookings was deleted")
		}

		// Deleting a room takes its exclusions; a used room stays.
		if err := s.DeleteRoom(ctx, spare); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExcludedDate(ctx, spareDay.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("a deleted room's exclusion is left: %v", err)
		}
		if err := s.DeleteRoom(ctx, spare); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete a deleted room: %v", err)
		}
		if err := s.DeleteRoom(ctx, w.room2); err == nil {
			t.Error("a room with a template was deleted")
		}
		if err := s.DeleteExcludedDate(ctx, prisonWide.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteExcludedDate(ctx, prisonWide.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete a deleted exclusion: %v", err)
		}
		if t1, err := s.SlotTemplate(ctx, w.template); err != nil || !slices.Equal(t1.ExcludedDates, []time.Time{dec(7)}) {
			t.Fatalf("template 1 after deleting an exclusion %+v %v", t1, err)
		}
	})
}

func TestStorePeopleAdmin(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)
		p, err := s.Prisoner(ctx, w.prisoners[0])
		if err != nil || p.Location != "" {
			t.Fatalf("prisoner %+v %v", p, err)
		}
		p.Name, p.Location, p.Status, p.Number = "New Name", "C-3-07", PrisonerReleased, "Z9999ZZ"
		if err := s.UpdatePrisoner(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Prisoner(ctx, p.ID)
		// Only the name and the location change.
		if err != nil || got.Name != "New Name" || got.Location != "C-3-07" || got.Status != PrisonerActive || got.Number != "T0000AA" {
			t.Fatalf("updated prisoner %+v %v", got, err)
		}
		if list, err := s.Prisoners(ctx, w.prison); err != nil || list[0].Location != "C-3-07" {
			t.Fatalf("prisoners %+v %v", list, err)
		}
		if err := s.UpdatePrisoner(ctx, Prisoner{ID: 999, Name: "x"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update a missing prisoner: %v", err)
		}
		withPlace, err := s.CreatePrisoner(ctx, Prisoner{PrisonID: w.prison, Number: "L1111LL", Name: "Placed", Location: "A-1-01"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Prisoner(ctx, withPlace); err != nil || got.Location != "A-1-01" {
			t.Fatalf("created with a location %+v %v", got, err)
		}

		dob := time.Date(1970, 5, 6, 0, 0, 0, 0, time.UTC)
		cid, err := s.CreateContact(ctx, Contact{Name: "Dee", Kind: ContactSocial, DateOfBirth: dob})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := s.Contact(ctx, cid); err != nil || c != (Contact{ID: cid, Name: "Dee", Kind: ContactSocial, DateOfBirth: dob}) {
			t.Fatalf("contact %+v %v", c, err)
		}
		if c, err := s.Contact(ctx, w.contacts[0]); err != nil || !c.DateOfBirth.IsZero() {
			t.Fatalf("contact without a birth date %+v %v", c, err)
		}
		if _, err := s.Contact(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing contact: %v", err)
		}
		if err := s.LinkContact(ctx, PrisonerContact{PrisonerID: p.ID, Contact: Contact{ID: cid}, Relationship: "aunt", Banned: true}); err != nil {
			t.Fatal(err)
		}
		pc, err := s.PrisonerContact(ctx, p.ID, cid)
		if err != nil || pc.Name != "Dee" || pc.Relationship != "aunt" || pc.Approved || !pc.Banned || !pc.DateOfBirth.Equal(dob) {
			t.Fatalf("prisoner contact %+v %v", pc, err)
		}
		if _, err := s.PrisonerContact(ctx, withPlace, cid); !errors.Is(err, ErrNotFound) {
			t.Errorf("a contact not on the list: %v", err)
		}
	})
}

func TestStoreStaffAdmin(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 1)
		admin := Staff{Username: "boss", Name: "The Boss", Role: StaffAdmin, PasswordHash: "h"}
		var err error
		if admin.ID, err = s.CreateStaff(ctx, admin); err != nil {
			t.Fatal(err)
		}
		all, err := s.AllStaff(ctx)
		if err != nil || len(all) != 2 || all[0] != admin || all[1] != w.staff {
			t.Fatalf("all staff %+v %v", all, err)
		}
		moved := w.staff
		moved.Name, moved.Role, moved.PrisonID, moved.Disabled = "Moved", StaffSecurity, 0, true
		moved.Username, moved.PasswordHash = "ignored", "ignored"
		if err := s.UpdateStaff(ctx, moved); err != nil {
			t.Fatal(err)
		}
		got, err := s.StaffByID(ctx, w.staff.ID)
		want := w.staff
		want.Name, want.Role, want.PrisonID, want.Disabled = "Moved", StaffSecurity, 0, true
		if err != nil || got != want {
			t.Fatalf("updated staff %+v %v, want %+v", got, err, want)
		}
		if err := s.UpdateStaff(ctx, Staff{ID: 999, Name: "x", Role: StaffClerk}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update missing staff: %v", err)
		}
		if err := s.UpdateStaff(ctx, Staff{ID: admin.ID, Name: "x", Role: "king"}); err == nil {
			t.Error("an unknown role was accepted")
		}

		now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		for i, h := range []string{"s1", "s2"} {
			if err := s.CreateSession(ctx, Session{TokenHash: h, StaffID: w.staff.ID, CSRFToken: "c", CreatedAt: now,
				ExpiresAt: now.Add(time.Hour), LastSeenAt: now.Add(time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateSession(ctx, Session{TokenHash: "a1", StaffID: admin.ID, CSRFToken: "c", CreatedAt: now,
			ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if se, err := s.Session(ctx, "a1"); err != nil || !se.LastSeenAt.Equal(now) {
			t.Fatalf("a session stored without a last use was last used at its creation: %+v %v", se, err)
		}
		if se, err := s.Session(ctx, "s2"); err != nil || !se.LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("session %+v %v", se, err)
		}
		if err := s.TouchSession(ctx, "s2", now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx, "s2", now.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if se, err := s.Session(ctx, "s2"); err != nil || !se.LastSeenAt.Equal(now.Add(10*time.Minute)) {
			t.Fatalf("touched session %+v %v (its last use never moves back)", se, err)
		}
		if err := s.TouchSession(ctx, "missing", now); err != nil {
			t.Errorf("touching a missing session: %v", err)
		}
		if n, err := s.DeleteStaffSessions(ctx, w.staff.ID); err != nil || n != 2 {
			t.Fatalf("deleted %d sessions %v", n, err)
		}
		if _, err := s.Session(ctx, "s1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a session of the staff member is left: %v", err)
		}
		if _, err := s.Session(ctx, "a1"); err != nil {
			t.Errorf("another staff member's session went too: %v", err)
		}
	})
}

func TestStoreDevices(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 3)
		for i, loc := range []string{"B-2-14", "B-2-15", "B-22-1"} {
			p, err := s.Prisoner(ctx, w.prisoners[i])
			if err != nil {
				t.Fatal(err)
			}
			p.Location = loc
			if err := s.UpdatePrisoner(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		other, err := s.CreatePrison(ctx, Prison{Code: "OTH", Name: "HMP Other"})
		if err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		dev := func(prison int64, name, loc string, kind DeviceKind) Device {
			d := Device{PrisonID: prison, Name: name, Location: loc, Kind: kind, Active: true, CreatedAt: created,
				SecretHash: hashToken(fmt.Sprint(prison, name, loc, kind))}
			var err error
			if d.ID, err = s.CreateDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		cell := dev(w.prison, "Cell B-2-14", "B-2-14", DeviceInCell)
		landing := dev(w.prison, "Landing B-2 kiosk", "B-2", DeviceKiosk)
		landingCell := dev(w.prison, "In-cell at B-2", "B-2", DeviceInCell)
		wing := dev(w.prison, "Wing B kiosk", "B", DeviceKiosk)
		elsewhere := dev(other, "Cell B-2-14", "B-2-14", DeviceInCell)
		if _, err := s.CreateDevice(ctx, Device{PrisonID: w.prison, Name: "Cell B-2-14", Location: "C", Kind: DeviceKiosk,
			SecretHash: "other", CreatedAt: created}); !errors.Is(err, ErrDuplicate) {
			t.Errorf("duplicate device name: %v", err)
		}
		if _, err := s.CreateDevice(ctx, Device{PrisonID: w.prison, Name: "x", Location: "C", Kind: "phone",
			SecretHash: "x", CreatedAt: created}); err == nil {
			t.Error("an unknown device kind was accepted")
		}
		if got, err := s.Device(ctx, cell.ID); err != nil || got != cell {
			t.Fatalf("device %+v %v", got, err)
		}
		if _, err := s.Device(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing device: %v", err)
		}
		list, err := s.Devices(ctx, w.prison)
		if err != nil || !slices.Equal(list, []Device{cell, landingCell, landing, wing}) {
			t.Fatalf("devices by name %+v %v", list, err)
		}
		if got, err := s.DeviceBySecretHash(ctx, landing.SecretHash); err != nil || got.ID != landing.ID {
			t.Fatalf("device by secret %+v %v", got, err)
		}
		if _, err := s.DeviceBySecretHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown secret: %v", err)
		}

		var bookings []int64
		for i := range 3 {
			id, err := s.CreateBooking(ctx, w.booking(i, w.template, 9, 0, 30))
			if err != nil {
				t.Fatal(err)
			}
			bookings = append(bookings, id)
		}
		check := func(when string, cases []struct {
			device  Device
			booking int
			want    bool
		}) {
			t.Helper()
			for _, c := range cases {
				ok, err := s.DeviceMayJoin(ctx, c.device.ID, bookings[c.booking])
				if err != nil || ok != c.want {
					t.Errorf("%s: may %q (%s at %s) join the booking of prisoner %d: %v %v, want %v", when, c.device.Name,
						c.device.Kind, c.device.Location, c.booking, ok, err, c.want)
				}
			}
		}
		check("at first", []struct {
			device  Device
			booking int
			want    bool
		}{
			{cell, 0, true},         // the prisoner's own cell
			{cell, 1, false},        // the next cell
			{landing, 0, true},      // a kiosk on the prisoner's landing
			{landing, 1, true},      // ... serves every cell under it
			{landing, 2, false},     // B-22-1 is not under B-2
			{wing, 2, true},         // B-22-1 is on wing B
			{landingCell, 0, false}, // an in-cell device serves its own location only
			{elsewhere, 0, false},   // same location name, another prison
		})
		if ok, err := s.DeviceMayJoin(ctx, 999, bookings[0]); err != nil || ok {
			t.Errorf("a missing device may join: %v %v", ok, err)
		}
		if ok, err := s.DeviceMayJoin(ctx, cell.ID, 999); err != nil || ok {
			t.Errorf("a device may join a missing booking: %v %v", ok, err)
		}

		// The prisoner moves cell: the old cell's device is refused at once.
		p, err := s.Prisoner(ctx, w.prisoners[0])
		if err != nil {
			t.Fatal(err)
		}
		p.Location = "B-2-16"
		if err := s.UpdatePrisoner(ctx, p); err != nil {
			t.Fatal(err)
		}
		check("after a move", []struct {
			device  Device
			booking int
			want    bool
		}{{cell, 0, false}, {landing, 0, true}})
		p.Location = ""
		if err := s.UpdatePrisoner(ctx, p); err != nil {
			t.Fatal(err)
		}
		check("location unknown", []struct {
			device  Device
			booking int
			want    bool
		}{{cell, 0, false}, {landing, 0, false}})

		// A disabled device, a cancelled booking.
		if err := s.SetDeviceActive(ctx, landing.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBookingStatus(ctx, bookings[1], StatusCancelled, "x"); err != nil {
			t.Fatal(err)
		}
		check("disabled, cancelled", []struct {
			device  Device
			booking int
			want    bool
		}{{landing, 1, false}})
		if got, err := s.Device(ctx, landing.ID); err != nil || got.Active {
			t.Fatalf("disabled device %+v %v", got, err)
		}
		if err := s.SetDeviceActive(ctx, 999, false); !errors.Is(err, ErrNotFound) {
			t.Errorf("disable a missing device: %v", err)
		}
	})
}

func TestStoreCaseload(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		w := newWorld(t, s, 3)
		officer, err := s.CreateStaff(ctx, Staff{Username: "po", Name: "P O", Role: StaffProbation, PrisonID: w.prison, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if list, err := s.Caseload(ctx, officer); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("empty caseload %+v %v", list, err)
		}
		for _, i := range []int{2, 0} {
			if err := s.AddToCaseload(ctx, officer, w.prisoners[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddToCaseload(ctx, officer, w.prisoners[0]); !errors.Is(err, ErrDuplicate) {
			t.Errorf("add twice: %v", err)
		}
		if err := s.AddToCaseload(ctx, officer, 999); err == nil {
			t.Error("a missing prisoner was added")
		}
		list, err := s.Caseload(ctx, officer)
		if err != nil || len(list) != 2 || list[0].ID != w.prisoners[0] || list[1].ID != w.prisoners[2] || list[0].Number != "T0000AA" {
			t.Fatalf("caseload by name %+v %v", list, err)
		}
		for i, want := range []bool{true, false, true} {
			if ok, err := s.OnCaseload(ctx, officer, w.prisoners[i]); err != nil || ok != want {
				t.Errorf("prisoner %d on the caseload: %v %v, want %v", i, ok, err, want)
			}
		}
		if ok, err := s.OnCaseload(ctx, w.staff.ID, w.prisoners[0]); err != nil || ok {
			t.Errorf("on another staff member's caseload: %v %v", ok, err)
		}
		if err := s.RemoveFromCaseload(ctx, officer, w.prisoners[2]); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveFromCaseload(ctx, officer, w.prisoners[2]); !errors.Is(err, ErrNotFound) {
			t.Errorf("remove twice: %v", err)
		}
		if list, err := s.Caseload(ctx, officer); err != nil || len(list) != 1 {
			t.Fatalf("caseload after removal %+v %v", list, err)
		}
	})
}

func TestStoreLoginFailures(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, _ storeKind, s *sqlStore) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
		for _, f := range []struct {
			user, ip string
			min      int
		}{
			{"alice", "10.0.0.1", 0}, {"alice", "10.0.0.2", 5}, {"bob", "10.0.0.1", 6}, {"alice", "10.0.0.1", 10},
		} {
			if err := s.RecordLoginFailure(ctx, f.user, f.ip, at(f.min), at(-60)); err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.LoginFailures(ctx, "alice", "10.0.0.1", at(0))
		if err != nil || c != (LoginFailureCounts{User: 3, IP: 3, UserOldest: at(0), IPOldest: at(0)}) {
			t.Fatalf("counts %+v %v", c, err)
		}
		c, err = s.LoginFailures(ctx, "alice", "10.0.0.2", at(1))
		if err != nil || c != (LoginFailureCounts{User: 2, IP: 1, UserOldest: at(5), IPOldest: at(5)}) {
			t.Fatalf("counts since 1 minute %+v %v", c, err)
		}
		c, err = s.LoginFailures(ctx, "carol", "10.9.9.9", at(0))
		if err != nil || c != (LoginFailureCounts{}) {
			t.Fatalf("counts of nobody %+v %v", c, err)
		}
		// Recording prunes what is older than the prune time.
		if err := s.RecordLoginFailure(ctx, "dave", "10.0.0.3", at(30), at(6)); err != nil {
			t.Fatal(err)
		}
		c, err = s.LoginFailures(ctx, "alice", "10.0.0.1", at(-100))
		if err != nil || c.User != 1 || c.IP != 2 || !c.UserOldest.Equal(at(10)) || !c.IPOldest.Equal(at(6)) {
			t.Fatalf("counts after pruning %+v %v", c, err)
		}
		if err := s.ClearLoginFailures(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		c, err = s.LoginFailures(ctx, "alice", "10.0.0.1", at(-100))
		if err != nil || c.User != 0 || c.IP != 1 { // bob's, from the same address, stays
			t.Fatalf("counts after clearing %+v %v", c, err)
		}
		if c, err := s.LoginFailures(ctx, "bob", "10.0.0.3", at(-100)); err != nil || c.User != 1 || c.IP != 1 {
			t.Fatalf("others' failures after clearing alice's %+v %v", c, err)
		}
	})
}
