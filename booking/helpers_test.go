package booking

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/problem"
)

// testKey signs join tokens in tests.
const testKey = "0123456789abcdef0123456789abcdef-test-key"

// testPublicURL is the Config.PublicURL of the tests.
const testPublicURL = "https://gatehouse.test"

// london is loaded once per call; tests use it to build local times.
func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// env is a booking service on a real store (a SQLite file, or a PostgreSQL
// database: see newPostgresEnv) behind a real HTTP server, seeded with the
// demo prison.
type env struct {
	t       *testing.T
	ctx     context.Context
	store   *sqlStore
	clock   *clock.Offset
	signer  *auth.JoinSigner
	metrics *metrics.Metrics
	svc     *Service
	srv     *httptest.Server
	demo    Demo
	// live stands in for signalling: the live calls and the call ender.
	live *fakeLive
	// recordings is the service's Config.RecordingsDir.
	recordings string
	// n numbers the records tests make (see nextNumber).
	n int
}

// seededTemplate is a database file seeded once per test binary: seeding
// hashes four bcrypt passwords, which is slow under the race detector, so
// each env starts from a copy of it instead.
var seededTemplate struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if seededTemplate.dir != "" {
		_ = os.RemoveAll(seededTemplate.dir)
	}
	os.Exit(code)
}

// seededCopy copies the seeded template database to path.
func seededCopy(t *testing.T, path string) {
	t.Helper()
	seededTemplate.once.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "gatehouse-booking-test-")
		if err != nil {
			seededTemplate.err = err
			return
		}
		seededTemplate.dir = dir
		store, err := OpenSQLite(ctx, filepath.Join(dir, "seeded.db"))
		if err != nil {
			seededTemplate.err = err
			return
		}
		signer, err := auth.NewJoinSigner([]byte(testKey), clock.Real{})
		if err == nil {
			_, err = Seed(ctx, NewService(store, signer, nil, nil, nil, Config{}))
		}
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		seededTemplate.err = err
	})
	if seededTemplate.err != nil {
		t.Fatal(seededTemplate.err)
	}
	data, err := os.ReadFile(filepath.Join(seededTemplate.dir, "seeded.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newEnv starts an env whose clock reads now, on a copy of the seeded
// database.
func newEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	seededCopy(t, path)
	return openEnv(t, path, now)
}

// newFreshEnv starts an env on an empty database, seeded by the env itself.
func newFreshEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	return openEnv(t, filepath.Join(t.TempDir(), "gatehouse.db"), now)
}

func openEnv(t *testing.T, path string, now time.Time) *env {
	t.Helper()
	store, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return startEnv(t, store.sqlStore, now)
}

// startEnv seeds store (unless already seeded) and serves it; the store is
// closed when t ends.
func startEnv(t *testing.T, store *sqlStore, now time.Time) *env {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	clk := clock.NewOffset(now)
	signer, err := auth.NewJoinSigner([]byte(testKey), clk)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	log := slog.New(slog.DiscardHandler)
	recordings := filepath.Join(t.TempDir(), "recordings")
	if err := os.Mkdir(recordings, 0o700); err != nil {
		t.Fatal(err)
	}
	svc := NewService(store, signer, clk, m, log, Config{PublicURL: testPublicURL + "/", RecordingsDir: recordings})
	live := newFakeLive()
	svc.SetLiveCalls(live)
	svc.SetCallEnder(live)
	demo, err := Seed(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", NewAPI(svc, log))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, ctx: ctx, store: store, clock: clk, signer: signer, metrics: m, svc: svc, srv: srv, demo: demo,
		live: live, recordings: recordings}
}

// defaultNow is Monday 2026-11-23 08:00 in London (GMT, so 08:00 UTC).
func defaultNow() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the body as a problem document, checking its media type.
func (r response) problem(t *testing.T) problem.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type %q, want %q (body %s)", ct, problem.ContentType, r.body)
	}
	var p problem.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	return p
}

// wantProblem checks status and code.
func (r response) wantProblem(t *testing.T, status int, code string) problem.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	p := r.problem(t)
	if p.Code != code || p.Status != status || p.Detail == "" {
		t.Fatalf("problem %+v, want code %q status %d with a detail", p, code, status)
	}
	return p
}

// decode decodes the JSON body into v after checking status.
func (r response) decode(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// send makes a request. body may be nil, a string (sent raw) or a value
// (sent as JSON). edit may adjust the request.
func (e *env) send(method, path string, body any, edit func(*http.Request)) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// bearer authenticates a request with token.
func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// loginResponse is the body of a successful login.
type loginResponse struct {
	Token     string    `json:"token"`
	CSRFToken string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
	Staff     Staff     `json:"staff"`
	cookie    *http.Cookie
}

// login logs a demo account in.
func (e *env) login(username string) loginResponse {
	e.t.Helper()
	pass := ""
	for _, l := range e.demo.Logins {
		if l.Username == username {
			pass = l.Password
		}
	}
	res := e.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": pass}, nil)
	var lr loginResponse
	res.decode(e.t, http.StatusOK, &lr)
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == SessionCookie {
			lr.cookie = c
		}
	}
	if lr.Token == "" || lr.cookie == nil {
		e.t.Fatalf("login %s: no token or cookie: %s", username, res.body)
	}
	return lr
}

// as sends an authenticated request with a bearer token.
func (e *env) as(token, method, path string, body any) response {
	e.t.Helper()
	return e.send(method, path, body, bearer(token))
}

// slot finds the slot of room starting at local wall-clock hh:mm on date
// (YYYY-MM-DD).
func (e *env) slot(date, hhmm, room string) Slot {
	e.t.Helper()
	d, err := ParseDate(date)
	if err != nil {
		e.t.Fatal(err)
	}
	admin, err := e.store.StaffByUsername(e.ctx, "admin")
	if err != nil {
		e.t.Fatal(err)
	}
	slots, err := e.svc.Slots(e.ctx, admin, e.demo.PrisonID, d, d)
	if err != nil {
		e.t.Fatal(err)
	}
	loc := london(e.t)
	for _, s := range slots {
		if s.RoomName == room && s.StartsAt.In(loc).Format("15:04") == hhmm {
			return s
		}
	}
	e.t.Fatalf("no %s slot at %s %s", room, date, hhmm)
	return Slot{}
}

// contactIDs maps the demo prisoner's contacts by name.
func (e *env) contactIDs() map[string]int64 {
	e.t.Helper()
	list, err := e.store.PrisonerContacts(e.ctx, e.demo.PrisonerID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range list {
		out[c.Name] = c.ID
	}
	return out
}

// addPrisoner creates an active prisoner at prisonID with one approved
// contact of kind k, and returns both ids.
func (e *env) addPrisoner(prisonID int64, number string, k ContactKind) (int64, int64) {
	e.t.Helper()
	pid, err := e.store.CreatePrisoner(e.ctx, Prisoner{PrisonID: prisonID, Number: number, Name: "Prisoner " + number})
	if err != nil {
		e.t.Fatal(err)
	}
	cid := e.addContact(pid, Contact{Name: "Contact of " + number, Kind: k}, true, false)
	return pid, cid
}

// addContact creates a contact and links it to prisoner pid.
func (e *env) addContact(pid int64, c Contact, approved, banned bool) int64 {
	e.t.Helper()
	cid, err := e.store.CreateContact(e.ctx, c)
	if err != nil {
		e.t.Fatal(err)
	}
	c.ID = cid
	if err := e.store.LinkContact(e.ctx, PrisonerContact{PrisonerID: pid, Contact: c, Relationship: "friend",
		Approved: approved, Banned: banned}); err != nil {
		e.t.Fatal(err)
	}
	return cid
}

// counts are the row counts a refused request must leave unchanged.
type counts struct{ bookings, participants, audit int }

func (e *env) counts() counts {
	e.t.Helper()
	var c counts
	for table, dst := range map[string]*int{"bookings": &c.bookings, "booking_participants": &c.participants,
		"audit_log": &c.audit} {
		if err := e.store.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+table).Scan(dst); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}
