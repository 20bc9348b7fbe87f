package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/loadtest/rxstats"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// Result is everything a run measured. It marshals to the --json output.
type Result struct {
	Scenario     Scenario  `json:"scenario"`
	Calls        int       `json:"calls"`
	Participants int       `json:"participants"`
	Publishers   int       `json:"publishers"`
	Simulcast    bool      `json:"simulcast"`
	AudioOnly    bool      `json:"audioOnly"`
	RelayOnly    bool      `json:"relayOnly"`
	StartedAt    time.Time `json:"startedAt"`
	// RampSeconds is how long the joins took to start; JoinWaitSeconds how
	// long after that it took every call to connect (or the join timeout).
	RampSeconds     float64 `json:"rampSeconds"`
	JoinWaitSeconds float64 `json:"joinWaitSeconds"`
	// SteadySeconds is the steady window over which rates are computed.
	SteadySeconds float64 `json:"steadySeconds"`

	// ConnectedCalls counts calls in which everyone received a decodable
	// frame from everyone else within the join timeout.
	ConnectedCalls int `json:"connectedCalls"`
	FailedCalls    int `json:"failedCalls"`
	// AudioStops counts the audio streams that received nothing for
	// audioStopAfter or more in the steady window: the media path broke
	// mid-call.
	AudioStops int      `json:"audioStops"`
	Errors     []string `json:"errors,omitempty"`

	// JoinMs: for each receiver and publisher, from the later of their
	// WebSocket opens to the receiver's first decodable frame of the
	// publisher's video.
	JoinMs rxstats.Summary `json:"joinMs"`
	// LatencyMs is arrival minus capture time (abs-capture-time header
	// extension) per decodable video frame; AudioLatencyMs per audio
	// packet. Count 0: the server did not pass the extension on.
	LatencyMs      rxstats.Summary `json:"latencyMs"`
	AudioLatencyMs rxstats.Summary `json:"audioLatencyMs"`
	// JitterMs is the RFC 3550 jitter of each received stream at the end.
	VideoJitterMs rxstats.Summary `json:"videoJitterMs"`
	AudioJitterMs rxstats.Summary `json:"audioJitterMs"`
	// Loss over the whole run and over the steady window.
	Loss       Loss `json:"loss"`
	SteadyLoss Loss `json:"steadyLoss"`
	// Frames decodable, freezes (WebRTC's definition) over the run.
	Frames          uint64  `json:"frames"`
	Freezes         uint64  `json:"freezes"`
	FreezeSeconds   float64 `json:"freezeSeconds"`
	SteadyFreezes   uint64  `json:"steadyFreezes"`
	ReceivedStreams int     `json:"receivedStreams"`
	// Bitrate received, by layer (q, h, f, audio), over the steady window.
	Bitrate map[string]LayerRate `json:"bitrate"`

	Server ServerResult `json:"server"`

	CallResults []CallResult `json:"callResults"`
	Series      []Sample     `json:"series"`
	Joins       []JoinSample `json:"joins"`
}

// Loss counts packets expected and lost (gaps never filled).
type Loss struct {
	Expected uint64  `json:"expected"`
	Lost     uint64  `json:"lost"`
	Percent  float64 `json:"percent"`
}

func newLoss(expected, lost uint64) Loss {
	l := Loss{Expected: expected, Lost: lost}
	if expected > 0 {
		l.Percent = 100 * float64(lost) / float64(expected)
	}
	return l
}

// LayerRate is the received bitrate of one layer over the steady window, in
// total and per stream: Streams is the average number of streams receiving
// that layer (a stream the server switches between layers counts for each
// in proportion).
type LayerRate struct {
	TotalKbps     float64 `json:"totalKbps"`
	Streams       float64 `json:"streams"`
	PerStreamKbps float64 `json:"perStreamKbps"`
}

// ServerResult is the server's side of the steady window.
type ServerResult struct {
	// Forwarded and Retransmitted are the increases of
	// gatehouse_sfu_forwarded_packets_total and
	// gatehouse_sfu_retransmitted_packets_total (0 when absent).
	Forwarded     float64 `json:"forwardedPackets"`
	Retransmitted float64 `json:"retransmittedPackets"`
	// CPUSeconds is the server's CPU time (user + system) in the window,
	// from /proc when the process is on this machine (CPUSource "proc"),
	// else from process_cpu_seconds_total ("metrics").
	CPUSeconds float64 `json:"cpuSeconds"`
	CPUSource  string  `json:"cpuSource"`
	CPUPercent float64 `json:"cpuPercent"`
	// PacketsPerCPUSecond is (Forwarded + Retransmitted) / CPUSeconds.
	PacketsPerCPUSecond float64 `json:"packetsPerCpuSecond"`
	RSSBytes            float64 `json:"rssBytes"`
	PeakRSSBytes        float64 `json:"peakRssBytes"`
	MetricsCPUSeconds   float64 `json:"metricsCpuSeconds"`
	ProcCPUSeconds      float64 `json:"procCpuSeconds"`
	// SystemCPUSeconds is the part of CPUSeconds spent in the kernel,
	// known only from /proc: system calls, which on loopback include
	// delivering each datagram sent and waking its receiver. It is the
	// floor under the server's own work.
	SystemCPUSeconds float64 `json:"systemCpuSeconds"`
	// LoadCPUSeconds is this tool's own CPU time in the window: it shares
	// the machine with the server on loopback runs.
	LoadCPUSeconds float64 `json:"loadCpuSeconds"`
	Note           string  `json:"note,omitempty"`
}

// CallResult is one call.
type CallResult struct {
	Reference    string              `json:"reference"`
	Kind         string              `json:"kind"`
	Connected    bool                `json:"connected"`
	Participants []ParticipantResult `json:"participants"`
}

// ParticipantResult is one participant of a call.
type ParticipantResult struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Publishes bool   `json:"publishes"`
	Connected bool   `json:"connected"`
	// JoinMs is the longest of this participant's join times (one per
	// other publisher).
	JoinMs   float64 `json:"joinMs"`
	Error    string  `json:"error,omitempty"`
	Ended    string  `json:"ended,omitempty"`
	Frames   uint64  `json:"frames"`
	Freezes  uint64  `json:"freezes"`
	Loss     Loss    `json:"loss"`
	JitterMs float64 `json:"maxJitterMs"`
	// MaxGap is the largest sequence jump in any stream received: a loss
	// of hundreds of packets at once is a discontinuity, not congestion.
	MaxGap    int64               `json:"maxGap"`
	BytesIn   map[string]uint64   `json:"bytesByLayer"`
	Sent      []client.LayerStats `json:"sent,omitempty"`
	Receiving []string            `json:"receiving,omitempty"` // current layer of each video stream
}

// Sample is one point of the time series.
type Sample struct {
	T           float64            `json:"t"` // seconds since the first join
	Phase       string             `json:"phase"`
	KbpsByLayer map[string]float64 `json:"kbpsByLayer"`
	// StreamsByLayer counts the streams that received something on each
	// layer in the interval.
	StreamsByLayer map[string]int `json:"streamsByLayer"`
	LossPercent    float64        `json:"lossPercent"`
	Joined         int            `json:"joined"`
	Connected      int            `json:"connectedCalls"`
	CPUPercent     float64        `json:"serverCpuPercent"`
	RSSBytes       float64        `json:"serverRssBytes"`
}

// JoinSample is one join time.
type JoinSample struct {
	T        float64 `json:"t"` // seconds since the first join, at the first frame
	Ms       float64 `json:"ms"`
	Call     string  `json:"call"`
	Receiver string  `json:"receiver"`
	From     string  `json:"from"`
}

// OK reports whether every call connected and no audio stopped.
func (r *Result) OK() bool {
	return r.FailedCalls == 0 && r.ConnectedCalls == r.Calls && r.AudioStops == 0
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// layerOrder sorts layer names q, h, f, audio, then the rest.
func layerOrder(names []string) []string {
	rank := map[string]int{"q": 0, "h": 1, "f": 2, "audio": 3}
	slices.SortFunc(names, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// WriteSummary writes a short human-readable summary.
func (r *Result) WriteSummary(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Scenario %s: %d calls, %d participants (%d publishing), simulcast %v, relay only %v",
		r.Scenario, r.Calls, r.Participants, r.Publishers, r.Simulcast, r.RelayOnly)
	p("Connected calls: %d of %d (ramp %.1f s, all connected %.1f s later, steady window %.1f s)",
		r.ConnectedCalls, r.Calls, r.RampSeconds, r.JoinWaitSeconds, r.SteadySeconds)
	p("Join time (WebSocket open to first decodable frame): p50 %.0f ms, p95 %.0f ms, p99 %.0f ms (%d)",
		r.JoinMs.P50, r.JoinMs.P95, r.JoinMs.P99, r.JoinMs.Count)
	if r.LatencyMs.Count > 0 || r.AudioLatencyMs.Count > 0 {
		p("Latency (capture to decodable): video p50 %.1f ms, p95 %.1f ms, p99 %.1f ms; audio p50 %.1f ms, p95 %.1f ms",
			r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.AudioLatencyMs.P50, r.AudioLatencyMs.P95)
	} else {
		p("Latency: not measured (no abs-capture-time extension arrived)")
	}
	p("Loss: %.3f%% over the run (%d of %d), %.3f%% in the steady window",
		r.Loss.Percent, r.Loss.Lost, r.Loss.Expected, r.SteadyLoss.Percent)
	p("Jitter: video p50 %.1f ms, p95 %.1f ms; audio p50 %.1f ms, p95 %.1f ms",
		r.VideoJitterMs.P50, r.VideoJitterMs.P95, r.AudioJitterMs.P50, r.AudioJitterMs.P95)
	p("Frames: %d decodable in %d streams; freezes %d (%.1f s), %d in the steady window",
		r.Frames, r.ReceivedStreams, r.Freezes, r.FreezeSeconds, r.SteadyFreezes)
	p("Audio streams stopped for %v or more in the steady window: %d", audioStopAfter, r.AudioStops)
	var rates []string
	for _, l := range layerOrder(slices.Collect(maps.Keys(r.Bitrate))) {
		lr := r.Bitrate[l]
		rates = append(rates, fmt.Sprintf("%s %.0f kbit/s (%.1f streams, %.0f each)", l, lr.TotalKbps, lr.Streams, lr.PerStreamKbps))
	}
	p("Received bitrate: %s", strings.Join(rates, "; "))
	s := r.Server
	p("Server: %.0f packets sent (%.0f forwarded + %.0f retransmitted) in %.2f CPU-s (%s, %.0f%% of a core): %.0f packets per CPU-second",
		s.Forwarded+s.Retransmitted, s.Forwarded, s.Retransmitted, s.CPUSeconds, s.CPUSource, s.CPUPercent, s.PacketsPerCPUSecond)
	if sent := s.Forwarded + s.Retransmitted; s.SystemCPUSeconds > 0 && sent > 0 {
		p("Server kernel time: %.2f CPU-s (%.0f%%), %.1f us per packet sent",
			s.SystemCPUSeconds, 100*s.SystemCPUSeconds/s.CPUSeconds, 1e6*s.SystemCPUSeconds/sent)
	}
	p("Server memory: RSS %.0f MB, peak %.0f MB; this tool used %.2f CPU-s in the window",
		s.RSSBytes/1e6, s.PeakRSSBytes/1e6, s.LoadCPUSeconds)
	if s.Note != "" {
		p("Note: %s", s.Note)
	}
	for _, c := range r.CallResults {
		if c.Connected {
			continue
		}
		p("Call %s (%s) did not connect:", c.Reference, c.Kind)
		for _, pr := range c.Participants {
			state := "connected"
			if !pr.Connected {
				state = "NOT connected"
			}
			p("  %s (%s): %s %s %s", pr.Name, pr.Role, state, pr.Error, pr.Ended)
		}
	}
	for _, e := range r.Errors {
		p("Error: %s", e)
	}
}
