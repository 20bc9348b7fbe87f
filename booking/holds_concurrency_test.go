package booking

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentHoldsAndBookingsNeverOversell fires, at once, at one slot
// of capacity 3: holds followed by bookings that consume them, plain
// bookings, and bookings with a capacity override, each for a different
// prisoner, on each store. Every hold keeps its place for its booking;
// holds and bookings together never take more than the 3 places plus one
// per booking that overrode a full slot; no request fails other than by a
// full slot.
func TestConcurrentHoldsAndBookingsNeverOversell(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			testConcurrentHoldsAndBookings(t, k.newEnv(t, defaultNow()))
		})
	}
}

func testConcurrentHoldsAndBookings(t *testing.T, e *env) {
	const (
		n         = 45
		capacity  = 3
		overrides = 3
	)
	clerk := e.token("clerk")
	tpl := e.addRoom("Race room", time.Monday, 10*60, 11*60, 30, capacity, CallSocial)
	slot := slotID(tpl, "2026-11-30", "10:00")
	reqs := make([]CreateRequest, n)
	for i := range reqs {
		reqs[i] = e.otherPrisoner(fmt.Sprintf("Q%04dQQ", i), slot)
	}

	type outcome struct {
		held, booked bool
		status       int
		code         string
	}
	results := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() {
			<-start
			req := reqs[i]
			switch {
			case i < overrides:
				req.Override = &Override{Capacity: true, Reason: "compassionate"}
			case i%3 == 0:
				res := e.as(clerk, http.MethodPost, "/api/v1/holds", HoldRequest{SlotID: slot, PrisonerID: req.PrisonerID})
				if res.status != http.StatusCreated {
					results[i] = outcome{status: res.status, code: res.problem(t).Code}
					return
				}
				var h Hold
				res.decode(t, http.StatusCreated, &h)
				results[i].held = true
				req.HoldID = h.ID
			}
			res := e.as(clerk, http.MethodPost, "/api/v1/bookings", req)
			results[i].status = res.status
			if res.status == http.StatusCreated {
				results[i].booked = true
			} else {
				results[i].code = res.problem(t).Code
			}
		})
	}
	close(start)
	wg.Wait()

	booked, held := 0, 0
	for i, r := range results {
		switch {
		case r.booked:
			booked++
		case r.status == http.StatusConflict && r.code == string(ErrSlotFull):
		default:
			t.Errorf("request %d: %d %s", i, r.status, r.code)
		}
		if r.held {
			held++
			if !r.booked {
				t.Errorf("request %d held a place but could not book it: %d %s", i, r.status, r.code)
			}
		}
		if i < overrides && !r.booked {
			t.Errorf("override %d was refused: %d %s", i, r.status, r.code)
		}
	}
	list := e.bookingsOn("2026-11-30")
	active, withOverride := 0, 0
	for _, b := range list {
		if b.SlotID != slot || !b.Status.Active() {
			continue
		}
		active++
		if b.Override != nil && b.Override.Capacity {
			withOverride++
		}
	}
	if active != booked || withOverride > overrides {
		t.Fatalf("%d active bookings (%d over capacity by override), but %d requests booked", active, withOverride, booked)
	}
	if active > capacity+withOverride {
		t.Fatalf("%d active bookings, %d of them over capacity by override, in a slot of %d places", active, withOverride, capacity)
	}
	if active < capacity {
		t.Fatalf("only %d of %d places were booked", active, capacity)
	}
	if counts, err := e.store.HeldCounts(e.ctx, e.demo.PrisonID, e.clock.Now()); err != nil || counts[slot] != 0 {
		t.Fatalf("holds left: %v %v", counts, err)
	}
	e.checkAuditChain()
	t.Logf("%d booked (%d by override, %d through a hold)", active, withOverride, held)
}
