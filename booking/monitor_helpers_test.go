package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeLive stands in for signalling in the monitoring tests: the live
// calls (LiveCalls) and the call ender (CallEnder). It is safe for
// concurrent use.
type fakeLive struct {
	mu    sync.Mutex
	calls map[int64]LiveCall
	// moderated and ended record what the service asked.
	moderated []moderation
	ended     []ending
	sightOnly []sightOnlyChange
	// failModerate, when set, is what Moderate returns.
	failModerate error
}

type moderation struct {
	bookingID int64
	act       StaffAction
}

type sightOnlyChange struct {
	bookingID int64
	on        bool
}

type ending struct {
	bookingID int64
	reason    string
}

func newFakeLive() *fakeLive { return &fakeLive{calls: map[int64]LiveCall{}} }

// LiveCall returns the call set with set.
func (f *fakeLive) LiveCall(bookingID int64) (LiveCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[bookingID]
	return c, ok
}

// SightOnlyChanged records the change.
func (f *fakeLive) SightOnlyChanged(bookingID int64, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sightOnly = append(f.sightOnly, sightOnlyChange{bookingID, on})
}

// sightOnlyChanges returns a copy of the changes recorded.
func (f *fakeLive) sightOnlyChanges() []sightOnlyChange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sightOnlyChange(nil), f.sightOnly...)
}

// Moderate records act, or fails with failModerate.
func (f *fakeLive) Moderate(_ context.Context, bookingID int64, act StaffAction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failModerate != nil {
		return f.failModerate
	}
	f.moderated = append(f.moderated, moderation{bookingID, act})
	return nil
}

// EndCall records the ending; the call is live when set.
func (f *fakeLive) EndCall(_ context.Context, bookingID int64, reason string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, ending{bookingID, reason})
	_, ok := f.calls[bookingID]
	delete(f.calls, bookingID)
	return ok
}

// set makes a call live.
func (f *fakeLive) set(bookingID int64, c LiveCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[bookingID] = c
}

// connectAll makes b live with every participant connected.
func (f *fakeLive) connectAll(b Booking) {
	c := LiveCall{Recording: LiveRecordingOn}
	for _, p := range b.Participants {
		c.Participants = append(c.Participants, LiveParticipant{ID: p.ID, Role: p.Role, Name: p.Name, Connected: true,
			Quality: "good"})
	}
	f.set(b.ID, c)
}

// log returns copies of what was asked.
func (f *fakeLive) log() ([]moderation, []ending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]moderation(nil), f.moderated...), append([]ending(nil), f.ended...)
}

// setFailure makes Moderate fail with err (nil: succeed).
func (f *fakeLive) setFailure(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failModerate = err
}

// call stores a booked call of type ct for a fresh prisoner of prisonID,
// in the round-the-clock demo room (or, for another prison, a room made
// for it), starting at start and lasting minutes. The prisoner has one
// approved contact of the call's kind.
func (e *env) call(prisonID int64, ct CallType, start time.Time, minutes int) Booking {
	e.t.Helper()
	room, tpl := e.roundTheClock(prisonID, start.Weekday())
	pid, cid := e.addPrisoner(prisonID, fmt.Sprintf("C%05dMN", e.nextNumber()), ContactKind(ct))
	role := map[CallType]Role{CallSocial: RoleVisitor, CallLegal: RoleLegal, CallProbation: RoleProbation}[ct]
	start = start.UTC().Truncate(time.Minute)
	b := Booking{Reference: newReference(), PrisonID: prisonID, RoomID: room, TemplateID: tpl,
		SlotID:     slotKey{TemplateID: tpl, Date: start.Truncate(24 * time.Hour), Minute: start.Hour()*60 + start.Minute()}.String(),
		PrisonerID: pid, CallType: ct, Status: StatusBooked, StartsAt: start, EndsAt: start.Add(time.Duration(minutes) * time.Minute),
		CreatedBy: e.staff("admin").ID, CreatedAt: start.Add(-72 * time.Hour),
		Participants: []Participant{
			{ID: newParticipantID(), Role: RolePrisoner, Name: "Prisoner " + fmt.Sprint(pid), PrisonerID: pid},
			{ID: newParticipantID(), Role: role, Name: "Contact " + fmt.Sprint(cid), ContactID: cid},
		}}
	id, err := e.store.CreateBooking(e.ctx, b)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err = e.store.Booking(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// liveCall is call, started five minutes ago for 30 minutes, at the demo
// prison.
func (e *env) liveCall(ct CallType) Booking {
	e.t.Helper()
	return e.call(e.demo.PrisonID, ct, e.clock.Now().Add(-5*time.Minute), 30)
}

// nextNumber returns a number not handed out before in e.
func (e *env) nextNumber() int {
	e.n++
	return e.n
}

// roundTheClock returns a room of prisonID whose template of weekday wd
// runs all day, making both when the prison has none.
func (e *env) roundTheClock(prisonID int64, wd time.Weekday) (int64, int64) {
	e.t.Helper()
	tpls, err := e.store.SlotTemplates(e.ctx, prisonID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tp := range tpls {
		if tp.Weekday == wd && tp.StartMinute == 0 && tp.EndMinute == 24*60 {
			return tp.RoomID, tp.ID
		}
	}
	room, err := e.store.CreateRoom(e.ctx, Room{PrisonID: prisonID, Name: fmt.Sprintf("All-day room %d", e.nextNumber())})
	if err != nil {
		e.t.Fatal(err)
	}
	tpl, err := e.store.CreateSlotTemplate(e.ctx, SlotTemplate{RoomID: room, Weekday: wd, StartMinute: 0, EndMinute: 24 * 60,
		SlotMinutes: 30, Capacity: 5, CallTypes: []CallType{CallSocial, CallLegal, CallProbation},
		ValidFrom: day(e.t, "2026-01-01")})
	if err != nil {
		e.t.Fatal(err)
	}
	return room, tpl
}

// otherPrison creates a prison with a security officer of its own.
func (e *env) otherPrison() (int64, Staff) {
	e.t.Helper()
	n := e.nextNumber()
	id, err := e.store.CreatePrison(e.ctx, Prison{Code: fmt.Sprintf("O%d", n), Name: fmt.Sprintf("HMP Other %d", n)})
	if err != nil {
		e.t.Fatal(err)
	}
	st := Staff{Username: fmt.Sprintf("security.%d", n), Name: "Other Security", Role: StaffSecurity, PrisonID: id,
		PasswordHash: dummyHash}
	if st.ID, err = e.store.CreateStaff(e.ctx, st); err != nil {
		e.t.Fatal(err)
	}
	return id, st
}

// bearerOf opens a session for the account username directly in the
// store (no bcrypt) and returns its bearer token.
func (e *env) bearerOf(username string) string {
	e.t.Helper()
	tok, _ := e.session(e.staff(username))
	return tok
}

// auditActions returns the actions of the entries after id.
func (e *env) auditActions(after int64) []string {
	e.t.Helper()
	var out []string
	for _, a := range e.auditSince(after) {
		out = append(out, a.Action)
	}
	return out
}

// recordingFiles are the files of a test recording: name -> content.
type recordingFiles map[string][]byte

// writeRecording writes files and a manifest naming them into the
// recording directory dir (relative to the recordings root) and returns
// the manifest's hex SHA-256.
func (e *env) writeRecording(dir string, files recordingFiles) string {
	e.t.Helper()
	abs := filepath.Join(e.recordings, dir)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		e.t.Fatal(err)
	}
	type entry struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
		Bytes  int    `json:"bytes"`
	}
	var m struct {
		BookingDir string  `json:"dir"`
		Files      []entry `json:"files"`
	}
	m.BookingDir = dir
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(abs, name), data, 0o600); err != nil {
			e.t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, entry{Name: name, SHA256: hex.EncodeToString(sum[:]), Bytes: len(data)})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(abs, ManifestName), raw, 0o600); err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// recorded makes a finished recording of a fresh social call of the demo
// prison that ended at end, with files, and returns it.
func (e *env) recorded(end time.Time, files recordingFiles) Recording {
	e.t.Helper()
	b := e.call(e.demo.PrisonID, CallSocial, end.Add(-30*time.Minute), 30)
	dir := fmt.Sprint(b.ID)
	if err := e.svc.RecordingStarted(e.ctx, b.ID, filepath.Join(e.recordings, dir), b.StartsAt); err != nil {
		e.t.Fatal(err)
	}
	sum := e.writeRecording(dir, files)
	if err := e.svc.RecordingFinished(e.ctx, b.ID, sum, end); err != nil {
		e.t.Fatal(err)
	}
	r, err := e.store.RecordingOfBooking(e.ctx, b.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// wantRefusal checks that err is a *Refusal with code c.
func wantRefusal(t *testing.T, err error, c Code) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || r.Code != c {
		t.Fatalf("error %v, want a %s refusal", err, c)
	}
}
