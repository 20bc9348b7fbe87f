package booking

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestConcurrentCreateNeverOverbooks fires 50 simultaneous create requests,
// for 50 different prisoners, at one slot of capacity 3: exactly 3 are
// confirmed and 47 are refused as slot_full, on each store.
func TestConcurrentCreateNeverOverbooks(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			testConcurrentCreateNeverOverbooks(t, k.newEnv(t, defaultNow()))
		})
	}
}

func testConcurrentCreateNeverOverbooks(t *testing.T, e *env) {
	clerk := e.login("clerk")
	sl := e.slot("2026-11-23", "09:00", "Visits room")
	if sl.Capacity != 3 {
		t.Fatalf("capacity %d, want 3", sl.Capacity)
	}

	const n = 50
	reqs := make([]CreateRequest, n)
	for i := range reqs {
		pid, cid := e.addPrisoner(e.demo.PrisonID, fmt.Sprintf("C%04dXX", i), ContactSocial)
		reqs[i] = CreateRequest{PrisonerID: pid, SlotID: sl.ID, CallType: CallSocial, ContactIDs: []int64{cid}}
	}
	before := e.counts()

	results := make([]response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = e.send(http.MethodPost, "/api/v1/bookings", reqs[i], bearer(clerk.Token))
		}()
	}
	close(start)
	wg.Wait()

	created, full := 0, 0
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			if p := r.problem(t); p.Code != string(ErrSlotFull) {
				t.Errorf("409 with code %q, want slot_full", p.Code)
			}
			full++
		default:
			t.Errorf("unexpected status %d: %s", r.status, r.body)
		}
	}
	if created != 3 || full != n-3 {
		t.Fatalf("created %d, slot_full %d; want 3 and %d", created, full, n-3)
	}
	active, err := e.store.ActiveInSlot(e.ctx, sl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if active != 3 {
		t.Fatalf("store holds %d active bookings in the slot, want 3", active)
	}
	after := e.counts()
	if after.bookings-before.bookings != 3 || after.participants-before.participants != 6 ||
		after.audit-before.audit != 3 {
		t.Fatalf("rows changed by %+v -> %+v, want exactly 3 bookings, 6 participants, 3 audit entries", before, after)
	}
	if _, err := VerifyAudit(e.ctx, e.store); err != nil {
		t.Fatal(err)
	}

	var m dto.Metric
	if err := e.metrics.BookingsCreated.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 3 {
		t.Errorf("bookings created metric %v, want 3", got)
	}
	if err := e.metrics.BookingsRefused.WithLabelValues(string(ErrSlotFull)).Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != n-3 {
		t.Errorf("slot_full refusals metric %v, want %d", got, n-3)
	}

	// The slot now lists no remaining capacity and is not bookable.
	if got := e.slot("2026-11-23", "09:00", "Visits room"); got.Remaining != 0 || got.Bookable {
		t.Errorf("full slot lists remaining %d bookable %v", got.Remaining, got.Bookable)
	}
}
