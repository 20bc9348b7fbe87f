package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// JoinMonitor admits id as a hidden monitor: a subscriber to every track
// of the room that publishes nothing and is in no participant's view (it is
// not among Participants, takes no part in speaker detection or statistics
// sent to participants, and its layer choices never change what a publisher
// is asked to send). On a legal call it is refused with ErrLegalPrivilege,
// and the refusal audited, before any connection is made; under
// Policy.SightOnly it is admitted for video only, and no audio track is ever
// added to its connection. A monitor already present under id is replaced.
func (r *Room) JoinMonitor(id string, sig Signaller) (*Participant, error) {
	r.mu.Lock()
	closed := r.closed
	ok, videoOnly := r.monitorsAllowedLocked()
	r.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, r.refusePrivileged(id, "monitor")
	}
	p, err := newParticipant(r, id, sig)
	if err != nil {
		return nil, err
	}
	p.hidden, p.videoOnly = true, videoOnly

	r.mu.Lock()
	ok, videoOnly = r.monitorsAllowedLocked()
	if r.closed || !ok || videoOnly != p.videoOnly {
		// The room closed, or its policy changed, while connections were made.
		closed := r.closed
		r.mu.Unlock()
		p.closePeers()
		if closed {
			return nil, ErrClosed
		}
		return nil, r.refusePrivileged(id, "monitor")
	}
	old := r.monitors[id]
	r.monitors[id] = p
	var existing []*upTrack
	for _, q := range r.participants {
		existing = append(existing, q.published...)
	}
	r.mu.Unlock()
	r.sfu.media.Monitors.Inc()
	p.log.Info("monitor joined media room", "video_only", videoOnly, "replacing", old != nil)
	if old != nil {
		old.Close()
	}
	subscribed := false
	for _, t := range existing {
		subscribed = p.subscribe(t) || subscribed
	}
	if subscribed {
		p.negotiate()
	}
	return p, nil
}

// Monitors returns the ids of the hidden monitors in the room.
func (r *Room) Monitors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.monitors))
	for id := range r.monitors {
		ids = append(ids, id)
	}
	return ids
}

// SetSightOnly turns "in sight, out of hearing" supervision of a legal call
// on or off. Turning it off disconnects every monitor at once. It is refused
// for a call that is not legal (monitors need no such permission there).
// The decision itself is audited by whoever took it (the booking service).
func (r *Room) SetSightOnly(on bool) error {
	r.mu.Lock()
	if !r.policy.Legal {
		r.mu.Unlock()
		return fmt.Errorf("%w: sight-only supervision is for legal calls", ErrPolicyConflict)
	}
	r.policy.SightOnly = on
	var gone []*Participant
	if !on {
		for _, m := range r.monitors {
			gone = append(gone, m)
		}
	}
	r.mu.Unlock()
	for _, m := range gone {
		m.Close()
	}
	return nil
}

// monitorList returns the hidden monitors.
func (r *Room) monitorList() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := make([]*Participant, 0, len(r.monitors))
	for _, m := range r.monitors {
		ms = append(ms, m)
	}
	return ms
}

// mayReceive reports whether subscriber p may ever be sent track t: a
// video-only monitor is never sent audio.
func (p *Participant) mayReceive(t *upTrack) bool {
	return !(p.videoOnly && t.kind != webrtc.RTPCodecTypeVideo)
}

// isActive reports whether the publisher was last asked to send layer q.
func (t *upTrack) isActive(q int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.active[q]
}
