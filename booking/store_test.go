package booking

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedIsIdempotent: a second Seed adds nothing but still lists the
// logins, and every demo login works.
func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newFreshEnv(t, defaultNow())
	if !e.demo.Seeded || e.demo.PrisonID == 0 || e.demo.PrisonerID == 0 || len(e.demo.Logins) != 4 {
		t.Fatalf("first seed %+v", e.demo)
	}
	again, err := Seed(e.ctx, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	if again.Seeded || again.PrisonID != e.demo.PrisonID || again.PrisonerID != e.demo.PrisonerID ||
		len(again.Logins) != 4 {
		t.Fatalf("second seed %+v", again)
	}
	prisons, err := e.store.Prisons(e.ctx)
	if err != nil || len(prisons) != 1 || prisons[0].Code != "DEM" || prisons[0].Name != "HMP Demo" ||
		prisons[0].Timezone != "Europe/London" {
		t.Fatalf("prisons %+v %v", prisons, err)
	}
	roles := map[string]StaffRole{}
	for _, l := range again.Logins {
		roles[l.Username] = l.Role
		lr := e.login(l.Username)
		if lr.Staff.Role != l.Role {
			t.Errorf("%s logs in as %s, want %s", l.Username, lr.Staff.Role, l.Role)
		}
	}
	if roles["clerk"] != StaffClerk || roles["security"] != StaffSecurity || roles["admin"] != StaffAdmin ||
		roles["probation"] != StaffProbation {
		t.Errorf("roles %v", roles)
	}

	clerk := e.login("clerk")
	var prisoners []Prisoner
	e.as(clerk.Token, http.MethodGet, "/api/v1/prisons/"+itoa(e.demo.PrisonID)+"/prisoners", nil).decode(t, 200, &prisoners)
	if len(prisoners) != 2 || prisoners[0].Number != "A1234BC" || prisoners[0].Name != "Daniel Price" ||
		prisoners[0].Status != PrisonerActive || prisoners[1].Number != "B7654CD" {
		t.Fatalf("prisoners %+v", prisoners)
	}
	var contacts []contactView
	e.as(clerk.Token, http.MethodGet, "/api/v1/prisoners/"+itoa(prisoners[0].ID)+"/contacts", nil).decode(t, 200, &contacts)
	byName := map[string]contactView{}
	for _, c := range contacts {
		byName[c.Name] = c
		if !c.Approved || c.Banned {
			t.Errorf("contact %+v", c)
		}
	}
	if c := byName["Sarah Price"]; c.Kind != ContactSocial || c.Relationship != "partner" || c.DateOfBirth == nil ||
		*c.DateOfBirth != "1990-04-12" {
		t.Errorf("Sarah %+v", c)
	}
	if c := byName["Tom Price"]; c.Relationship != "father" || *c.DateOfBirth != "1962-09-03" {
		t.Errorf("Tom %+v", c)
	}
	if c := byName["Priya Shah (solicitor)"]; c.Kind != ContactLegal || c.DateOfBirth != nil {
		t.Errorf("Priya %+v", c)
	}
	if c := byName["Mark Ellis (probation officer)"]; c.Kind != ContactProbation {
		t.Errorf("Mark %+v", c)
	}
	e.as(clerk.Token, http.MethodGet, "/api/v1/prisoners/999/contacts", nil).wantProblem(t, 404, string(ErrPrisonerNotFound))
}

// TestReopen: migrations run once; a reopened store keeps its data.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePrison(ctx, Prison{Code: "AAA", Name: "HMP A"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Prisons(ctx)
	if err != nil || len(ps) != 1 || ps[0].Timezone != DefaultTimezone {
		t.Fatalf("after reopen: %+v %v", ps, err)
	}
	if _, err := s.Prison(ctx, 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing prison: %v", err)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d %v", fk, err)
	}
	if _, err := s.CreateRoom(ctx, Room{PrisonID: 999, Name: "orphan"}); err == nil {
		t.Error("a room without a prison was accepted")
	}
	for _, bad := range []string{path + "?mode=ro", ":memory:", ""} {
		if _, err := OpenSQLite(ctx, bad); err == nil {
			t.Errorf("OpenSQLite(%q) accepted", bad)
		}
	}
}

// TestAuditChain: bookings, cancels, outcomes and logins are audited in a
// hash chain that verifies, refuses edits, and detects tampering, on each
// store.
func TestAuditChain(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			testAuditChain(t, k, k.newEnv(t, defaultNow()))
		})
	}
}

func testAuditChain(t *testing.T, k storeKind, e *env) {
	clerk := e.login("clerk")
	ids := e.contactIDs()
	var b1, b2 Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: e.slot("2026-11-24", "09:00", "Visits room").ID, CallType: CallSocial,
		ContactIDs: []int64{ids["Tom Price"]}}).decode(t, 201, &b1)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: e.slot("2026-11-25", "09:00", "Visits room").ID, CallType: CallSocial,
		ContactIDs: []int64{ids["Tom Price"]}}).decode(t, 201, &b2)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings/"+itoa(b1.ID)+"/cancel",
		map[string]string{"reason": "moved"}).decode(t, 200, nil)
	if err := e.svc.RecordOutcome(e.ctx, b2.ID, StatusCompleted, "call ended at its end time"); err != nil {
		t.Fatal(err)
	}

	entries, err := e.store.AuditEntries(e.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action+" "+en.Subject)
	}
	got := strings.Join(actions, ", ")
	want := "seed prison:1, login staff:1, booking.create booking:1, booking.create booking:2, " +
		"booking.cancel booking:1, booking.outcome booking:2"
	if got != want {
		t.Errorf("audit actions\n got %s\nwant %s", got, want)
	}
	if entries[0].PrevHash != auditGenesis {
		t.Errorf("first prev_hash %s", entries[0].PrevHash)
	}
	n, err := VerifyAudit(e.ctx, e.store)
	if err != nil || n != len(entries) {
		t.Fatalf("verify: %d %v", n, err)
	}

	if _, err := e.store.db.ExecContext(e.ctx, `UPDATE audit_log SET actor = 'x' WHERE id = 2`); err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	if _, err := e.store.db.ExecContext(e.ctx, `DELETE FROM audit_log WHERE id = 2`); err == nil {
		t.Fatal("audit_log accepted a DELETE")
	}
	// Someone with the database drops the guard and edits a line: detected.
	for _, q := range append(k.unguardAudit,
		`UPDATE audit_log SET detail = '{"reason":"edited"}' WHERE action = 'booking.cancel'`) {
		if _, err := e.store.db.ExecContext(e.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := VerifyAudit(e.ctx, e.store); err == nil {
		t.Fatal("tampered audit log verified")
	}
}

// TestRecordOutcome covers the outcomes signalling records at call end.
func TestRecordOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: e.slot("2026-11-23", "08:00", "Demo room").ID, CallType: CallSocial,
		ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).decode(t, 201, &b)

	if err := e.svc.RecordOutcome(e.ctx, b.ID, StatusBooked, ""); !errors.Is(err, ErrValidation) {
		t.Errorf("active status as outcome: %v", err)
	}
	if err := e.svc.RecordOutcome(e.ctx, b.ID, "done", ""); !errors.Is(err, ErrValidation) {
		t.Errorf("unknown status: %v", err)
	}
	if err := e.svc.RecordOutcome(e.ctx, 9999, StatusCompleted, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing booking: %v", err)
	}
	if err := e.svc.RecordOutcome(e.ctx, b.ID, StatusCompleted, "ended at end time"); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Booking(e.ctx, b.ID)
	if err != nil || got.Status != StatusCompleted || got.StatusReason != "ended at end time" {
		t.Fatalf("after outcome %+v %v", got, err)
	}
	var r *Refusal
	if err := e.svc.RecordOutcome(e.ctx, b.ID, StatusFailed, ""); !errors.As(err, &r) || r.Code != ErrNotActive {
		t.Errorf("second outcome: %v", err)
	}
	if _, err := e.svc.Booking(e.ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Booking of a missing id: %v", err)
	}
}

// TestReferences draws many references: right length and alphabet, no
// ambiguous characters.
func TestReferences(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 5000 {
		r := newReference()
		if len(r) != ReferenceLength || strings.ContainsAny(r, "0O1IL") || strings.Trim(r, referenceAlphabet) != "" {
			t.Fatalf("reference %q", r)
		}
		seen[r] = true
	}
	if len(seen) < 4990 {
		t.Errorf("only %d distinct references in 5000", len(seen))
	}
	if id := newParticipantID(); len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("participant id %q", id)
	}
}
