package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gatehouse/gatehouse/internal/metrics"
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
	apis  *apis
	log   *slog.Logger
	m     *metrics.Metrics
	media *metrics.Media

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
}

// New returns an SFU using cfg. m receives room, participant, track and
// forwarding figures.
func New(cfg Config, log *slog.Logger, m *metrics.Metrics) (*SFU, error) {
	a, err := newAPIs(cfg)
	if err != nil {
		return nil, fmt.Errorf("sfu: %w", err)
	}
	return &SFU{apis: a, log: log, m: m, media: metrics.NewMedia(m.Registry), rooms: make(map[string]*Room)}, nil
}

// Room returns the room with id, creating it if it does not exist.
func (s *SFU) Room(id string) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if r, ok := s.rooms[id]; ok {
		return r, nil
	}
	r := newRoom(s, id)
	s.rooms[id] = r
	s.m.Rooms.Inc()
	return r, nil
}

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
	if s.apis.mux != nil {
		if err := s.apis.mux.Close(); err != nil {
			s.log.Debug("close media port", "err", err)
		}
	}
}
