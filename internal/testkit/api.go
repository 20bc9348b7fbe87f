package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking"
)

// Do sends a JSON request with a bearer token and decodes a successful JSON
// answer into out (when non-nil). It returns the status code.
func (s *Server) Do(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	return DoJSON(t, s.URL, method, path, token, body, out)
}

// DoJSON is Do against any Gatehouse at baseURL (http://host:port).
func DoJSON(t testing.TB, baseURL, method, path, token string, body, out any) int {
	t.Helper()
	status, data := send(t, baseURL, method, path, token, body)
	if out != nil && len(data) > 0 && status < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return status
}

// Problem is the JSON problem of a refused request.
type Problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// DoProblem sends a JSON request as Do does and returns the status and,
// for an error, its problem (empty when the answer is not one).
func (s *Server) DoProblem(t testing.TB, method, path, token string, body any) (int, Problem) {
	t.Helper()
	status, data := send(t, s.URL, method, path, token, body)
	var p Problem
	if status >= 300 && len(data) > 0 {
		_ = json.Unmarshal(data, &p)
	}
	return status, p
}

// send sends a JSON request with a bearer token (each when given) and
// returns the status and the body.
func send(t testing.TB, baseURL, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// Login signs a demo staff member in and returns the bearer token.
func (s *Server) Login(t testing.TB, username, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	if st := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, &out); st != http.StatusOK || out.Token == "" {
		t.Fatalf("login %s: status %d", username, st)
	}
	return out.Token
}

// Slot is a bookable slot as the API lists it.
type Slot struct {
	ID        string    `json:"id"`
	RoomName  string    `json:"roomName"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	Capacity  int       `json:"capacity"`
	Remaining int       `json:"remaining"`
}

// DemoSlot returns the demo room's slot starting at start.
func (s *Server) DemoSlot(t testing.TB, token string, start time.Time) Slot {
	t.Helper()
	prison := s.demoPrison(t, token)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	day := start.In(london).Format(time.DateOnly)
	var slots []Slot
	path := fmt.Sprintf("/api/v1/prisons/%d/slots?from=%s&to=%s", prison, day, day)
	if st := s.Do(t, http.MethodGet, path, token, nil, &slots); st != http.StatusOK {
		t.Fatalf("list slots: status %d", st)
	}
	for _, sl := range slots {
		if sl.RoomName == "Demo room" && sl.StartsAt.Equal(start) {
			return sl
		}
	}
	t.Fatalf("no demo room slot at %s among %d slots", start, len(slots))
	return Slot{}
}

func (s *Server) demoPrison(t testing.TB, token string) int64 {
	t.Helper()
	var prisons []struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	}
	if st := s.Do(t, http.MethodGet, "/api/v1/prisons", token, nil, &prisons); st != http.StatusOK {
		t.Fatalf("list prisons: status %d", st)
	}
	for _, p := range prisons {
		if p.Code == "DEM" {
			return p.ID
		}
	}
	t.Fatal("demo prison not seeded")
	return 0
}

// BookDemoVisit books a social visit for the demo prisoner with the first
// visitors approved contacts, in the demo room slot starting at start, as
// the demo clerk. The clock must be before the slot's end.
func (s *Server) BookDemoVisit(t testing.TB, start time.Time, visitors int) booking.Booking {
	t.Helper()
	return s.BookDemo(t, start, booking.CallSocial, visitors)
}

// BookDemo books a call of type ct with n contacts of the matching kind.
func (s *Server) BookDemo(t testing.TB, start time.Time, ct booking.CallType, n int) booking.Booking {
	t.Helper()
	token := s.Login(t, "clerk", "demo-clerk-pass")
	slot := s.DemoSlot(t, token, start)
	prison := s.demoPrison(t, token)
	var prisoners []struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	if st := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/prisons/%d/prisoners", prison), token, nil, &prisoners); st != http.StatusOK || len(prisoners) == 0 {
		t.Fatalf("list prisoners: status %d, %d found", st, len(prisoners))
	}
	var prisonerID int64
	for _, p := range prisoners {
		if p.Number == "A1234BC" {
			prisonerID = p.ID
		}
	}
	var contacts []struct {
		ID          int64  `json:"id"`
		Kind        string `json:"kind"`
		Approved    bool   `json:"approved"`
		Banned      bool   `json:"banned"`
		DateOfBirth string `json:"dateOfBirth"`
	}
	if st := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/prisoners/%d/contacts", prisonerID), token, nil, &contacts); st != http.StatusOK {
		t.Fatalf("list contacts: status %d", st)
	}
	eligible := contacts[:0]
	for _, c := range contacts {
		if c.Kind == string(ct) && c.Approved && !c.Banned {
			eligible = append(eligible, c)
		}
	}
	// Oldest first, so that the lead visitor is an adult.
	sort.SliceStable(eligible, func(i, j int) bool { return eligible[i].DateOfBirth < eligible[j].DateOfBirth })
	var ids []int64
	for _, c := range eligible {
		if len(ids) < n {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) < n {
		t.Fatalf("demo prisoner has %d approved %s contacts, need %d", len(ids), ct, n)
	}
	var b booking.Booking
	body := map[string]any{"prisonerId": prisonerID, "slotId": slot.ID, "callType": ct, "contactIds": ids}
	if st := s.Do(t, http.MethodPost, "/api/v1/bookings", token, body, &b); st != http.StatusCreated {
		t.Fatalf("create booking: status %d", st)
	}
	if len(b.Participants) != n+1 {
		t.Fatalf("booking has %d participants, want %d", len(b.Participants), n+1)
	}
	return b
}

// NextSlotStart returns the start of a demo room slot (on the half hour)
// at least a day after now, so that a booking can be made before it.
func NextSlotStart(now time.Time) time.Time {
	return now.Add(24 * time.Hour).Truncate(30 * time.Minute).Add(30 * time.Minute).UTC()
}
