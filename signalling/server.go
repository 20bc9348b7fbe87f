package signalling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/sfu"
)

// Bookings is what signalling needs from the booking service.
type Bookings interface {
	// Booking returns a booking with its participants, or an error
	// wrapping booking.ErrNotFound.
	Booking(ctx context.Context, id int64) (booking.Booking, error)
	// RecordOutcome moves an active booking to a final status.
	RecordOutcome(ctx context.Context, id int64, st booking.Status, reason string) error
	// AdmitMonitor decides whether a monitor token's holder may watch its
	// call now (a refusal on a legal call wraps booking.ErrLegalPrivilege
	// and is audited by the booking service).
	AdmitMonitor(ctx context.Context, claims auth.JoinClaims) (booking.MonitorGrant, error)
	// Audit appends one entry to the audit log.
	Audit(ctx context.Context, actor, action, subject string, detail any) error
}

// TokenVerifier checks join tokens.
type TokenVerifier interface {
	Verify(token string) (auth.JoinClaims, error)
}

// Config holds the signalling limits. Zero fields take the defaults below.
type Config struct {
	JoinTimeout    time.Duration      // join must arrive within this (10 s)
	PingInterval   time.Duration      // WebSocket ping period (20 s)
	PongWait       time.Duration      // close a socket silent for this long (45 s)
	MaxMessage     int64              // frame size limit (64 KiB)
	MaxBadMessages int                // consecutive bad messages before closing (5)
	Tick           time.Duration      // how often call clocks are checked (250 ms)
	ICEServers     []webrtc.ICEServer // handed to admitted participants
	// ICEIssuer, when set, issues each admitted participant ICE servers with
	// short-lived credentials of their own (a TURN relay), added to
	// ICEServers and refreshed before they expire.
	ICEIssuer ICEIssuer
	// ReconnectGrace is how long a participant whose socket closed without
	// leave keeps their place and media session for a resume (20 s),
	// measured on the server's clock.
	ReconnectGrace time.Duration
	// MaxReturns bounds how often a participant may come back into a place
	// they still hold (a resume, or a join from another connection) within
	// a minute (10); more joins are refused with too_many_reconnects.
	MaxReturns int
	// RestartInterval is the least time between two restart requests
	// honoured for one participant (1 s); sooner ones get rate_limited.
	RestartInterval time.Duration
}

// ICEIssuer issues ICE servers with ephemeral credentials (turn.Issuer).
type ICEIssuer interface {
	// ICEServers returns a participant's servers and when their
	// credential expires.
	ICEServers(participantID string) ([]webrtc.ICEServer, time.Time)
	// Revoke withdraws a participant's credentials: they left the call.
	Revoke(participantID string)
}

func (c Config) withDefaults() Config {
	if c.JoinTimeout == 0 {
		c.JoinTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.PongWait == 0 {
		c.PongWait = 45 * time.Second
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = 64 << 10
	}
	if c.MaxBadMessages == 0 {
		c.MaxBadMessages = 5
	}
	if c.Tick == 0 {
		c.Tick = 250 * time.Millisecond
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = 20 * time.Second
	}
	if c.MaxReturns == 0 {
		c.MaxReturns = 10
	}
	if c.RestartInterval == 0 {
		c.RestartInterval = time.Second
	}
	return c
}

// Server is the signalling role: the /ws endpoint and the rooms' clocks.
type Server struct {
	cfg      Config
	bookings Bookings
	tokens   TokenVerifier
	media    *sfu.SFU
	clock    clock.Clock
	log      *slog.Logger
	m        *metrics.Metrics
	upgrader websocket.Upgrader

	mu       sync.Mutex
	rooms    map[int64]*room
	closed   bool
	handlers sync.WaitGroup
}

// New returns a signalling server.
func New(cfg Config, b Bookings, tv TokenVerifier, media *sfu.SFU, c clock.Clock, log *slog.Logger, m *metrics.Metrics) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:      cfg,
		bookings: b,
		tokens:   tv,
		media:    media,
		clock:    c,
		log:      log,
		m:        m,
		upgrader: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096},
		rooms:    make(map[int64]*room),
	}
}

// ServeHTTP upgrades a request to the signalling WebSocket and serves it
// until the participant leaves or the call ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	newSession(s, conn).serve(r.Context())
}

// verify checks a join token's signature and validity period.
func (s *Server) verify(token string) (auth.JoinClaims, *AdmissionError) {
	claims, err := s.tokens.Verify(token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return claims, refuse(CodeTokenExpired, "This join link has expired.", err)
	case errors.Is(err, auth.ErrTokenNotYetValid):
		return claims, refuse(CodeTooEarly, "The call room opens 10 minutes before the start time.", err)
	case err != nil:
		return claims, refuse(CodeTokenInvalid, "This join link is not valid.", err)
	}
	return claims, nil
}

// admit checks a participant's join and returns the booking and
// participant it admits.
func (s *Server) admit(ctx context.Context, claims auth.JoinClaims) (booking.Booking, booking.Participant, *AdmissionError) {
	b, aerr := s.lookup(ctx, claims.BookingID)
	if aerr != nil {
		return b, booking.Participant{}, aerr
	}
	p, ok := b.Participant(claims.ParticipantID)
	if !ok || string(p.Role) != claims.Role {
		return b, p, refuse(CodeTokenInvalid, "This join link is not valid for this booking.", nil)
	}
	return b, p, s.open(b)
}

// checkBooking returns booking id if its call is open now.
func (s *Server) checkBooking(ctx context.Context, id int64) (booking.Booking, *AdmissionError) {
	b, aerr := s.lookup(ctx, id)
	if aerr != nil {
		return b, aerr
	}
	return b, s.open(b)
}

func (s *Server) lookup(ctx context.Context, id int64) (booking.Booking, *AdmissionError) {
	b, err := s.bookings.Booking(ctx, id)
	switch {
	case errors.Is(err, booking.ErrNotFound):
		return b, refuse(CodeBookingNotFound, "This booking no longer exists.", err)
	case err != nil:
		return b, refuse(CodeInternal, "The server could not check the booking; try again.", err)
	}
	return b, nil
}

// open refuses a booking whose call is not open now.
func (s *Server) open(b booking.Booking) *AdmissionError {
	if !b.Status.Active() {
		return refuse(CodeBookingCancelled, "This call has been "+string(b.Status)+".", nil)
	}
	now := s.clock.Now()
	if now.Before(b.OpensAt()) {
		return refuse(CodeTooEarly, "The call room opens 10 minutes before the start time.", nil)
	}
	if !now.Before(b.EndsAt) {
		return refuse(CodeCallEnded, "This call has ended.", nil)
	}
	return nil
}

// roomFor returns the room of booking b, creating it on first join.
func (s *Server) roomFor(b booking.Booking) (*room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if r, ok := s.rooms[b.ID]; ok {
		return r, nil
	}
	media, err := s.media.Room(strconv.FormatInt(b.ID, 10), mediaPolicy(b))
	if err != nil {
		return nil, fmt.Errorf("media room: %w", err)
	}
	r := newRoom(s, b, media, s.clock.Now())
	s.rooms[b.ID] = r
	r.log.Info("room opened", "starts_at", b.StartsAt, "ends_at", b.EndsAt, "call_type", b.CallType)
	return r, nil
}

func (s *Server) removeRoom(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.booking.ID] == r {
		delete(s.rooms, r.booking.ID)
	}
}

func (s *Server) snapshotRooms() []*room {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	return rs
}

// Admitted reports whether a participant is in a call (waiting or live) on
// this server now. The TURN relay asks it (turn.Authorizer), so relay
// credentials work only while their participant is admitted.
func (s *Server) Admitted(participantID string) bool {
	for _, r := range s.snapshotRooms() {
		if r.has(participantID) {
			return true
		}
	}
	return false
}

// Run drives every room's clock (start, warnings, end) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := s.clock.Now()
			for _, r := range s.snapshotRooms() {
				r.tick(ctx, now)
			}
		}
	}
}

// EndCall ends a booking's call now, if it is open, telling participants
// reason. It reports whether a call was ended.
func (s *Server) EndCall(ctx context.Context, bookingID int64, reason string) bool {
	s.mu.Lock()
	r := s.rooms[bookingID]
	s.mu.Unlock()
	if r == nil {
		return false
	}
	r.end(ctx, reason)
	return true
}

// Shutdown tells every participant the server is stopping, closes every
// call and waits for the sockets to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, r := range s.snapshotRooms() {
		r.end(ctx, EndShutdown)
	}
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("signalling shutdown: %w", ctx.Err())
	}
}
