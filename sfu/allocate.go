package sfu

import (
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
)

// Layer allocation policy.
const (
	upgradeHold = 3 * time.Second // least time between a change and an upgrade
	headroom    = 0.9             // share of the estimate that may be used
	rembFresh   = 5 * time.Second // a REMB older than this is ignored
	// lowestSlack lets the lowest layer through when it needs up to this
	// much more than the estimate: pausing video is the last resort. A
	// track without simulcast has nothing lower to fall back to, and the
	// publisher adapts its one encoding to its own uplink, so it gets more.
	lowestSlack      = 1.25
	singleLayerSlack = 2.0
	estimateWarmUp   = 5 * time.Second // before this, never pause for bandwidth
)

// estimate returns the bandwidth available towards the participant, bit/s:
// the transport-wide congestion controller's estimate when the subscriber
// sends that feedback, else its REMB, else the initial guess.
func (p *Participant) estimate(now time.Time) int {
	if p.twccNegotiated.Load() {
		return p.bwe.GetTargetBitrate()
	}
	if at := p.rembAt.Load(); at != 0 && now.UnixNano()-at < int64(rembFresh) {
		return int(p.remb.Load())
	}
	return bweInitial
}

// estimateTrusted reports whether the subscriber connection has been up long
// enough for its bandwidth estimate to reflect the network.
func (p *Participant) estimateTrusted(now time.Time) bool {
	at := p.subConnectedAt.Load()
	return at != 0 && now.UnixNano()-at >= int64(estimateWarmUp)
}

// allocate chooses the layer each of the participant's video subscriptions
// should receive. Audio is served first and never paused. Video layers are
// raised one step at a time, round robin, while the estimate allows; a
// subscription whose lowest layer does not fit is paused. Going down takes
// effect at once, going up only upgradeHold after the last change unless
// initial is set (a new subscription or quality request).
func (p *Participant) allocate(now time.Time, initial bool) {
	downs := p.downTracks()
	if len(downs) == 0 {
		return
	}
	budget := float64(p.estimate(now)) * headroom
	trusted := p.estimateTrusted(now)
	var videos []*downTrack
	for _, d := range downs {
		if d.up.kind == webrtc.RTPCodecTypeAudio {
			budget -= float64(d.up.bitrate(0))
			continue
		}
		videos = append(videos, d)
	}
	if len(videos) == 0 {
		return
	}
	slices.SortFunc(videos, func(a, b *downTrack) int {
		switch {
		case a.up.id < b.up.id:
			return -1
		case a.up.id > b.up.id:
			return 1
		}
		return 0
	})

	type plan struct {
		d       *downTrack
		allowed []int // qualities present and allowed, lowest first
		level   int   // index into allowed; -1 paused
		cur     int
		target  int
		changed time.Time
	}
	plans := make([]plan, len(videos))
	for i, d := range videos {
		cur, target, maxLayer, changed := d.layerState()
		var allowed []int
		for _, q := range d.up.qualities() {
			if q <= maxLayer {
				allowed = append(allowed, q)
			}
		}
		plans[i] = plan{d: d, allowed: allowed, level: -1, cur: cur, target: target, changed: changed}
	}
	// Lowest layers first, then one step up at a time.
	for i := range plans {
		pl := &plans[i]
		if len(pl.allowed) == 0 {
			continue
		}
		cost := float64(pl.d.up.bitrate(pl.allowed[0]))
		slack := lowestSlack
		if !pl.d.up.simulcast {
			slack = singleLayerSlack
		}
		if cost <= budget*slack || !trusted {
			pl.level = 0
			budget -= cost
		}
	}
	for raised := true; raised; {
		raised = false
		for i := range plans {
			pl := &plans[i]
			if pl.level < 0 || pl.level+1 >= len(pl.allowed) {
				continue
			}
			cost := float64(pl.d.up.bitrate(pl.allowed[pl.level+1]) - pl.d.up.bitrate(pl.allowed[pl.level]))
			if cost <= budget {
				pl.level++
				budget -= cost
				raised = true
			}
		}
	}
	for _, pl := range plans {
		q := layerPause
		if pl.level >= 0 {
			q = pl.allowed[pl.level]
		}
		if q > pl.target && pl.target != layerPause && !initial && now.Sub(pl.changed) < upgradeHold {
			continue
		}
		pl.d.setTarget(q, now)
	}
	// A subscription waiting for a key frame asks again (throttled): the
	// first request may have gone out before the subscriber could receive,
	// or been lost.
	for _, d := range videos {
		if cur, target, _, _ := d.layerState(); target != layerPause && cur != target {
			d.up.requestKeyframe(target, false)
		}
	}
}

// dynacast tells the publisher which simulcast layers anyone receives or
// is about to, so that it stops encoding and sending the others. A layer
// stays on for dynacastGrace after its last subscriber moved away.
func (t *upTrack) dynacast(now time.Time) {
	if !t.simulcast {
		return
	}
	var want [maxLayers]bool
	for _, d := range *t.downs.Load() {
		cur, target, _, _ := d.layerState()
		if cur >= 0 {
			want[cur] = true
		}
		if target >= 0 {
			want[target] = true
		}
	}
	t.mu.Lock()
	changed := false
	for q := range maxLayers {
		switch {
		case want[q]:
			t.wantedAt[q] = now
			if !t.active[q] {
				t.active[q], changed = true, true
			}
		case t.active[q] && now.Sub(t.wantedAt[q]) >= dynacastGrace:
			t.active[q], changed = false, true
		}
	}
	if !changed {
		t.mu.Unlock()
		return
	}
	active := make([]string, 0, maxLayers)
	for q := range maxLayers {
		if t.active[q] {
			rid := layerRIDs[q]
			if l := t.layer(q); l != nil {
				rid = l.rid
			}
			active = append(active, rid)
		}
	}
	t.mu.Unlock()
	t.owner.signaller().Notify(layersMsg{Type: "layers", TrackID: t.trackID, Active: active})
}

// layersMsg is the protocol's layers message.
type layersMsg struct {
	Type    string   `json:"type"`
	TrackID string   `json:"trackId"`
	Active  []string `json:"active"`
}
