package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// PublishStats are the media server's figures for what it receives from a
// participant, over the last second.
type PublishStats struct {
	Bitrate  int     `json:"bitrate"`  // bit/s, all tracks and layers
	Packets  uint64  `json:"packets"`  // packets received since joining
	Lost     float64 `json:"lost"`     // worst fraction lost of any stream
	JitterMs float64 `json:"jitterMs"` // worst interarrival jitter
}

// SubscribeStats are its figures for what it sends to a participant.
type SubscribeStats struct {
	Bitrate          int     `json:"bitrate"`          // bit/s over the last second
	AvailableBitrate int     `json:"availableBitrate"` // estimated bandwidth to the participant
	RTTMs            float64 `json:"rttMs"`            // from the participant's receiver reports
	Lost             float64 `json:"lost"`             // worst fraction lost the participant reports
}

// Stats is one participant's connection as the media server sees it. The
// room sends it to the participant every five seconds as a stats message,
// and to Prometheus.
type Stats struct {
	Publish   PublishStats      `json:"publish"`
	Subscribe SubscribeStats    `json:"subscribe"`
	Layers    map[string]string `json:"layers"` // publisher id -> rid received, or "none"
}

type statsMsg struct {
	Type string `json:"type"`
	Stats
}

// sampleState is what the room ticker last measured of a participant.
type sampleState struct {
	publish   PublishStats
	subBits   int
	sampledAt time.Time
	fast      uint64 // the fast path's count at the last sample
}

// sample measures every layer's rate and loss and every subscription's
// sent rate over the last interval, and counts forwarded packets.
func (r *Room) sample(ps []*Participant, tracks []*upTrack, now time.Time) {
	pub := make(map[*Participant]*PublishStats)
	for _, t := range tracks {
		st := pub[t.owner]
		if st == nil {
			st = &PublishStats{}
			pub[t.owner] = st
		}
		for q := range maxLayers {
			l := t.layer(q)
			if l == nil {
				continue
			}
			s := l.sample(now)
			st.Bitrate += int(s.bitrate)
			st.Packets += s.total
			st.Lost = max(st.Lost, s.lost)
			st.JitterMs = max(st.JitterMs, s.jitterMs)
		}
	}
	m := r.sfu.m
	for _, p := range ps {
		var packets, bytes uint64
		for _, d := range p.downTracks() {
			pk, by := d.takeCounts()
			packets += pk
			bytes += by
		}
		// NACKs show loss that retransmissions then hide from receiver
		// reports.
		if n := p.nacked.Swap(0); packets > 0 && float64(n)/float64(packets) > upgradeLoss {
			p.lossSeenAt.Store(now.UnixNano())
		}
		m.ForwardedPackets.Add(float64(packets))
		m.ForwardedBytes.Add(float64(bytes))
		fast := p.fast.count()
		p.sampleMu.Lock()
		m.FastPathPackets.Add(float64(fast - p.sampled.fast))
		p.sampled.fast = fast
		dt := now.Sub(p.sampled.sampledAt).Seconds()
		if !p.sampled.sampledAt.IsZero() && dt > 0 {
			p.sampled.subBits = int(float64(bytes) * 8 / dt)
		}
		p.sampled.sampledAt = now
		if st := pub[p]; st != nil {
			p.sampled.publish = *st
		} else {
			p.sampled.publish = PublishStats{}
		}
		p.sampleMu.Unlock()
	}
}

// takeCounts returns the packets and bytes sent since the last call.
func (d *downTrack) takeCounts() (packets, bytes uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	packets, bytes = d.packets+d.resent, d.bytes
	d.packets, d.resent, d.bytes = 0, 0, 0
	return packets, bytes
}

// Stats returns the participant's latest figures.
func (p *Participant) Stats() Stats {
	p.sampleMu.Lock()
	st := Stats{Publish: p.sampled.publish, Subscribe: SubscribeStats{Bitrate: p.sampled.subBits}}
	p.sampleMu.Unlock()
	st.Subscribe.AvailableBitrate = p.estimate(time.Now())
	st.Layers = make(map[string]string)
	for _, d := range p.downTracks() {
		d.mu.Lock()
		rtt, lost, cur := d.rttNanos, float64(d.fracLost)/256, d.current
		d.mu.Unlock()
		st.Subscribe.RTTMs = max(st.Subscribe.RTTMs, float64(rtt)/float64(time.Millisecond))
		st.Subscribe.Lost = max(st.Subscribe.Lost, lost)
		if d.up.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		rid := "none"
		if cur != layerPause {
			rid = layerRIDs[layerF]
			if d.up.simulcast {
				rid = layerRIDs[cur]
			}
		}
		st.Layers[d.up.owner.id] = rid
	}
	return st
}

// report sends each participant its stats and updates the Prometheus
// series.
func (r *Room) report(ps []*Participant, _ time.Time) {
	media := r.sfu.media
	for _, p := range ps {
		st := p.Stats()
		p.signaller().Notify(statsMsg{Type: "stats", Stats: st})
		pub := []string{r.id, p.id, "publish"}
		sub := []string{r.id, p.id, "subscribe"}
		media.Bitrate.WithLabelValues(pub...).Set(float64(st.Publish.Bitrate))
		media.Bitrate.WithLabelValues(sub...).Set(float64(st.Subscribe.Bitrate))
		media.Loss.WithLabelValues(pub...).Set(st.Publish.Lost)
		media.Loss.WithLabelValues(sub...).Set(st.Subscribe.Lost)
		media.Jitter.WithLabelValues(pub...).Set(st.Publish.JitterMs / 1000)
		media.RTT.WithLabelValues(sub...).Set(st.Subscribe.RTTMs / 1000)
		media.Available.WithLabelValues(r.id, p.id).Set(float64(st.Subscribe.AvailableBitrate))
	}
}
