package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/recording"
)

// Sentinel errors.
var (
	// ErrClosed is returned when the SFU or a room has been closed.
	ErrClosed = errors.New("sfu: closed")
	// ErrNegotiation wraps a failure to apply a session description.
	ErrNegotiation = errors.New("sfu: negotiation failed")
	// ErrBadTarget is returned for a connection name other than pub or sub.
	ErrBadTarget = errors.New("sfu: unknown connection target")
	// ErrBadLayer is returned for a quality other than q, h, f or none.
	ErrBadLayer = errors.New("sfu: unknown video quality")
)

// SFU owns the rooms of one media node.
type SFU struct {
	apis    *apis
	cfg     Config
	auditor Auditor
	log     *slog.Logger
	m       *metrics.Metrics
	media   *metrics.Media

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	pulse  *recording.Pulse // the recorders' shared drain clock, from the first recording
}

// New returns an SFU using cfg. m receives room, participant, track and
// forwarding figures.
func New(cfg Config, log *slog.Logger, m *metrics.Metrics) (*SFU, error) {
	a, err := newAPIs(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("sfu: %w", err)
	}
	return &SFU{apis: a, cfg: cfg, auditor: cfg.Auditor, log: log, m: m, media: metrics.NewMedia(m.Registry),
		rooms: make(map[string]*Room)}, nil
}

// Room returns the room with id, creating it under pol if it does not
// exist. An existing room keeps the policy it was made with; asking for it
// with a different Legal flag is refused (ErrPolicyConflict). A policy that
// asks to record a legal call is refused with ErrLegalPrivilege, audited,
// and makes no room.
func (s *SFU) Room(id string, pol Policy) (*Room, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	r, ok := s.rooms[id]
	if ok {
		s.mu.Unlock()
		if legal := r.Policy().Legal; legal != pol.Legal {
			return nil, fmt.Errorf("%w: room %s: legal %v asked as %v", ErrPolicyConflict, id, legal, pol.Legal)
		}
		return r, nil
	}
	r = newRoom(s, id, pol)
	if pol.Legal && pol.Record {
		s.mu.Unlock()
		err := r.refusePrivileged(systemActor, "recorder")
		r.Close()
		return nil, err
	}
	s.rooms[id] = r
	s.m.Rooms.Inc()
	s.mu.Unlock()
	if pol.Record {
		if err := r.StartRecording(systemActor); err != nil {
			r.log.Error("recording did not start", "err", err)
		}
	}
	return r, nil
}

// systemActor is the audit actor of what the media server does on its own
// or on the policy it was given.
const systemActor = "system:sfu"

// removeRoom forgets r once it has closed.
func (s *SFU) removeRoom(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
		s.m.Rooms.Dec()
	}
}

// Close closes every room and refuses new ones.
func (s *SFU) Close() {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.Close()
	}
	s.mu.Lock()
	pulse := s.pulse
	s.mu.Unlock()
	if pulse != nil {
		pulse.Stop()
	}
	if s.apis.mux != nil {
		if err := s.apis.mux.Close(); err != nil {
			s.log.Debug("close media port", "err", err)
		}
	}
}
