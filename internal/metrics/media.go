package metrics

import "github.com/prometheus/client_golang/prometheus"

// Media holds the media server's collectors beyond the basic room and
// forwarding figures in Metrics: loss recovery, layer switching and the
// per-participant statistics the SFU samples every few seconds.
type Media struct {
	RetransmittedPackets prometheus.Counter // packets resent in answer to NACKs
	NACKs                prometheus.Counter // sequence numbers subscribers asked for
	KeyframeRequests     prometheus.Counter // PLIs sent to publishers
	LayerSwitches        prometheus.Counter // simulcast layer changes made for subscribers
	SpeakerChanges       prometheus.Counter // active-speaker lists sent
	HandoffDrops         prometheus.Counter // video packets not forwarded: the layer's forwarder was a queue behind
	RefusedStreams       prometheus.Counter // publisher streams refused before Pion saw them (unmarked RTX)

	// Supervision and recording.
	Monitors          prometheus.Gauge       // hidden monitors connected
	PrivilegeRefusals *prometheus.CounterVec // monitors and recorders refused on legal calls, by what
	RecordedTracks    prometheus.Gauge       // tracks being recorded now
	RecordingFailures prometheus.Counter     // recordings that lost data or could not be written (an alarm)

	// Per participant, labelled room, participant and direction (publish:
	// what the media server receives from the participant; subscribe: what
	// it sends to them). Series are deleted when the participant leaves.
	Bitrate   *prometheus.GaugeVec // bit/s
	Loss      *prometheus.GaugeVec // fraction of packets lost, 0..1
	Jitter    *prometheus.GaugeVec // seconds (publish only)
	RTT       *prometheus.GaugeVec // seconds (subscribe only)
	Available *prometheus.GaugeVec // estimated bandwidth to the participant, bit/s (room, participant)
}

// NewMedia registers the media collectors on reg and returns them.
func NewMedia(reg prometheus.Registerer) *Media {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gatehouse", Subsystem: "sfu", Name: name, Help: help})
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "gatehouse", Subsystem: "sfu", Name: name, Help: help}, labels)
	}
	m := &Media{
		Monitors: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gatehouse", Subsystem: "sfu", Name: "monitors",
			Help: "Hidden monitors (security staff watching a call) connected."}),
		PrivilegeRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gatehouse", Subsystem: "sfu",
			Name: "privilege_refusals_total", Help: "Monitors and recorders refused because the call is legally privileged."}, []string{"what"}),
		RecordedTracks: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gatehouse", Subsystem: "sfu", Name: "recorded_tracks",
			Help: "Tracks being recorded now."}),
		RecordingFailures:    counter("recording_failures_total", "Recordings that lost media or could not be written: each one is an alarm."),
		RetransmittedPackets: counter("retransmitted_packets_total", "RTP packets resent to subscribers from the packet cache in answer to NACKs."),
		NACKs:                counter("nacked_packets_total", "Packets subscribers reported lost (NACKed)."),
		KeyframeRequests:     counter("keyframe_requests_total", "Key-frame requests (PLI) sent to publishers."),
		LayerSwitches:        counter("layer_switches_total", "Simulcast layer switches made for subscribers."),
		SpeakerChanges:       counter("speaker_changes_total", "Active-speaker lists sent to rooms."),
		HandoffDrops: counter("handoff_drops_total",
			"Video packets not forwarded because the layer's forwarding goroutine was a whole queue behind (subscribers recover them by NACK)."),
		RefusedStreams: counter("refused_streams_total",
			"Publisher streams refused before Pion saw them: RTX streams that do not name the stream they repair (Pion would take them for the layer itself)."),
		Bitrate:   gauge("participant_bitrate_bps", "Media bit rate per participant and direction (publish, subscribe).", "room", "participant", "direction"),
		Loss:      gauge("participant_loss_ratio", "Fraction of packets lost per participant and direction.", "room", "participant", "direction"),
		Jitter:    gauge("participant_jitter_seconds", "Interarrival jitter of a participant's published media.", "room", "participant", "direction"),
		RTT:       gauge("participant_rtt_seconds", "Round-trip time to a participant's subscriber connection.", "room", "participant", "direction"),
		Available: gauge("participant_available_bitrate_bps", "Estimated bandwidth from the media server to a participant.", "room", "participant"),
	}
	reg.MustRegister(m.RetransmittedPackets, m.NACKs, m.KeyframeRequests, m.LayerSwitches, m.SpeakerChanges, m.HandoffDrops, m.RefusedStreams,
		m.Bitrate, m.Loss, m.Jitter, m.RTT, m.Available,
		m.Monitors, m.PrivilegeRefusals, m.RecordedTracks, m.RecordingFailures)
	return m
}

// Forget deletes a participant's series.
func (m *Media) Forget(room, participant string) {
	labels := prometheus.Labels{"room": room, "participant": participant}
	for _, g := range []*prometheus.GaugeVec{m.Bitrate, m.Loss, m.Jitter, m.RTT, m.Available} {
		g.DeletePartialMatch(labels)
	}
}
