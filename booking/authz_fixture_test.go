package booking

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// authzFixture is the world the authorization matrix runs in: the demo
// prison (the staff callers' own; its probation officer has a caseload),
// another prison with its own rooms, templates and probation officer, and
// builders of fresh targets, so that every attempt of a write has
// something of its own to change.
type authzFixture struct {
	t     *testing.T
	e     *env
	staff map[caller]Staff
	// otherPrison is a prison only the admin can see.
	otherPrison int64
	// rooms and templates (Monday to Sunday, round the clock) of each
	// prison, for bookings and holds.
	room      map[int64]int64
	templates map[int64]map[time.Weekday]int64
	// officers are a probation officer per prison: the demo one (a caller)
	// and one at the other prison; otherOfficer is a second one at the
	// demo prison.
	officer      map[int64]Staff
	otherOfficer Staff
	// n numbers fresh names; slot numbers the slots handed out.
	n, slot int
	// countQuery counts the rows of every table in one statement.
	countQuery string
	tables     []string
}

// newAuthzFixture builds the fixture on e (seeded with the demo prison).
func newAuthzFixture(t *testing.T, e *env) *authzFixture {
	t.Helper()
	f := &authzFixture{t: t, e: e, staff: map[caller]Staff{}, room: map[int64]int64{},
		templates: map[int64]map[time.Weekday]int64{}, officer: map[int64]Staff{}}
	for _, c := range staffCallers() {
		f.staff[c] = e.staff(string(c))
	}
	own := e.demo.PrisonID
	tpls, err := e.store.SlotTemplates(e.ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	f.templates[own] = map[time.Weekday]int64{}
	for _, tp := range tpls {
		if tp.RoomName == "Demo room" {
			f.room[own], f.templates[own][tp.Weekday] = tp.RoomID, tp.ID
		}
	}
	if f.otherPrison, err = e.store.CreatePrison(e.ctx, Prison{Code: "OTH", Name: "HMP Elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if f.room[f.otherPrison], err = e.store.CreateRoom(e.ctx, Room{PrisonID: f.otherPrison, Name: "Elsewhere room"}); err != nil {
		t.Fatal(err)
	}
	f.templates[f.otherPrison] = map[time.Weekday]int64{}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		id, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: f.room[f.otherPrison], Weekday: wd, StartMinute: 0,
			EndMinute: 24 * 60, SlotMinutes: 30, Capacity: 3, CallTypes: []CallType{CallSocial, CallLegal, CallProbation},
			ValidFrom: day(t, "2026-01-01")})
		if err != nil {
			t.Fatal(err)
		}
		f.templates[f.otherPrison][wd] = id
	}
	f.officer[own] = f.staff[byProbation]
	f.officer[f.otherPrison] = f.newStaff(StaffProbation, f.otherPrison)
	f.otherOfficer = f.newStaff(StaffProbation, own)

	rows, err := e.store.db.QueryContext(e.ctx, map[string]string{
		"sqlite":   `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
		"postgres": `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
	}[e.store.d.name])
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		f.tables = append(f.tables, name)
		parts = append(parts, `SELECT COUNT(*) FROM `+name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	f.countQuery = strings.Join(parts, " UNION ALL ")
	return f
}

// counts counts every table's rows.
func (f *authzFixture) counts() map[string]int {
	f.t.Helper()
	rows, err := f.e.store.db.QueryContext(f.e.ctx, f.countQuery)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for i := 0; rows.Next(); i++ {
		var n int
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out[f.tables[i]] = n
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// next returns a fresh number.
func (f *authzFixture) next() int { f.n++; return f.n }

// prisonOf is the prison of a scope.
func (f *authzFixture) prisonOf(sc scope) int64 {
	if sc == otherPrison {
		return f.otherPrison
	}
	return f.e.demo.PrisonID
}

// newStaff opens an account directly in the store.
func (f *authzFixture) newStaff(role StaffRole, prison int64) Staff {
	f.t.Helper()
	st := Staff{Username: fmt.Sprintf("%s.%d", role, f.next()), Name: "Matrix " + string(role), Role: role,
		PrisonID: prison, PasswordHash: dummyHash}
	var err error
	if st.ID, err = f.e.store.CreateStaff(f.e.ctx, st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// prisoner creates an active prisoner in the scope's prison, with an
// approved probation contact, on the prison's probation officer's caseload
// unless the scope is offCaseload. It returns the prisoner and contact ids.
func (f *authzFixture) prisoner(sc scope) (int64, int64) {
	f.t.Helper()
	prison := f.prisonOf(sc)
	pid, cid := f.e.addPrisoner(prison, fmt.Sprintf("M%04dZZ", f.next()), ContactProbation)
	if sc != offCaseload {
		if err := f.e.store.AddToCaseload(f.e.ctx, f.officer[prison].ID, pid); err != nil {
			f.t.Fatal(err)
		}
	}
	return pid, cid
}

// nextSlot hands out a slot of the prison's round-the-clock room that
// nobody has had yet, from tomorrow on (inside the booking window).
func (f *authzFixture) nextSlot(prison int64) slotKey {
	f.slot++
	i := f.slot
	date := day(f.t, "2026-11-24").AddDate(0, 0, i/40)
	return slotKey{TemplateID: f.templates[prison][date.Weekday()], Date: date, Minute: (i % 40) * 30}
}

// booking stores a booked probation call of a fresh prisoner of the scope
// (see prisoner): tomorrow, or started ten minutes ago when started.
func (f *authzFixture) booking(sc scope, started bool) Booking {
	f.t.Helper()
	prison := f.prisonOf(sc)
	pid, cid := f.prisoner(sc)
	now := f.e.clock.Now().UTC().Truncate(time.Minute)
	key := f.nextSlot(prison)
	start := key.Date.Add(time.Duration(key.Minute) * time.Minute) // London is on GMT
	if started {
		start = now.Add(-10 * time.Minute)
		key = slotKey{TemplateID: f.templates[prison][start.Weekday()], Date: start.Truncate(24 * time.Hour),
			Minute: start.Hour()*60 + start.Minute()}
	}
	b := Booking{Reference: newReference(), PrisonID: prison, RoomID: f.room[prison], TemplateID: key.TemplateID,
		SlotID: key.String(), PrisonerID: pid, CallType: CallProbation, Status: StatusBooked, StartsAt: start,
		EndsAt: start.Add(30 * time.Minute), CreatedBy: f.staff[byAdmin].ID, CreatedAt: now,
		Participants: []Participant{
			{ID: newParticipantID(), Role: RolePrisoner, Name: "Matrix prisoner", PrisonerID: pid},
			{ID: newParticipantID(), Role: RoleProbation, Name: "Matrix officer", ContactID: cid},
		}}
	var err error
	if b.ID, err = f.e.store.CreateBooking(f.e.ctx, b); err != nil {
		f.t.Fatal(err)
	}
	return b
}

// flagged is booking(sc, false), flagged for review.
func (f *authzFixture) flagged(sc scope) Booking {
	f.t.Helper()
	b := f.booking(sc, false)
	if err := f.e.store.SetBookingReview(f.e.ctx, b.ID, true, "prisoner moved"); err != nil {
		f.t.Fatal(err)
	}
	return b
}

// hold stores an admin's hold on a fresh slot for a fresh prisoner.
func (f *authzFixture) hold(sc scope) int64 {
	f.t.Helper()
	prison := f.prisonOf(sc)
	pid, _ := f.prisoner(sc)
	now := f.e.clock.Now()
	id, err := f.e.store.CreateHold(f.e.ctx, Hold{PrisonID: prison, SlotID: f.nextSlot(prison).String(), PrisonerID: pid,
		CreatedBy: f.staff[byAdmin].ID, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// nonAssociated stores a non-associated pair of fresh prisoners.
func (f *authzFixture) nonAssociated(sc scope) (int64, int64) {
	f.t.Helper()
	a, _ := f.prisoner(sc)
	b, _ := f.prisoner(sc)
	if err := f.e.store.AddNonAssociation(f.e.ctx, NonAssociation{PrisonerID: a, OtherPrisonerID: b, Reason: "gang",
		CreatedBy: f.staff[byAdmin].ID, CreatedAt: f.e.clock.Now()}); err != nil {
		f.t.Fatal(err)
	}
	return a, b
}

// room creates a room in the scope's prison.
func (f *authzFixture) newRoom(sc scope) int64 {
	f.t.Helper()
	id, err := f.e.store.CreateRoom(f.e.ctx, Room{PrisonID: f.prisonOf(sc), Name: fmt.Sprintf("Room %d", f.next())})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// template creates a template in a new room of the scope's prison.
func (f *authzFixture) template(sc scope) int64 {
	f.t.Helper()
	id, err := f.e.store.CreateSlotTemplate(f.e.ctx, SlotTemplate{RoomID: f.newRoom(sc), Weekday: time.Friday, StartMinute: 600,
		EndMinute: 660, SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallLegal}, ValidFrom: day(f.t, "2026-12-04")})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// excluded stores a fresh excluded date in the scope's prison.
func (f *authzFixture) excluded(sc scope) int64 {
	f.t.Helper()
	id, err := f.e.store.CreateExcludedDate(f.e.ctx, ExcludedDate{PrisonID: f.prisonOf(sc),
		Date: day(f.t, "2027-01-01").AddDate(0, 0, f.next()), Reason: "matrix"})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// contact creates a social contact.
func (f *authzFixture) contact() int64 {
	f.t.Helper()
	id, err := f.e.store.CreateContact(f.e.ctx, Contact{Name: fmt.Sprintf("Contact %d", f.next()), Kind: ContactSocial})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// device registers a device in the scope's prison.
func (f *authzFixture) device(sc scope) int64 {
	f.t.Helper()
	n := f.next()
	id, err := f.e.store.CreateDevice(f.e.ctx, Device{PrisonID: f.prisonOf(sc), Name: fmt.Sprintf("Device %d", n),
		Location: "B-1", Kind: DeviceKiosk, Active: true, CreatedAt: f.e.clock.Now(), SecretHash: hashToken(fmt.Sprint("matrix-", n))})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// legalCall stores a booked legal call of a fresh prisoner of the scope,
// started ten minutes ago.
func (f *authzFixture) legalCall(sc scope) Booking {
	f.t.Helper()
	b := f.booking(sc, true)
	if _, err := f.e.store.db.ExecContext(f.e.ctx, f.e.store.d.bind(`UPDATE bookings SET call_type = ? WHERE id = ?`),
		string(CallLegal), b.ID); err != nil {
		f.t.Fatal(err)
	}
	b.CallType = CallLegal
	return b
}

// recording stores a complete recording, held when held, of a fresh social
// call of the scope's prison, with one file, matrix.webm, and returns its
// id.
func (f *authzFixture) recording(sc scope, held bool) int64 {
	f.t.Helper()
	b := f.booking(sc, false)
	if _, err := f.e.store.db.ExecContext(f.e.ctx, f.e.store.d.bind(`UPDATE bookings SET call_type = ? WHERE id = ?`),
		string(CallSocial), b.ID); err != nil {
		f.t.Fatal(err)
	}
	dir := fmt.Sprintf("matrix-%d", b.ID)
	sum := f.e.writeRecording(dir, recordingFiles{"matrix.webm": []byte("matrix")})
	r := Recording{BookingID: b.ID, PrisonID: b.PrisonID, Dir: dir, Status: RecordingStatusComplete, ManifestSHA256: sum,
		StartedAt: b.StartsAt, EndedAt: b.EndsAt, DeleteAfter: b.EndsAt.Add(90 * 24 * time.Hour)}
	if held {
		r.HoldReason, r.HeldBy, r.HeldAt = "matrix", f.staff[byAdmin].ID, b.StartsAt
	}
	id, err := f.e.store.CreateRecording(f.e.ctx, r)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}
