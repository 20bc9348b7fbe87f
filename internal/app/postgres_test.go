package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/booking/storetest"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// node is one running Gatehouse process of the test.
type node struct {
	app *app.App
	url string
}

// startNode runs the whole app on the PostgreSQL database at dbURL, with a
// data directory that is never created (the secret is given), until the
// test ends.
func startNode(t *testing.T, dbURL, dataDir string, clk clock.Clock) node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.DataDir = dataDir
	cfg.Secret = "postgres-test-join-token-secret-0123456789"
	cfg.ICELoopbackOnly = true
	cfg.Clock = clk
	cfg.PublicURL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), ln)
	if err != nil {
		cancel()
		t.Fatalf("start app on PostgreSQL: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("app did not stop")
		}
	})
	return node{app: a, url: cfg.PublicURL}
}

// call sends a JSON request and decodes a successful JSON answer into out.
func (n node) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	return testkit.DoJSON(t, n.url, method, path, token, body, out)
}

func (n node) login(t *testing.T, username string) string {
	t.Helper()
	pass := ""
	for _, l := range n.app.Demo().Logins {
		if l.Username == username {
			pass = l.Password
		}
	}
	var out struct {
		Token string `json:"token"`
	}
	if st := n.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": username, "password": pass}, &out); st != http.StatusOK {
		t.Fatalf("login %s: %d", username, st)
	}
	return out.Token
}

// TestAppOnPostgres runs two Gatehouse processes on one PostgreSQL
// database, as stateless booking API nodes: the first migrates and seeds
// it, both answer /readyz, a booking made through one is read through the
// other, and concurrent bookings through both never overbook a slot or
// double-book a prisoner.
func TestAppOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := storetest.PostgresURL(t)
	dataDir := filepath.Join(t.TempDir(), "not-needed")
	// Monday 2026-11-23 08:00 in London: Tuesday's slots are bookable.
	clk := clock.NewOffset(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	a := startNode(t, dbURL, dataDir, clk)
	b := startNode(t, dbURL, dataDir, clk)
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir created although the store is PostgreSQL and the secret is set: %v", err)
	}
	if !a.app.Demo().Seeded || b.app.Demo().Seeded || a.app.Demo().PrisonID != b.app.Demo().PrisonID {
		t.Fatalf("seeding: first %+v, second %+v", a.app.Demo(), b.app.Demo())
	}
	for _, n := range []node{a, b} {
		if st := n.call(t, http.MethodGet, "/readyz", "", nil, nil); st != http.StatusOK {
			t.Fatalf("readyz %d", st)
		}
	}

	tokA, tokB := a.login(t, "clerk"), b.login(t, "clerk")
	prison := a.app.Demo().PrisonID
	var slots []booking.Slot
	if st := a.call(t, http.MethodGet, fmt.Sprintf("/api/v1/prisons/%d/slots?from=2026-11-24&to=2026-11-24", prison),
		tokA, nil, &slots); st != http.StatusOK {
		t.Fatalf("slots: %d", st)
	}
	slotAt := map[string]booking.Slot{}
	for _, sl := range slots {
		slotAt[sl.RoomName+" "+sl.StartsAt.Format("15:04")] = sl
	}
	visits, demo := slotAt["Visits room 09:00"], slotAt["Demo room 09:00"]
	if visits.ID == "" || demo.ID == "" || visits.Capacity != 3 {
		t.Fatalf("slots at 09:00: %+v %+v", visits, demo)
	}
	var contacts []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if st := a.call(t, http.MethodGet, fmt.Sprintf("/api/v1/prisoners/%d/contacts", a.app.Demo().PrisonerID),
		tokA, nil, &contacts); st != http.StatusOK {
		t.Fatalf("contacts: %d", st)
	}
	sarah := int64(0)
	for _, c := range contacts {
		if c.Name == "Sarah Price" {
			sarah = c.ID
		}
	}

	// One booking through each node, for the demo prisoner, at the same
	// time in two rooms: exactly one is confirmed.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[int]int{}
		created booking.Booking
	)
	for i := range 10 {
		n, tok, sl := a, tokA, visits
		if i%2 == 1 {
			n, tok, sl = b, tokB, demo
		}
		wg.Go(func() {
			var bk booking.Booking
			st := n.call(t, http.MethodPost, "/api/v1/bookings", tok, booking.CreateRequest{
				PrisonerID: a.app.Demo().PrisonerID, SlotID: sl.ID, CallType: booking.CallSocial,
				ContactIDs: []int64{sarah}}, &bk)
			mu.Lock()
			defer mu.Unlock()
			results[st]++
			if st == http.StatusCreated {
				created = bk
			}
		})
	}
	wg.Wait()
	if results[http.StatusCreated] != 1 || results[http.StatusConflict] != 9 {
		t.Fatalf("one prisoner, two rooms, two nodes: statuses %v, want one 201 and nine 409", results)
	}
	var got booking.Booking
	if st := b.call(t, http.MethodGet, fmt.Sprintf("/api/v1/bookings/%d", created.ID), tokB, nil, &got); st != http.StatusOK ||
		got.Reference != created.Reference || got.Status != booking.StatusBooked {
		t.Fatalf("booking %d read through the other node: %d %+v", created.ID, st, got)
	}

	// Twelve more prisoners into the Visits room at 09:00 (where the demo
	// prisoner may already hold a place) through both nodes: the slot ends
	// up full, never over.
	store, err := booking.OpenPostgres(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reqs := make([]booking.CreateRequest, 12)
	for i := range reqs {
		ctx := context.Background()
		pid, err := store.CreatePrisoner(ctx, booking.Prisoner{PrisonID: prison, Number: fmt.Sprintf("P%04dPG", i), Name: "Prisoner"})
		if err != nil {
			t.Fatal(err)
		}
		cid, err := store.CreateContact(ctx, booking.Contact{Name: "Visitor", Kind: booking.ContactSocial})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.LinkContact(ctx, booking.PrisonerContact{PrisonerID: pid, Contact: booking.Contact{ID: cid},
			Relationship: "friend", Approved: true}); err != nil {
			t.Fatal(err)
		}
		reqs[i] = booking.CreateRequest{PrisonerID: pid, SlotID: visits.ID, CallType: booking.CallSocial, ContactIDs: []int64{cid}}
	}
	clear(results)
	for i, req := range reqs {
		n, tok := a, tokA
		if i%2 == 1 {
			n, tok = b, tokB
		}
		wg.Go(func() {
			st := n.call(t, http.MethodPost, "/api/v1/bookings", tok, req, nil)
			mu.Lock()
			defer mu.Unlock()
			results[st]++
		})
	}
	wg.Wait()
	active, err := store.ActiveInSlot(context.Background(), visits.ID)
	if err != nil {
		t.Fatal(err)
	}
	if active != 3 || results[http.StatusCreated] != 3-visitsHeld(created, visits) {
		t.Fatalf("slot holds %d active bookings after statuses %v; want 3", active, results)
	}
	if _, err := booking.VerifyAudit(context.Background(), store); err != nil {
		t.Fatal(err)
	}
}

// visitsHeld is 1 when the first booking took a place in the Visits room.
func visitsHeld(b booking.Booking, visits booking.Slot) int {
	if b.SlotID == visits.ID {
		return 1
	}
	return 0
}
