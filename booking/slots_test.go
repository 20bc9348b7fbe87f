package booking

import (
	"net/http"
	"testing"
	"time"
)

// TestSlotsAcrossDST: a 09:00 Europe/London slot is 09:00 UTC in winter and
// 08:00 UTC in summer, on both sides of both 2026 change days.
func TestSlotsAcrossDST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	cases := []struct {
		date, room string
		want       time.Time
	}{
		{"2026-03-28", "Visits room", time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC)}, // Saturday, GMT
		{"2026-03-29", "Demo room", time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC)},   // change day, BST from 01:00 UTC
		{"2026-03-30", "Visits room", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)}, // Monday, BST
		{"2026-10-24", "Visits room", time.Date(2026, 10, 24, 8, 0, 0, 0, time.UTC)},
		{"2026-10-25", "Demo room", time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC)}, // change day, GMT from 01:00 UTC
		{"2026-10-26", "Visits room", time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		sl := e.slot(c.date, "09:00", c.room)
		if !sl.StartsAt.Equal(c.want) || !sl.EndsAt.Equal(c.want.Add(30*time.Minute)) {
			t.Errorf("%s %s 09:00 local: %v-%v, want %v", c.date, c.room, sl.StartsAt, sl.EndsAt, c.want)
		}
	}

	// Through the API, on the change days: the round-the-clock room has 46
	// slots when an hour is skipped and never overlaps itself.
	clerk := e.login("clerk")
	for _, c := range []struct {
		date string
		n    int
	}{{"2026-03-29", 46}, {"2026-10-25", 48}, {"2026-11-02", 48}} {
		var slots []Slot
		e.as(clerk.Token, http.MethodGet, "/api/v1/prisons/"+itoa(e.demo.PrisonID)+"/slots?from="+c.date+"&to="+c.date, nil).
			decode(t, http.StatusOK, &slots)
		var demo []Slot
		for _, s := range slots {
			if s.RoomName == "Demo room" {
				demo = append(demo, s)
			}
		}
		if len(demo) != c.n {
			t.Errorf("%s: %d demo-room slots, want %d", c.date, len(demo), c.n)
		}
		for i := 1; i < len(demo); i++ {
			if demo[i].StartsAt.Before(demo[i-1].EndsAt) {
				t.Errorf("%s: slot %s overlaps %s", c.date, demo[i].ID, demo[i-1].ID)
			}
		}
	}

	// Booking the summer 09:00 slot gives a 08:00 UTC booking.
	sl := e.slot("2026-03-30", "09:00", "Visits room")
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID,
		CallType: CallSocial, ContactIDs: []int64{e.contactIDs()["Sarah Price"]}}).decode(t, http.StatusCreated, &b)
	if !b.StartsAt.Equal(time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("booking starts %v", b.StartsAt)
	}
}

// TestSlotsListing checks the slot JSON, remaining capacity and the range
// limits.
func TestSlotsListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	base := "/api/v1/prisons/" + itoa(e.demo.PrisonID) + "/slots"

	var slots []map[string]any
	e.as(clerk.Token, http.MethodGet, base+"?from=2026-11-23&to=2026-11-23", nil).decode(t, 200, &slots)
	// Monday: 16 visits-room slots and 48 demo-room slots.
	if len(slots) != 16+48 {
		t.Fatalf("%d slots", len(slots))
	}
	for _, k := range []string{"id", "prisonId", "roomId", "roomName", "startsAt", "endsAt", "capacity", "remaining", "callTypes"} {
		if _, ok := slots[0][k]; !ok {
			t.Errorf("slot JSON lacks %q: %v", k, slots[0])
		}
	}
	if s := slots[0]["startsAt"].(string); s != "2026-11-23T00:00:00Z" {
		t.Errorf("first slot starts %s", s)
	}
	// 31 days is the limit; the default is a week from today.
	e.as(clerk.Token, http.MethodGet, base+"?from=2026-11-23&to=2026-12-23", nil).decode(t, 200, nil)
	for _, q := range []string{"?from=2026-11-23&to=2026-12-24", "?from=2026-11-23&to=2026-11-22",
		"?from=23/11/2026", "?from=2026-11-23&to=2026-11-31", "?from=2026-1-1"} {
		e.as(clerk.Token, http.MethodGet, base+q, nil).wantProblem(t, 400, string(ErrValidation))
	}
	e.as(clerk.Token, http.MethodGet, base, nil).decode(t, 200, &slots)
	if len(slots) != 6*16+7*48 {
		t.Errorf("default range: %d slots", len(slots))
	}

	// Past slots are listed but not bookable; remaining drops as booked.
	sl := e.slot("2026-11-23", "07:00", "Demo room")
	if sl.Bookable {
		t.Error("a past slot is bookable")
	}
	sl = e.slot("2026-11-23", "12:00", "Demo room")
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID,
		CallType: CallLegal, ContactIDs: []int64{e.contactIDs()["Priya Shah (solicitor)"]}}).decode(t, 201, nil)
	if got := e.slot("2026-11-23", "12:00", "Demo room"); got.Remaining != 2 || !got.Bookable {
		t.Errorf("after one booking: %+v", got)
	}
}

// TestParseSlotID checks the slot id syntax strictly.
func TestParseSlotID(t *testing.T) {
	t.Parallel()
	good := map[string]slotKey{
		"12-20261123-0930": {12, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), 9*60 + 30},
		"1-20260329-0000":  {1, time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), 0},
		"7-20261025-2330":  {7, time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 23*60 + 30},
	}
	for s, want := range good {
		k, err := parseSlotID(s)
		if err != nil || k != want || k.String() != s {
			t.Errorf("parseSlotID(%q) = %+v, %v; want %+v", s, k, err, want)
		}
	}
	for _, s := range []string{"", "12", "12-20261123", "12-20261123-930", "012-20261123-0930", "0-20261123-0930",
		"-1-20261123-0930", "+1-20261123-0930", "12-2026112-0930", "12-20261323-0930", "12-20260230-0930",
		"12-20261123-2400", "12-20261123-0960", "12-20261123-0930-1", "12_20261123_0930", " 12-20261123-0930",
		"12-19991231-0930", "12-２0261123-0930", "99999999999999999999-20261123-0930", "12-20261123-09３0"} {
		if k, err := parseSlotID(s); err == nil {
			t.Errorf("parseSlotID(%q) accepted: %+v", s, k)
		}
	}
}
