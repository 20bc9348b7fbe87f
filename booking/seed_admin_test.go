package booking

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestSeedAdminDemo: the demo has Daniel in cell B-2-14 on the demo
// probation officer's caseload, an in-cell device there that may join his
// calls, and the visits room closed on Christmas and Boxing Day; a second
// Seed finds the device again.
func TestSeedAdminDemo(t *testing.T) {
	t.Parallel()
	e := newFreshEnv(t, defaultNow())
	if e.demo.DeviceID == 0 {
		t.Fatalf("demo %+v has no device", e.demo)
	}
	again, err := Seed(e.ctx, e.svc)
	if err != nil || again.DeviceID != e.demo.DeviceID {
		t.Fatalf("second seed %+v %v", again, err)
	}
	daniel, err := e.store.Prisoner(e.ctx, e.demo.PrisonerID)
	if err != nil || daniel.Location != DemoPrisonerLocation {
		t.Fatalf("Daniel %+v %v", daniel, err)
	}
	officer := e.staff("probation")
	if list, err := e.store.Caseload(e.ctx, officer.ID); err != nil || len(list) != 1 || list[0].ID != daniel.ID {
		t.Fatalf("caseload %+v %v", list, err)
	}

	// The excluded dates: the visits room, 25 and 26 December of the
	// seeding year and the next.
	exclusions, err := e.store.ExcludedDates(e.ctx, e.demo.PrisonID)
	if err != nil || len(exclusions) != 4 {
		t.Fatalf("exclusions %+v %v", exclusions, err)
	}
	visits, err := e.store.Rooms(e.ctx, e.demo.PrisonID)
	if err != nil {
		t.Fatal(err)
	}
	year := exclusions[0].Date.Year()
	for i, x := range exclusions {
		want := time.Date(year+i/2, time.December, 25+i%2, 0, 0, 0, 0, time.UTC)
		if !x.Date.Equal(want) || x.RoomID != visits[1].ID || x.TemplateID != 0 || x.Reason == "" {
			t.Errorf("exclusion %d %+v, want the visits room (%d) on %s", i, x, visits[1].ID, want.Format(dateLayout))
		}
	}

	// The device: its demo secret authenticates it, and it may join
	// Daniel's calls, not those of a prisoner elsewhere.
	d, err := e.svc.AuthenticateDevice(e.ctx, DemoDeviceSecret)
	if err != nil || d.ID != e.demo.DeviceID || d.Location != DemoPrisonerLocation || d.Kind != DeviceInCell || !d.Active {
		t.Fatalf("demo device %+v %v", d, err)
	}
	clerk := e.login("clerk")
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: daniel.ID,
		SlotID: e.slot("2026-11-24", "09:00", "Visits room").ID, CallType: CallSocial,
		ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).decode(t, 201, &b)
	if ok, err := e.svc.DeviceMayJoin(e.ctx, d.ID, b.ID); err != nil || !ok {
		t.Fatalf("the demo device may not join Daniel's call: %v %v", ok, err)
	}
	other, contact := e.addPrisoner(e.demo.PrisonID, "D4444DD", ContactSocial)
	var ob Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: other,
		SlotID: e.slot("2026-11-24", "09:00", "Visits room").ID, CallType: CallSocial,
		ContactIDs: []int64{contact}}).decode(t, 201, &ob)
	if ok, err := e.svc.DeviceMayJoin(e.ctx, d.ID, ob.ID); err != nil || ok {
		t.Fatalf("the demo device may join another prisoner's call: %v %v", ok, err)
	}
}

// TestAuthenticateDevice: a device's one-time secret authenticates it
// until it is disabled; anything else does not.
func TestAuthenticateDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	admin, _ := e.session(e.staff("admin"))
	var reg registeredDevice
	e.as(admin, http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/devices", e.demo.PrisonID),
		deviceRequest{Name: "Wing B kiosk", Location: "B", Kind: DeviceKiosk}).decode(t, 201, &reg)
	if len(reg.Secret) < 43 || reg.Device.CreatedAt.IsZero() {
		t.Fatalf("registered %+v", reg)
	}
	if stored, err := e.store.Device(e.ctx, reg.Device.ID); err != nil || stored.SecretHash != hashToken(reg.Secret) {
		t.Fatalf("stored device %+v %v: only the secret's hash is kept", stored, err)
	}
	if d, err := e.svc.AuthenticateDevice(e.ctx, reg.Secret); err != nil || d.ID != reg.Device.ID {
		t.Fatalf("authenticate %+v %v", d, err)
	}
	for _, bad := range []string{"", "nope", reg.Secret + "x", " " + reg.Secret, string(make([]byte, 200))} {
		if _, err := e.svc.AuthenticateDevice(e.ctx, bad); err == nil {
			t.Errorf("secret %q authenticated", bad)
		}
	}
	// The kiosk on wing B may join Daniel's call (B-2-14) until disabled.
	clerk, _ := e.session(e.staff("clerk"))
	var b Booking
	e.as(clerk, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID,
		SlotID: e.slot("2026-11-24", "10:00", "Visits room").ID, CallType: CallLegal,
		ContactIDs: []int64{e.contactIDs()["Priya Shah (solicitor)"]}}).decode(t, 201, &b)
	if ok, err := e.svc.DeviceMayJoin(e.ctx, reg.Device.ID, b.ID); err != nil || !ok {
		t.Fatalf("the wing kiosk may not join: %v %v", ok, err)
	}
	e.as(admin, http.MethodPost, fmt.Sprintf("/api/v1/devices/%d/disable", reg.Device.ID), nil).decode(t, 200, nil)
	if _, err := e.svc.AuthenticateDevice(e.ctx, reg.Secret); err == nil {
		t.Error("a disabled device authenticated")
	}
	if ok, err := e.svc.DeviceMayJoin(e.ctx, reg.Device.ID, b.ID); err != nil || ok {
		t.Errorf("a disabled device may join: %v %v", ok, err)
	}
}

// TestSeedNonAssociation: the demo's second prisoner may not share a slot
// with Daniel.
func TestSeedNonAssociation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	ps, err := e.store.Prisoners(e.ctx, e.demo.PrisonID)
	if err != nil || len(ps) != 2 || ps[1].Number != "B7654CD" || ps[1].Location != "B-2-15" {
		t.Fatalf("prisoners %+v %v", ps, err)
	}
	marcus := ps[1]
	pairs, err := e.store.NonAssociations(e.ctx, e.demo.PrisonerID)
	if err != nil || len(pairs) != 1 || pairs[0].OtherPrisonerID != marcus.ID {
		t.Fatalf("non-associations %+v %v", pairs, err)
	}
	contacts, err := e.store.PrisonerContacts(e.ctx, marcus.ID)
	if err != nil || len(contacts) != 1 || !contacts[0].Approved {
		t.Fatalf("Marcus's contacts %+v %v", contacts, err)
	}
	clerk := e.login("clerk")
	sl := e.slot("2026-11-24", "09:00", "Visits room")
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID,
		CallType: CallSocial, ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).decode(t, 201, nil)
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: marcus.ID, SlotID: sl.ID,
		CallType: CallSocial, ContactIDs: []int64{contacts[0].ID}}).wantProblem(t, http.StatusConflict, string(ErrNonAssociation))
}
