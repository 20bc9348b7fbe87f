// Package metrics holds Gatehouse's Prometheus collectors. One Metrics value
// is created per process and handed to the packages that update it; there
// are no package-level collectors.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors shared by the roles of one process.
type Metrics struct {
	Registry *prometheus.Registry

	Rooms            prometheus.Gauge
	Participants     prometheus.Gauge
	PublishedTracks  prometheus.Gauge
	ForwardedPackets prometheus.Counter
	ForwardedBytes   prometheus.Counter
	FastPathPackets  prometheus.Counter
	Admissions       *prometheus.CounterVec
	BookingsCreated  prometheus.Counter
	BookingsRefused  *prometheus.CounterVec
	SignallingErrors *prometheus.CounterVec
	CallsEnded       *prometheus.CounterVec

	// Resumes counts joins that took back a place held for the participant
	// with resume (after a dropped connection, or from a new one).
	Resumes prometheus.Counter
	// ReconnectGraceExpired counts places given up because the participant
	// did not come back within the reconnect grace.
	ReconnectGraceExpired prometheus.Counter
}

// New registers every collector on a fresh registry, with the Go runtime and
// process collectors (CPU seconds, RSS) alongside.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		Rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "rooms",
			Help: "Rooms (calls) currently open on this node.",
		}),
		Participants: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "participants",
			Help: "Participants currently connected to rooms on this node.",
		}),
		PublishedTracks: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "published_tracks",
			Help: "Audio and video tracks currently published to this node.",
		}),
		ForwardedPackets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "forwarded_packets_total",
			Help: "RTP packets sent to subscribers.",
		}),
		ForwardedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "forwarded_bytes_total",
			Help: "RTP payload and header bytes sent to subscribers.",
		}),
		FastPathPackets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "sfu", Name: "fast_path_packets_total",
			Help: "RTP packets from publishers decrypted and forwarded by their socket's reader (the receive fast path).",
		}),
		Admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "signalling", Name: "admissions_total",
			Help: "Join attempts by result (admitted or the refusal code).",
		}, []string{"result"}),
		BookingsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "booking", Name: "created_total",
			Help: "Bookings confirmed.",
		}),
		BookingsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "booking", Name: "refused_total",
			Help: "Booking requests refused, by reason code.",
		}, []string{"reason"}),
		SignallingErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "signalling", Name: "errors_total",
			Help: "Error messages sent to clients, by code.",
		}, []string{"code"}),
		CallsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatehouse", Subsystem: "signalling", Name: "calls_ended_total",
			Help: "Calls ended, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.Rooms, m.Participants, m.PublishedTracks, m.ForwardedPackets,
		m.ForwardedBytes, m.FastPathPackets, m.Admissions, m.BookingsCreated, m.BookingsRefused,
		m.SignallingErrors, m.CallsEnded)
	m.Resumes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "gatehouse", Subsystem: "signalling", Name: "resumes_total",
		Help: "Joins that took back a place held for the participant (reconnections).",
	})
	m.ReconnectGraceExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "gatehouse", Subsystem: "signalling", Name: "reconnect_grace_expired_total",
		Help: "Places given up because the participant did not reconnect within the grace period.",
	})
	reg.MustRegister(m.Resumes, m.ReconnectGraceExpired)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
