package metrics

import "github.com/prometheus/client_golang/prometheus"

// TURN holds the relay's collectors. Transport labels are the client's
// transport to the relay: udp, tcp or tls. Direction is "to_peer" (client to
// peer, through the relay) or "to_client".
type TURN struct {
	Allocations      *prometheus.GaugeVec   // live allocations, by transport
	AllocationsTotal *prometheus.CounterVec // allocations made, by transport
	RelayedBytes     *prometheus.CounterVec // payload bytes relayed, by transport and direction
	RelayedPackets   *prometheus.CounterVec // packets relayed, by transport and direction
	Dropped          *prometheus.CounterVec // packets dropped, by reason (bandwidth, peer_self)
	Refusals         *prometheus.CounterVec // requests refused, by reason
	Credentials      prometheus.Counter     // ephemeral credentials issued
}

// NewTURN registers the relay's collectors on reg (the process registry,
// Metrics.Registry) and returns them.
func NewTURN(reg prometheus.Registerer) *TURN {
	t := &TURN{
		Allocations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "allocations",
			Help: "TURN allocations currently open, by client transport.",
		}, []string{"transport"}),
		AllocationsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "allocations_total",
			Help: "TURN allocations made, by client transport.",
		}, []string{"transport"}),
		RelayedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "relayed_bytes_total",
			Help: "Payload bytes relayed, by client transport and direction (to_peer, to_client).",
		}, []string{"transport", "direction"}),
		RelayedPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "relayed_packets_total",
			Help: "Packets relayed, by client transport and direction (to_peer, to_client).",
		}, []string{"transport", "direction"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "dropped_packets_total",
			Help: "Relayed packets dropped, by reason (bandwidth: over the per-allocation rate; peer_self: addressed to the relay itself; probe_port: a connection test outside the media ports).",
		}, []string{"reason"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "refusals_total",
			Help: "TURN requests refused, by reason (peer ranges, credentials, quotas, rate limits).",
		}, []string{"reason"}),
		Credentials: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "turn", Name: "credentials_issued_total",
			Help: "Ephemeral TURN credentials issued to participants and connection tests.",
		}),
	}
	reg.MustRegister(t.Allocations, t.AllocationsTotal, t.RelayedBytes, t.RelayedPackets,
		t.Dropped, t.Refusals, t.Credentials)
	return t
}
