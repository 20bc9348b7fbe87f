package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// FuzzCreateBooking drives the create-booking path (with holds, releases,
// cancellations and the clock moving on) with random input against a small
// world, and after every step checks the invariants:
//
//   - a slot's active bookings and unexpired holds never exceed its
//     capacity plus its active bookings that overrode it;
//   - no prisoner has two active bookings that overlap;
//   - no prisoner's social minutes in a month, without the bookings that
//     overrode the allowance, exceed the allowance;
//   - no two non-associated prisoners are booked into, or hold places in,
//     the same slot;
//   - every contact on an active booking is approved, not banned, of the
//     call's kind, on the prisoner's list;
//   - a refused request wrote nothing, and a refusal is the only way to
//     fail.
//
// The input is a sequence of 4-byte steps (see fuzzWorld.step); each input
// starts from the same empty world, so a failure replays exactly. Run it
// with go test -fuzz FuzzCreateBooking ./booking/; plain go test runs the
// seeds in testdata/fuzz/FuzzCreateBooking (each file says what it
// exercises: see its name). Slots (index b mod 15): 0-3 the one-place,
// 30-minute room on 23 November (10:00 to 11:30), 4-7 the same on 30
// November, 8-9 and 10-11 the two-place, 60-minute room on those days,
// then a missing template, a malformed id and a slot at another prison.
// Prisoners (a mod 7): 0 and 1 non-associated, 2 and 3, 4 released, 5 at
// another prison, 6 unknown.
func FuzzCreateBooking(f *testing.F) {
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		w.run(t, data)
	})
}

// fuzzClock is a clock the fuzz steps move by hand.
type fuzzClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fuzzClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fuzzClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fuzzStart is Monday 2026-11-23 08:00 in London.
func fuzzStart() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }

// fuzzWorld is a prison with two small rooms, six prisoners (one released,
// one at another prison, two non-associated) with contacts of every kind
// and state, and four staff members.
type fuzzWorld struct {
	ctx       context.Context
	store     *sqlStore
	svc       *Service
	clock     *fuzzClock
	prison    int64
	staff     []Staff
	prisoners []int64
	contacts  [][]int64 // per prisoner: adult, child, banned, unapproved, legal, probation
	stranger  int64
	slots     []string
	allowance int
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	store, err := OpenSQLite(ctx, filepath.Join(tb.TempDir(), "fuzz.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	w := &fuzzWorld{ctx: ctx, store: store.sqlStore, clock: &fuzzClock{t: fuzzStart()}}
	w.svc = NewService(store, nil, w.clock, nil, nil, Config{})
	must := func(id int64, err error) int64 {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return id
	}
	w.prison = must(store.CreatePrison(ctx, Prison{Code: "FUZ", Name: "HMP Fuzz"}))
	other := must(store.CreatePrison(ctx, Prison{Code: "OTH", Name: "HMP Other"}))
	set := Defaults()
	set.SocialAllowanceMinutes = 60
	if err := store.SetPrisonSettings(ctx, w.prison, set, 0, fuzzStart()); err != nil {
		tb.Fatal(err)
	}
	w.allowance = set.SocialAllowanceMinutes
	valid := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range []struct {
		capacity, minutes int
		types             []CallType
	}{{1, 30, []CallType{CallSocial, CallLegal}}, {2, 60, []CallType{CallSocial, CallProbation}}} {
		room := must(store.CreateRoom(ctx, Room{PrisonID: w.prison, Name: fmt.Sprintf("Room %d", i)}))
		tpl := must(store.CreateSlotTemplate(ctx, SlotTemplate{RoomID: room, Weekday: time.Monday, StartMinute: 10 * 60,
			EndMinute: 12 * 60, SlotMinutes: r.minutes, Capacity: r.capacity, CallTypes: r.types, ValidFrom: valid}))
		for _, d := range []string{"2026-11-23", "2026-11-30"} {
			for m := 10 * 60; m+r.minutes <= 12*60; m += r.minutes {
				w.slots = append(w.slots, slotID(tpl, d, fmt.Sprintf("%02d%02d", m/60, m%60)))
			}
		}
	}
	w.slots = append(w.slots, "999-20261130-1000", "not-a-slot")
	otherRoom := must(store.CreateRoom(ctx, Room{PrisonID: other, Name: "Elsewhere"}))
	otherTpl := must(store.CreateSlotTemplate(ctx, SlotTemplate{RoomID: otherRoom, Weekday: time.Monday, StartMinute: 600,
		EndMinute: 660, SlotMinutes: 30, Capacity: 1, CallTypes: []CallType{CallSocial}, ValidFrom: valid}))
	w.slots = append(w.slots, slotID(otherTpl, "2026-11-30", "10:00"))

	for i := range 6 {
		prison, status := w.prison, PrisonerActive
		switch i {
		case 4:
			status = PrisonerReleased
		case 5:
			prison = other
		}
		pid := must(store.CreatePrisoner(ctx, Prisoner{PrisonID: prison, Number: fmt.Sprintf("F%04dZZ", i),
			Name: fmt.Sprintf("Prisoner %d", i), Status: status}))
		w.prisoners = append(w.prisoners, pid)
		var cs []int64
		for j, c := range []struct {
			kind             ContactKind
			dob              time.Time
			approved, banned bool
		}{
			{ContactSocial, time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), true, false},
			{ContactSocial, time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), true, false},
			{ContactSocial, time.Time{}, true, true},
			{ContactSocial, time.Time{}, false, false},
			{ContactLegal, time.Time{}, true, false},
			{ContactProbation, time.Time{}, true, false},
		} {
			cid := must(store.CreateContact(ctx, Contact{Name: fmt.Sprintf("Contact %d.%d", i, j), Kind: c.kind, DateOfBirth: c.dob}))
			if err := store.LinkContact(ctx, PrisonerContact{PrisonerID: pid, Contact: Contact{ID: cid},
				Relationship: "x", Approved: c.approved, Banned: c.banned}); err != nil {
				tb.Fatal(err)
			}
			cs = append(cs, cid)
		}
		w.contacts = append(w.contacts, cs)
	}
	w.stranger = must(store.CreateContact(ctx, Contact{Name: "Stranger", Kind: ContactSocial}))
	for _, st := range []Staff{
		{Username: "clerk", Role: StaffClerk, PrisonID: w.prison},
		{Username: "admin", Role: StaffAdmin},
		{Username: "probation", Role: StaffProbation, PrisonID: w.prison},
		{Username: "security", Role: StaffSecurity, PrisonID: w.prison},
	} {
		st.Name, st.PasswordHash = st.Username, "x"
		st.ID = must(store.CreateStaff(ctx, st))
		w.staff = append(w.staff, st)
	}
	if err := store.AddNonAssociation(ctx, NonAssociation{PrisonerID: w.prisoners[0], OtherPrisonerID: w.prisoners[1],
		Reason: "fuzz", CreatedBy: w.staff[1].ID, CreatedAt: fuzzStart()}); err != nil {
		tb.Fatal(err)
	}
	return w
}

// reset empties the bookings and holds and sets the clock back.
func (w *fuzzWorld) reset(t *testing.T) {
	t.Helper()
	for _, q := range []string{`DELETE FROM holds`, `DELETE FROM booking_participants`, `DELETE FROM bookings`} {
		if _, err := w.store.db.ExecContext(w.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.set(fuzzStart())
}

// run replays data as steps from an empty world.
func (w *fuzzWorld) run(t *testing.T, data []byte) {
	w.reset(t)
	var holds, bookings []int64
	for i := 0; i+4 <= len(data) && i < 4*64; i += 4 {
		before := w.snapshot(t)
		err := w.step(t, data[i:i+4], &holds, &bookings)
		t.Logf("step %d % x: %v", i/4, data[i:i+4], err)
		var r *Refusal
		switch {
		case err == nil:
		case errors.As(err, &r), errors.Is(err, ErrNotFound): // not found: cancelling what is not there
			if after := w.snapshot(t); after != before {
				t.Fatalf("step %d (% x) was refused with %v but wrote:\n%s\n->\n%s", i/4, data[i:i+4], err, before, after)
			}
		default:
			t.Fatalf("step %d (% x): %v", i/4, data[i:i+4], err)
		}
		w.checkInvariants(t)
	}
}

// step runs one 4-byte step [op, a, b, c]:
//
//	op&7 == 0, 1, 6, 7: book prisoner a for slot b; c picks the call type (bits
//	              0-1: social, legal, probation, invalid) and the contacts
//	              (bits 2-5: adult, child, banned, and for a social call an
//	              unapproved one, else the legal adviser or probation
//	              officer; bit 6: a stranger); op's bits 3-4 pick the staff
//	              member (clerk, admin, probation, security), bit 7 an
//	              override of capacity (bit 5) and allowance (bit 6);
//	op&7 == 2:    hold a place in slot b for prisoner a;
//	op&7 == 3:    book as in 0, with the last hold (or a made-up id);
//	op&7 == 4:    release hold a, or cancel booking b (c odd);
//	op&7 == 5:    move the clock on by a minutes.
func (w *fuzzWorld) step(t *testing.T, s []byte, holds, bookings *[]int64) error {
	op, a, b, c := s[0], s[1], s[2], s[3]
	actor := w.staff[int(op>>3)%len(w.staff)]
	prisoner := int64(987654)
	pi := int(a) % (len(w.prisoners) + 1)
	if pi < len(w.prisoners) {
		prisoner = w.prisoners[pi]
	}
	slot := w.slots[int(b)%len(w.slots)]
	switch op & 7 {
	case 0, 1, 3, 6, 7:
		req := CreateRequest{PrisonerID: prisoner, SlotID: slot, CallType: []CallType{CallSocial, CallLegal, CallProbation, "video"}[c&3]}
		for bit := range 4 {
			if c&(4<<bit) == 0 || pi >= len(w.prisoners) {
				continue
			}
			id := w.contacts[pi][bit]
			if bit == 3 && c&3 == 1 {
				id = w.contacts[pi][4] // the legal adviser
			} else if bit == 3 && c&3 == 2 {
				id = w.contacts[pi][5] // the probation officer
			}
			req.ContactIDs = append(req.ContactIDs, id)
		}
		if c&64 != 0 || pi >= len(w.prisoners) {
			req.ContactIDs = append(req.ContactIDs, w.stranger)
		}
		if op&0x80 != 0 {
			req.Override = &Override{Capacity: op&0x20 != 0, Allowance: op&0x40 != 0, Reason: "fuzz"}
		}
		if op&7 == 3 {
			req.HoldID = 424242
			if len(*holds) > 0 {
				req.HoldID = (*holds)[len(*holds)-1]
			}
		}
		nb := w.count(t, "bookings")
		bk, err := w.svc.CreateBooking(w.ctx, actor, req)
		if err == nil {
			*bookings = append(*bookings, bk.ID)
			if n := w.count(t, "bookings"); n != nb+1 {
				t.Fatalf("a booking made %d rows", n-nb)
			}
		}
		return err
	case 2:
		h, err := w.svc.CreateHold(w.ctx, actor, HoldRequest{SlotID: slot, PrisonerID: prisoner})
		if err == nil {
			*holds = append(*holds, h.ID)
		}
		return err
	case 4:
		if c&1 == 1 {
			id := int64(999999)
			if len(*bookings) > 0 {
				id = (*bookings)[int(b)%len(*bookings)]
			}
			_, err := w.svc.CancelBooking(w.ctx, actor, id, "fuzz")
			return err
		}
		id := int64(999999)
		if len(*holds) > 0 {
			id = (*holds)[int(a)%len(*holds)]
		}
		return w.svc.ReleaseHold(w.ctx, actor, id)
	default: // 5
		w.clock.set(w.clock.Now().Add(time.Duration(a) * time.Minute))
		return nil
	}
}

// count counts a table's rows.
func (w *fuzzWorld) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.store.db.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot is every row a step may write.
func (w *fuzzWorld) snapshot(t *testing.T) string {
	t.Helper()
	var out string
	for _, q := range []string{
		`SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(LENGTH(status) * id), 0), COALESCE(SUM(needs_review), 0) FROM bookings`,
		`SELECT COUNT(*), COALESCE(SUM(booking_id), 0), 0, 0 FROM booking_participants`,
		`SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(expires_at), 0), 0 FROM holds`,
		`SELECT COUNT(*), COALESCE(MAX(id), 0), 0, 0 FROM audit_log`,
	} {
		var a, b, c, d int64
		if err := w.store.db.QueryRowContext(w.ctx, q).Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintln(a, b, c, d)
	}
	return out
}

// checkInvariants fails t if the store breaks a booking rule.
func (w *fuzzWorld) checkInvariants(t *testing.T) {
	t.Helper()
	now := unix(w.clock.Now())
	for _, c := range []struct{ what, query string }{
		{"a slot over capacity", `
			SELECT s.slot_id FROM (
				SELECT slot_id FROM bookings WHERE status IN ('requested', 'booked')
				UNION SELECT slot_id FROM holds WHERE expires_at > ?1) s
			JOIN slot_templates t ON t.id = CAST(substr(s.slot_id, 1, instr(s.slot_id, '-') - 1) AS INTEGER)
			WHERE (SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.slot_id AND b.status IN ('requested', 'booked'))
				+ (SELECT COUNT(*) FROM holds h WHERE h.slot_id = s.slot_id AND h.expires_at > ?1)
				> t.capacity + (SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.slot_id
					AND b.status IN ('requested', 'booked') AND b.override_capacity)`},
		{"a prisoner double-booked", `
			SELECT x.prisoner_id FROM bookings x JOIN bookings y ON y.prisoner_id = x.prisoner_id AND y.id > x.id
			WHERE x.status IN ('requested', 'booked') AND y.status IN ('requested', 'booked')
				AND x.starts_at < y.ends_at AND y.starts_at < x.ends_at AND ?1 = ?1`},
		{"an allowance exceeded without an override", `
			SELECT prisoner_id FROM bookings
			WHERE call_type = 'social' AND status IN ('requested', 'booked', 'completed', 'no_show', 'terminated')
				AND NOT override_allowance AND ?1 = ?1
			GROUP BY prisoner_id, strftime('%Y-%m', starts_at, 'unixepoch')
			HAVING SUM(ends_at - starts_at) > ` + fmt.Sprint(w.allowance*60)},
		{"non-associated prisoners in one slot", `
			SELECT n.prisoner_a FROM non_associations n
			JOIN (SELECT slot_id, prisoner_id FROM bookings WHERE status IN ('requested', 'booked')
				UNION SELECT slot_id, prisoner_id FROM holds WHERE expires_at > ?1) x ON x.prisoner_id = n.prisoner_a
			JOIN (SELECT slot_id, prisoner_id FROM bookings WHERE status IN ('requested', 'booked')
				UNION SELECT slot_id, prisoner_id FROM holds WHERE expires_at > ?1) y ON y.prisoner_id = n.prisoner_b
			WHERE x.slot_id = y.slot_id`},
		{"a contact who may not join", `
			SELECT p.contact_id FROM booking_participants p JOIN bookings b ON b.id = p.booking_id
			LEFT JOIN prisoner_contacts pc ON pc.prisoner_id = b.prisoner_id AND pc.contact_id = p.contact_id
			LEFT JOIN contacts c ON c.id = p.contact_id
			WHERE p.contact_id IS NOT NULL AND b.status IN ('requested', 'booked') AND ?1 = ?1
				AND (pc.contact_id IS NULL OR NOT pc.approved OR pc.banned OR c.kind <> b.call_type)`},
		{"a booking of an inactive or moved prisoner", `
			SELECT b.id FROM bookings b JOIN prisoners p ON p.id = b.prisoner_id
			WHERE b.status IN ('requested', 'booked') AND (p.status <> 'active' OR p.prison_id <> b.prison_id) AND ?1 = ?1`},
	} {
		var bad int64
		err := w.store.db.QueryRowContext(w.ctx, c.query, now).Scan(&bad)
		if err == nil {
			t.Fatalf("%s (%d)", c.what, bad)
		} else if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("check %s: %v", c.what, err)
		}
	}
}
