package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is a refusal from the booking API (an RFC 9457 problem).
type APIError struct {
	Method, Path string
	Status       int
	Code         string
	Detail       string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Detail)
}

// apiClient calls the booking API with a staff bearer token.
type apiClient struct {
	base  string // http://host:port
	token string
	http  *http.Client
}

// maxAPIBody bounds the answers read from the API.
const maxAPIBody = 4 << 20

func newAPIClient(base string) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a JSON request and decodes a 2xx answer into out (when not nil).
func (a *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(data, &p)
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Code: p.Code, Detail: p.Detail}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func (a *apiClient) login(ctx context.Context, user, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": password}, &out); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if out.Token == "" {
		return fmt.Errorf("%w: login answered no token", ErrSetup)
	}
	a.token = out.Token
	return nil
}

// bookedParticipant is one participant of a booked call with their join
// token.
type bookedParticipant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Token string `json:"-"`
}

// bookedCall is one booked call.
type bookedCall struct {
	ID           int64
	Reference    string
	Participants []bookedParticipant
}

// booker creates what the calls need: a prison of its own (so that nothing
// of an existing one changes and its rules can be relaxed), rooms with a
// slot running now, and one prisoner per call with approved contacts,
// because a prisoner is in one call at a time.
type booker struct {
	api      *apiClient
	prisonID int64
	slots    []string // slot ids in progress, one per room
	capacity int      // calls per slot
}

// slotCapacity is the most concurrent calls a slot template may take.
const slotCapacity = 100

// zoneNearNoon returns a fixed-offset IANA zone in which now is close to
// noon, so that a slot running now never crosses local midnight.
func zoneNearNoon(now time.Time) string {
	o := 12 - now.UTC().Hour() // -11 .. 12
	switch {
	case o > 0:
		return fmt.Sprintf("Etc/GMT-%d", o) // POSIX sign: Etc/GMT-3 is UTC+3
	case o < 0:
		return fmt.Sprintf("Etc/GMT+%d", -o)
	}
	return "UTC"
}

// randomString returns n characters from alphabet.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

const (
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
)

// newBooker sets up a prison for calls of up to maxContacts visitors
// that last at least length, with room for calls concurrent calls.
func newBooker(ctx context.Context, api *apiClient, calls, maxContacts int, length time.Duration) (*booker, error) {
	now := time.Now()
	zone := zoneNearNoon(now)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("%w: time zone %s: %w", ErrSetup, zone, err)
	}
	var prison struct {
		ID int64 `json:"id"`
	}
	code := "LT" + randomString(upper+digits, 6)
	err = api.do(ctx, http.MethodPost, "/api/v1/prisons", map[string]string{
		"code": code, "name": "Load test " + now.UTC().Format(time.RFC3339), "timezone": zone}, &prison)
	if err != nil {
		return nil, fmt.Errorf("%w: create prison (the user must be an administrator): %w", ErrSetup, err)
	}
	b := &booker{api: api, prisonID: prison.ID, capacity: min(calls, slotCapacity)}

	// Relax the rules the load needs relaxed: many visitors, no monthly
	// allowance to run out, a slot in progress bookable to its end.
	settingsPath := fmt.Sprintf("/api/v1/prisons/%d/settings", prison.ID)
	settings := map[string]any{}
	if err := api.do(ctx, http.MethodGet, settingsPath, nil, &settings); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	settings["maxVisitors"] = max(maxContacts, 1)
	settings["maxAdults"] = max(maxContacts, 1)
	settings["socialAllowanceMinutes"] = 44640
	settings["staffMinMinutesLeft"] = 0
	if err := api.do(ctx, http.MethodPut, settingsPath, settings, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}

	// One slot started a few minutes ago, long enough for the run.
	local := now.In(loc)
	start := local.Add(-time.Minute).Truncate(5 * time.Minute)
	minutes := int((length+now.Sub(start))/time.Minute) + 5
	minutes = min(max((minutes+4)/5*5, 30), 480)
	end := start.Add(time.Duration(minutes) * time.Minute)
	rooms := (calls + slotCapacity - 1) / slotCapacity
	roomIDs := map[int64]bool{}
	for i := range rooms {
		var room struct {
			ID int64 `json:"id"`
		}
		if err := api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/rooms", prison.ID),
			map[string]string{"name": fmt.Sprintf("Load test room %d", i+1)}, &room); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		roomIDs[room.ID] = true
		tmpl := map[string]any{
			"roomId": room.ID, "weekday": strings.ToLower(local.Weekday().String()),
			"start": start.Format("15:04"), "end": end.Format("15:04"), "slotMinutes": minutes,
			"capacity": b.capacity, "callTypes": []string{"social"}, "repeatWeeks": 1,
			"validFrom": local.Format(time.DateOnly),
		}
		if err := api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/slot-templates", prison.ID), tmpl, nil); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	var slots []struct {
		ID       string    `json:"id"`
		RoomID   int64     `json:"roomId"`
		StartsAt time.Time `json:"startsAt"`
		EndsAt   time.Time `json:"endsAt"`
		Bookable bool      `json:"bookable"`
	}
	day := local.Format(time.DateOnly)
	q := url.Values{"from": {day}, "to": {day}}
	if err := api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/prisons/%d/slots?%s", prison.ID, q.Encode()), nil, &slots); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	for _, s := range slots {
		if roomIDs[s.RoomID] && s.Bookable && !s.StartsAt.After(now) && s.EndsAt.After(now) {
			b.slots = append(b.slots, s.ID)
		}
	}
	if len(b.slots) != rooms {
		return nil, fmt.Errorf("%w: found %d slots in progress for %d rooms", ErrSetup, len(b.slots), rooms)
	}
	return b, nil
}

// book creates a prisoner with contacts approved on their list and books a
// social call for them with every contact, in a slot running now: call
// number index goes to room index/capacity. It is safe for concurrent use.
func (b *booker) book(ctx context.Context, index int, label string, contacts int) (bookedCall, error) {
	var prisoner struct {
		ID int64 `json:"id"`
	}
	var err error
	for range 10 { // a random prison number may be taken
		number := randomString(upper, 1) + randomString(digits, 4) + randomString(upper, 2)
		err = b.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/prisons/%d/prisoners", b.prisonID),
			map[string]string{"number": number, "name": "Prisoner " + label}, &prisoner)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
			break
		}
	}
	if err != nil {
		return bookedCall{}, err
	}
	ids := make([]int64, 0, contacts)
	for i := range contacts {
		var c struct {
			ID int64 `json:"id"`
		}
		if err := b.api.do(ctx, http.MethodPost, "/api/v1/contacts",
			map[string]string{"name": fmt.Sprintf("Visitor %s.%d", label, i+1), "kind": "social"}, &c); err != nil {
			return bookedCall{}, err
		}
		if err := b.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/prisoners/%d/contacts", prisoner.ID),
			map[string]any{"contactId": c.ID, "relationship": "friend", "approved": true, "banned": false}, nil); err != nil {
			return bookedCall{}, err
		}
		ids = append(ids, c.ID)
	}
	var bk struct {
		ID           int64  `json:"id"`
		Reference    string `json:"reference"`
		Participants []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Role    string `json:"role"`
			JoinURL string `json:"joinUrl"`
		} `json:"participants"`
	}
	slot := b.slots[(index/b.capacity)%len(b.slots)]
	if err := b.api.do(ctx, http.MethodPost, "/api/v1/bookings", map[string]any{
		"prisonerId": prisoner.ID, "slotId": slot, "callType": "social", "contactIds": ids}, &bk); err != nil {
		return bookedCall{}, err
	}
	call := bookedCall{ID: bk.ID, Reference: bk.Reference}
	for _, p := range bk.Participants {
		tok, err := tokenFromJoinURL(p.JoinURL)
		if err != nil {
			return bookedCall{}, err
		}
		call.Participants = append(call.Participants, bookedParticipant{ID: p.ID, Name: p.Name, Role: p.Role, Token: tok})
	}
	if len(call.Participants) != contacts+1 {
		return bookedCall{}, fmt.Errorf("%w: booking %s has %d participants, want %d", ErrSetup, bk.Reference, len(call.Participants), contacts+1)
	}
	return call, nil
}

// tokenFromJoinURL returns the join token carried in a join link's
// fragment (#token=...).
func tokenFromJoinURL(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("%w: join link: %w", ErrSetup, err)
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil || v.Get("token") == "" {
		return "", fmt.Errorf("%w: join link without a token", ErrSetup)
	}
	return v.Get("token"), nil
}
