package sfu

import (
	"github.com/pion/webrtc/v4"
)

// Moderation is what security staff imposed on one participant: their
// video kept from the others, their voice kept from the others. Monitors
// and the recorder still receive both.
type Moderation struct {
	VideoPaused bool `json:"videoPaused"`
	Muted       bool `json:"muted"`
}

// Moderate sets participant id's moderation. It takes effect on the next
// packet: nothing withheld reaches another participant, and when it is
// lifted their stream resumes seamlessly (video on its next key frame,
// which is asked for). It holds for a participant who joins later or
// reconnects. Telling the participants is the signalling layer's job.
func (r *Room) Moderate(id string, m Moderation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == (Moderation{}) {
		delete(r.moderation, id)
	} else {
		r.moderation[id] = m
	}
	r.applyWithholdingLocked(id)
}

// Moderation returns participant id's moderation.
func (r *Room) Moderation(id string) Moderation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.moderation[id]
}

// applyWithholdingLocked brings every subscription to participant id's
// tracks in line with the room's policy and moderation. The caller holds
// r.mu.
func (r *Room) applyWithholdingLocked(id string) {
	p := r.participants[id]
	if p == nil {
		return
	}
	for _, t := range p.published {
		for _, d := range *t.downs.Load() {
			d.setWithheld(r.withheldLocked(t, d.sub))
		}
	}
}

// withheldLocked reports whether track t must not reach subscriber sub:
// a participant (never a monitor) is not sent video paused by staff or
// under the publisher's one-way video policy, nor audio muted by staff.
// The caller holds r.mu.
func (r *Room) withheldLocked(t *upTrack, sub *Participant) bool {
	if sub.hidden {
		return false
	}
	m := r.moderation[t.owner.id]
	if t.kind == webrtc.RTPCodecTypeVideo {
		return m.VideoPaused || r.oneWayLocked(t.owner.id)
	}
	return m.Muted
}

// setWithheld stops or resumes forwarding to the subscriber. Resuming
// continues the subscriber's sequence numbers and timestamps as a layer
// switch does: video on the next key frame of its target layer.
func (d *downTrack) setWithheld(w bool) {
	d.mu.Lock()
	if d.withheld == w {
		d.mu.Unlock()
		return
	}
	d.withheld = w
	video := d.up.kind == webrtc.RTPCodecTypeVideo
	target := d.target
	if video {
		d.current = layerPause
	} else {
		d.resync = true
	}
	d.mu.Unlock()
	if video && !w && target != layerPause {
		d.up.requestKeyframe(target, true)
	}
}
