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
	// much more than the estimate: pausing video is the last resort, for a
	// link that cannot carry a third of it.
	lowestSlack    = 3.0
	estimateWarmUp = 5 * time.Second // before this, never pause or upgrade for bandwidth
	// sustainedLoss is the smoothed loss above which the loss-based
	// estimate also counts.
	sustainedLoss = 0.25
	// upgradeLoss is the smoothed loss above which no layer goes up: as in
	// GCC's own loss controller, a link that loses packets is not probed
	// with more of them.
	upgradeLoss = 0.02
	// lossMemory is how long after a receiver report showed such loss the
	// link counts as lossy.
	lossMemory = 10 * time.Second
	// An upgrade followed by a downgrade within failedUpgrade was a failed
	// probe of the link: the next upgrade waits twice as long, up to
	// maxUpgradeHold.
	failedUpgrade  = 10 * time.Second
	maxUpgradeHold = time.Minute
)

// estimate returns the bandwidth available towards the participant, bit/s.
// With transport-wide feedback it is the delay-based estimate of Pion's
// GCC: steady random loss (a poor Wi-Fi or mobile link loses a few percent
// whatever the rate) says nothing about capacity and is repaired by NACKs,
// so the loss-based estimate is used only while loss stays above
// sustainedLoss. Without transport-wide feedback it is the subscriber's
// REMB, and before either the initial guess.
func (p *Participant) estimate(now time.Time) int {
	if p.twccNegotiated.Load() {
		st := p.bwe.GetStats()
		delay, _ := st["delayTargetBitrate"].(int)
		lossTarget, _ := st["lossTargetBitrate"].(int)
		loss, _ := st["averageLoss"].(float64)
		p.sampleMu.Lock()
		p.lossAvg = 0.8*p.lossAvg + 0.2*loss
		sustained := p.lossAvg > sustainedLoss
		p.sampleMu.Unlock()
		if delay <= 0 {
			return p.bwe.GetTargetBitrate()
		}
		if sustained && lossTarget > 0 {
			return min(delay, lossTarget)
		}
		return delay
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

// allocation says why allocate runs.
type allocation int

const (
	allocTick    allocation = iota // the room's periodic pass
	allocNew                       // a new subscription: start it on its lowest layer
	allocRequest                   // a quality request: apply it now
)

// allocate chooses the layer each of the participant's video subscriptions
// should receive. Audio is served first and never paused. Video layers are
// raised one step at a time, round robin, while the estimate allows; a
// subscription whose lowest layer does not fit even lowestSlack times is
// paused. Going down takes effect at once. New subscriptions start on the
// lowest layer the publisher offers, even before its first packet (the
// first picture comes as fast, and nothing has measured the link yet); going up waits until the estimate is trusted and for the
// subscription's upgrade hold, which doubles after each failed upgrade.
func (p *Participant) allocate(now time.Time, mode allocation) {
	p.allocMu.Lock()
	defer p.allocMu.Unlock()
	p.allocateLocked(now, mode)
}

func (p *Participant) allocateLocked(now time.Time, mode allocation) {
	downs := p.downTracks()
	if len(downs) == 0 {
		return
	}
	budget := float64(p.estimate(now)) * headroom
	trusted := p.estimateTrusted(now)
	lossy := now.UnixNano()-p.lossSeenAt.Load() < int64(lossMemory)
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
			// A monitor takes only what the publisher sends anyway: its
			// choices must not show in what the publisher is asked for.
			if q <= maxLayer && (!p.hidden || d.up.sending(q)) {
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
		if cost <= budget*lowestSlack || !trusted || mode == allocNew {
			pl.level = 0
			budget -= cost
		}
	}
	for raised := mode != allocNew; raised; {
		raised = false
		for i := range plans {
			pl := &plans[i]
			if pl.level < 0 || pl.level+1 >= len(pl.allowed) {
				continue
			}
			// A layer that has just resumed (or is paused) measures low:
			// going up counts at least its nominal rate.
			next := pl.allowed[pl.level+1]
			cost := float64(max(pl.d.up.bitrate(next), nominalBitrate[next]) - pl.d.up.bitrate(pl.allowed[pl.level]))
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
		if pl.target == layerPause && q != layerPause && mode == allocTick {
			q = pl.allowed[0] // a paused subscription resumes on its lowest layer
		}
		if q > pl.target && pl.target != layerPause && mode == allocTick &&
			(!trusted || lossy || now.Sub(pl.changed) < pl.d.holdFor()) {
			continue
		}
		if mode == allocNew && !pl.changed.IsZero() {
			continue // already allocated
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
	recCur, recTarget := t.followViewers()
	for _, q := range [...]int{recCur, recTarget} {
		if q >= 0 {
			want[q] = true
		}
	}
	for _, d := range *t.downs.Load() {
		if d.sub.hidden {
			continue // monitors never change what a publisher sends
		}
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
