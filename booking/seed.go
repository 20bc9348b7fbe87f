package booking

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// DemoPrisonCode is the code of the demo prison Seed creates.
const DemoPrisonCode = "DEM"

// DemoLogin is one demo staff account.
type DemoLogin struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Role     StaffRole `json:"role"`
}

// Demo describes the demo data. Seeded is true only on the run that created
// it; Logins are listed either way so the app can print them at every start.
type Demo struct {
	Seeded     bool        `json:"seeded"`
	PrisonID   int64       `json:"prisonId"`
	PrisonerID int64       `json:"prisonerId"`
	Logins     []DemoLogin `json:"logins"`
	// DeviceID is the demo prisoner's in-cell device, whose secret is
	// DemoDeviceSecret (as the demo passwords, it is public: demo only).
	DeviceID int64 `json:"deviceId"`
}

// Demo data of the administration half: the demo prisoner's cell, the
// secret of the in-cell device there, and the visits room's closed days.
const (
	DemoPrisonerLocation = "B-2-14"
	DemoDeviceSecret     = "demo-device-secret-cell-B-2-14"
)

// demoStaff are the demo accounts and their names.
func demoStaff() []struct {
	DemoLogin
	Name string
} {
	return []struct {
		DemoLogin
		Name string
	}{
		{DemoLogin{"clerk", "demo-clerk-pass", StaffClerk}, "Demo Booking Clerk"},
		{DemoLogin{"security", "demo-security-pass", StaffSecurity}, "Demo Security Officer"},
		{DemoLogin{"admin", "demo-admin-pass", StaffAdmin}, "Demo Administrator"},
		{DemoLogin{"probation", "demo-probation-pass", StaffProbation}, "Demo Probation Officer"},
	}
}

// Seed creates the demo prison (HMP Demo, DEM, Europe/London) when the store
// holds no prison at all: a visits room with Monday-Saturday 09:00-17:00
// templates (closed on Christmas Day and Boxing Day of this year and next),
// a demo room with round-the-clock slots every day, prisoner A1234BC Daniel
// Price in cell B-2-14 with two approved social contacts, a solicitor and a
// probation officer, a registered in-cell device in his cell, prisoner
// B7654CD Marcus Reid next door, non-associated with Daniel, and the four
// demo staff accounts, Daniel being on the demo probation officer's
// caseload. It is idempotent: the check and the inserts are one
// transaction.
func Seed(ctx context.Context, s *Service) (Demo, error) {
	demo := Demo{}
	for _, st := range demoStaff() {
		demo.Logins = append(demo.Logins, st.DemoLogin)
	}
	prisons, err := s.store.Prisons(ctx)
	if err != nil {
		return Demo{}, fmt.Errorf("seed: %w", err)
	}
	if len(prisons) > 0 {
		return s.describeDemo(ctx, demo, prisons)
	}
	hashes := make([]string, len(demo.Logins))
	for i, l := range demo.Logins {
		if hashes[i], err = auth.HashPassword(l.Password); err != nil {
			return Demo{}, fmt.Errorf("seed: %w", err)
		}
	}
	now := s.clock.Now()
	err = s.store.InTx(ctx, func(q Queries) error {
		existing, err := q.Prisons(ctx)
		if err != nil || len(existing) > 0 {
			return err
		}
		demo.Seeded = true
		return seedDemo(ctx, q, &demo, hashes, now)
	})
	if err != nil {
		return Demo{}, fmt.Errorf("seed: %w", err)
	}
	if !demo.Seeded {
		prisons, err := s.store.Prisons(ctx)
		if err != nil {
			return Demo{}, fmt.Errorf("seed: %w", err)
		}
		return s.describeDemo(ctx, demo, prisons)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "seeded demo prison", slog.Int64("prison_id", demo.PrisonID))
	return demo, nil
}

// describeDemo fills in the ids of an already seeded demo prison.
func (s *Service) describeDemo(ctx context.Context, demo Demo, prisons []Prison) (Demo, error) {
	for _, p := range prisons {
		if p.Code != DemoPrisonCode {
			continue
		}
		demo.PrisonID = p.ID
		ps, err := s.store.Prisoners(ctx, p.ID)
		if err != nil {
			return Demo{}, fmt.Errorf("seed: %w", err)
		}
		for _, pr := range ps {
			if pr.Number == "A1234BC" {
				demo.PrisonerID = pr.ID
			}
		}
		ds, err := s.store.Devices(ctx, p.ID)
		if err != nil {
			return Demo{}, fmt.Errorf("seed: %w", err)
		}
		for _, d := range ds {
			if d.SecretHash == hashToken(DemoDeviceSecret) {
				demo.DeviceID = d.ID
			}
		}
	}
	return demo, nil
}

// seedDemo inserts the demo data.
func seedDemo(ctx context.Context, q Queries, demo *Demo, hashes []string, now time.Time) error {
	prisonID, err := q.CreatePrison(ctx, Prison{Code: DemoPrisonCode, Name: "HMP Demo", Timezone: DefaultTimezone})
	if err != nil {
		return err
	}
	demo.PrisonID = prisonID
	visits, err := q.CreateRoom(ctx, Room{PrisonID: prisonID, Name: "Visits room"})
	if err != nil {
		return err
	}
	demoRoom, err := q.CreateRoom(ctx, Room{PrisonID: prisonID, Name: "Demo room"})
	if err != nil {
		return err
	}
	all := []CallType{CallSocial, CallLegal, CallProbation}
	demoValidFrom := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for wd := time.Monday; wd <= time.Saturday; wd++ {
		if _, err := q.CreateSlotTemplate(ctx, SlotTemplate{RoomID: visits, Weekday: wd, StartMinute: 9 * 60,
			EndMinute: 17 * 60, SlotMinutes: 30, Capacity: 3, CallTypes: all, ValidFrom: demoValidFrom}); err != nil {
			return err
		}
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if _, err := q.CreateSlotTemplate(ctx, SlotTemplate{RoomID: demoRoom, Weekday: wd, StartMinute: 0,
			EndMinute: 24 * 60, SlotMinutes: 30, Capacity: 3, CallTypes: all, ValidFrom: demoValidFrom}); err != nil {
			return err
		}
	}
	prisonerID, err := q.CreatePrisoner(ctx, Prisoner{PrisonID: prisonID, Number: "A1234BC", Name: "Daniel Price",
		Status: PrisonerActive, Location: DemoPrisonerLocation})
	if err != nil {
		return err
	}
	demo.PrisonerID = prisonerID
	contacts := []struct {
		Contact
		relationship string
	}{
		{Contact{Name: "Sarah Price", Kind: ContactSocial, DateOfBirth: time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC)}, "partner"},
		{Contact{Name: "Tom Price", Kind: ContactSocial, DateOfBirth: time.Date(1962, 9, 3, 0, 0, 0, 0, time.UTC)}, "father"},
		{Contact{Name: "Ellie Price", Kind: ContactSocial, DateOfBirth: time.Date(2015, 6, 20, 0, 0, 0, 0, time.UTC)}, "daughter"},
		{Contact{Name: "Jack Price", Kind: ContactSocial, DateOfBirth: time.Date(2018, 2, 11, 0, 0, 0, 0, time.UTC)}, "son"},
		{Contact{Name: "Priya Shah (solicitor)", Kind: ContactLegal}, "solicitor"},
		{Contact{Name: "Mark Ellis (probation officer)", Kind: ContactProbation}, "probation officer"},
	}
	for _, c := range contacts {
		id, err := q.CreateContact(ctx, c.Contact)
		if err != nil {
			return err
		}
		c.ID = id
		if err := q.LinkContact(ctx, PrisonerContact{PrisonerID: prisonerID, Contact: c.Contact,
			Relationship: c.relationship, Approved: true}); err != nil {
			return err
		}
	}
	var adminID int64
	for i, st := range demoStaff() {
		id, err := q.CreateStaff(ctx, Staff{Username: st.Username, Name: st.Name, Role: st.Role,
			PrisonID: prisonID, PasswordHash: hashes[i]})
		if err != nil {
			return err
		}
		if st.Role == StaffAdmin {
			adminID = id
		}
		if st.Role == StaffProbation {
			if err := q.AddToCaseload(ctx, id, prisonerID); err != nil {
				return err
			}
		}
	}
	if err := seedAdminDemo(ctx, q, demo, visits, adminID, now); err != nil {
		return err
	}
	return appendAudit(ctx, q, now, systemActor, "seed", fmt.Sprintf("prison:%d", prisonID),
		map[string]any{"code": DemoPrisonCode})
}

// seedAdminDemo adds the set-up examples: the in-cell device in the demo
// prisoner's cell, the visits room closed on Christmas Day and Boxing Day
// of now's year and the next (the demo room stays open every day), and a
// second prisoner, B7654CD Marcus Reid in the next cell, with one approved
// social contact, whom Daniel must not share a slot with.
func seedAdminDemo(ctx context.Context, q Queries, demo *Demo, visitsRoom, adminID int64, now time.Time) error {
	marcus, err := q.CreatePrisoner(ctx, Prisoner{PrisonID: demo.PrisonID, Number: "B7654CD", Name: "Marcus Reid",
		Status: PrisonerActive, Location: "B-2-15"})
	if err != nil {
		return err
	}
	jo := Contact{Name: "Jo Reid", Kind: ContactSocial, DateOfBirth: time.Date(1971, 11, 2, 0, 0, 0, 0, time.UTC)}
	if jo.ID, err = q.CreateContact(ctx, jo); err != nil {
		return err
	}
	if err := q.LinkContact(ctx, PrisonerContact{PrisonerID: marcus, Contact: jo, Relationship: "mother", Approved: true}); err != nil {
		return err
	}
	if err := q.AddNonAssociation(ctx, NonAssociation{PrisonerID: demo.PrisonerID, OtherPrisonerID: marcus,
		Reason: "Demo: kept apart after an incident on B wing", CreatedBy: adminID, CreatedAt: now.UTC().Truncate(time.Second)}); err != nil {
		return err
	}
	demo.DeviceID, err = q.CreateDevice(ctx, Device{PrisonID: demo.PrisonID, Name: "Cell B-2-14 tablet",
		Location: DemoPrisonerLocation, Kind: DeviceInCell, Active: true, CreatedAt: now.UTC().Truncate(time.Second),
		SecretHash: hashToken(DemoDeviceSecret)})
	if err != nil {
		return err
	}
	for _, y := range []int{now.Year(), now.Year() + 1} {
		for _, day := range []int{25, 26} {
			if _, err := q.CreateExcludedDate(ctx, ExcludedDate{PrisonID: demo.PrisonID, RoomID: visitsRoom,
				Date: time.Date(y, time.December, day, 0, 0, 0, 0, time.UTC), Reason: "Bank holiday: the visits room is closed"}); err != nil {
				return err
			}
		}
	}
	return nil
}
