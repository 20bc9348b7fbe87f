package sfu

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// Room is one call: the participants whose tracks are forwarded to each other.
type Room struct {
	id  string
	sfu *SFU
	log *slog.Logger

	mu           sync.Mutex
	policy       Policy
	participants map[string]*Participant
	monitors     map[string]*Participant // hidden: subscribe only, in nobody's list
	moderation   map[string]Moderation   // staff's pauses and mutes, by participant
	rec          *roomRecorder           // nil unless recording
	recErr       error                   // the recording's first failure
	closed       bool

	stop chan struct{} // closed by Close: the room's ticker stops
	done chan struct{} // closed when the ticker has stopped

	// Owned by the ticker goroutine.
	speakers speakerState
}

func newRoom(s *SFU, id string, pol Policy) *Room {
	pol.OneWayVideo = slices.Clone(pol.OneWayVideo)
	r := &Room{
		id:           id,
		sfu:          s,
		log:          s.log.With("room", id),
		policy:       pol,
		participants: make(map[string]*Participant),
		monitors:     make(map[string]*Participant),
		moderation:   make(map[string]Moderation),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	go r.run()
	return r
}

// ID returns the room id.
func (r *Room) ID() string { return r.id }

// Join adds participant id with its signaller and subscribes it to every
// track already published in the room. A participant already present under
// the same id (a rejoin from another tab or after a dropped network) is
// closed and replaced.
func (r *Room) Join(id string, sig Signaller) (*Participant, error) {
	p, err := newParticipant(r, id, sig)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.closePeers()
		return nil, ErrClosed
	}
	old := r.participants[id]
	r.participants[id] = p
	var existing []*upTrack
	for _, q := range r.participants {
		if q != p && q != old {
			existing = append(existing, q.published...)
		}
	}
	r.mu.Unlock()
	r.sfu.m.Participants.Inc()
	p.log.Info("participant joined media room", "replacing", old != nil)

	if old != nil {
		old.Close()
	}
	for _, ft := range existing {
		p.subscribe(ft)
	}
	if len(existing) > 0 {
		p.negotiate()
	}
	return p, nil
}

// snapshot returns the participants and their published tracks.
func (r *Room) snapshot() ([]*Participant, []*upTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := make([]*Participant, 0, len(r.participants))
	var ts []*upTrack
	for _, p := range r.participants {
		ps = append(ps, p)
		ts = append(ts, p.published...)
	}
	return ps, ts
}

// Participants returns the ids of the participants in the room.
func (r *Room) Participants() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.participants))
	for id := range r.participants {
		ids = append(ids, id)
	}
	return ids
}

// publish makes ft, a track of its owner, available to everyone else.
func (r *Room) publish(ft *upTrack) error {
	r.mu.Lock()
	if r.closed || r.participants[ft.owner.id] != ft.owner {
		r.mu.Unlock()
		return fmt.Errorf("publish %s: %w", ft.id, ErrClosed)
	}
	ft.owner.published = append(ft.owner.published, ft)
	others := r.othersLocked(ft.owner)
	rec := r.rec
	r.mu.Unlock()
	r.sfu.m.PublishedTracks.Inc()
	if rec != nil {
		rec.add(ft)
	}

	for _, q := range others {
		if q.subscribe(ft) {
			q.negotiate()
		}
	}
	return nil
}

// leave removes p and unsubscribes everyone from its tracks.
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	if p.hidden {
		if r.monitors[p.id] == p {
			delete(r.monitors, p.id)
		}
		r.mu.Unlock()
		r.sfu.media.Monitors.Dec()
		return
	}
	if r.participants[p.id] == p {
		delete(r.participants, p.id)
	}
	published := p.published
	p.published = nil
	others := r.othersLocked(p)
	rec := r.rec
	r.mu.Unlock()
	if rec != nil {
		rec.forget(p)
	}
	r.sfu.m.PublishedTracks.Sub(float64(len(published)))
	r.sfu.m.Participants.Dec()

	if len(published) == 0 {
		return
	}
	for _, q := range others {
		changed := false
		for _, ft := range published {
			changed = q.unsubscribe(ft) || changed
		}
		if changed {
			q.negotiate()
		}
	}
}

// othersLocked returns everyone but p who subscribes to p's tracks: the
// other participants and the hidden monitors. The caller holds r.mu.
func (r *Room) othersLocked(p *Participant) []*Participant {
	others := make([]*Participant, 0, len(r.participants)+len(r.monitors))
	for _, q := range r.participants {
		if q != p {
			others = append(others, q)
		}
	}
	for _, q := range r.monitors {
		if q != p {
			others = append(others, q)
		}
	}
	return others
}

// Close disconnects every participant and removes the room from the SFU.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	ps := make([]*Participant, 0, len(r.participants)+len(r.monitors))
	for _, p := range r.participants {
		ps = append(ps, p)
	}
	for _, p := range r.monitors {
		ps = append(ps, p)
	}
	rec := r.rec
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	for _, p := range ps {
		p.Close()
	}
	if rec != nil {
		rec.finish()
	}
	r.sfu.removeRoom(r)
	r.log.Info("media room closed")
}
