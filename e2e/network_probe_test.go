package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime/metrics"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/loadtest/media"
	"github.com/gatehouse/gatehouse/loadtest/rxstats"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// Receive-side measurement for the network-condition tests
// (network_test.go): what one subscriber's decoder and audio playout would
// see, taken from client.Options.OnRTP.

// probe measures everything one client receives: decodable video frames
// with the layer they belong to (by VP8 key-frame size), bytes per layer,
// and every audio packet's first arrival by sequence number. Like a
// browser, it asks for a key frame when its decoder is stuck.
type probe struct {
	name string
	clip *media.Clip

	mu     sync.Mutex
	c      *client.Client
	video  map[uint32]*rxstats.Stream
	frames map[uint32]uint64 // decodable frames counted so far, by SSRC
	events []frameEvent      // each decodable frame, in order
	audio  audioLog
	plis   int
}

// frameEvent is one frame becoming decodable.
type frameEvent struct {
	at    time.Time
	layer string
}

func newProbe(name string, clip *media.Clip) *probe {
	return &probe{name: name, clip: clip, video: map[uint32]*rxstats.Stream{}, frames: map[uint32]uint64{},
		audio: audioLog{arrivals: map[int64]audioArrival{}}}
}

// setClient lets the probe read extension ids and send key-frame requests.
func (p *probe) setClient(c *client.Client) {
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
}

// onRTP is the client's Options.OnRTP.
func (p *probe) onRTP(_ string, kind webrtc.RTPCodecType, pkt *rtp.Packet, at time.Time) {
	if kind == webrtc.RTPCodecTypeAudio {
		p.mu.Lock()
		p.audio.add(pkt, at)
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	s := p.video[pkt.SSRC]
	if s == nil {
		s = rxstats.NewStream(rxstats.Options{Video: true, ClockRate: 90000, LayerName: p.clip.LayerName})
		p.video[pkt.SSRC] = s
	}
	if s.CaptureTimeID() == 0 && p.c != nil {
		s.SetCaptureTimeID(p.c.ReceivedExtensionID(webrtc.RTPCodecTypeVideo, rtcconf.AbsCaptureTimeURI))
	}
	s.Packet(pkt, at)
	st := s.Stats()
	for n := p.frames[pkt.SSRC]; n < st.Frames; n++ {
		p.events = append(p.events, frameEvent{at: at, layer: st.Layer})
	}
	p.frames[pkt.SSRC] = st.Frames
	c := p.c
	pli := c != nil && s.KeyframeRequest(at)
	if pli {
		p.plis++
	}
	p.mu.Unlock()
	if pli {
		_ = c.RequestKeyframe(pkt.SSRC) // best effort, as a browser's PLI
	}
}

// layerBytes returns the video bytes received so far by layer name.
func (p *probe) layerBytes() map[string]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]uint64{}
	for _, s := range p.video {
		for k, v := range s.Stats().BytesByLayer {
			out[k] += v
		}
	}
	return out
}

// videoStats returns the rxstats figures of every video stream.
func (p *probe) videoStats() []rxstats.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]rxstats.Stats, 0, len(p.video))
	for _, s := range p.video {
		out = append(out, s.Stats())
	}
	return out
}

// frameEvents returns a copy of the decodable frames so far.
func (p *probe) frameEvents() []frameEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// audioReport returns the audio figures for the packets due (sent, by
// their place in the stream, plus the smallest transit) between from and
// to; a zero from means since the first. Packets due after to are left
// out, so that those whose retransmission may still be on its way are not
// counted as lost.
func (p *probe) audioReport(from, to time.Time) audioReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audio.report(from, to)
}

// keyframeRequests returns how many PLIs the probe sent.
func (p *probe) keyframeRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plis
}

// videoWindow is what a probe decoded between from and to.
type videoWindow struct {
	frames      int
	fps         float64
	byLayer     map[string]int // frames by layer
	maxGap      time.Duration  // longest time without a new decodable frame
	maxGapEnded time.Time      // when that gap ended
}

// window summarises the decodable frames in [from, to]. A gap that began
// before from counts only from from; the time from the last frame to to
// counts as a gap.
func (p *probe) window(from, to time.Time) videoWindow {
	w := videoWindow{byLayer: map[string]int{}}
	last := from
	for _, e := range p.frameEvents() {
		if e.at.Before(from) {
			continue
		}
		if e.at.After(to) {
			break
		}
		w.frames++
		w.byLayer[e.layer]++
		if gap := e.at.Sub(last); gap > w.maxGap {
			w.maxGap, w.maxGapEnded = gap, e.at
		}
		last = e.at
	}
	if gap := to.Sub(last); gap > w.maxGap {
		w.maxGap, w.maxGapEnded = gap, to
	}
	if d := to.Sub(from).Seconds(); d > 0 {
		w.fps = float64(w.frames) / d
	}
	return w
}

// audioLog keeps the first arrival of every audio packet by extended
// sequence number (one stream: the test has one audio publisher).
type audioLog struct {
	started    bool
	ssrc       uint32
	highest    int64 // extended sequence number
	highTS     int64 // extended RTP timestamp of the highest packet
	arrivals   map[int64]audioArrival
	duplicates int
	ssrcs      int // streams seen (a new SSRC restarts the log)
}

// audioArrival is one audio packet's first arrival.
type audioArrival struct {
	at     time.Time
	ts     int64 // extended RTP timestamp
	filled bool  // arrived after a later packet: a retransmission (or reordering)
}

func (a *audioLog) add(pkt *rtp.Packet, at time.Time) {
	if !a.started || pkt.SSRC != a.ssrc {
		*a = audioLog{started: true, ssrc: pkt.SSRC, highest: int64(pkt.SequenceNumber),
			highTS: int64(pkt.Timestamp), arrivals: map[int64]audioArrival{}, ssrcs: a.ssrcs + 1}
		a.arrivals[a.highest] = audioArrival{at: at, ts: a.highTS}
		return
	}
	seq := a.highest + int64(int16(pkt.SequenceNumber-uint16(a.highest)))
	ts := a.highTS + int64(int32(pkt.Timestamp-uint32(a.highTS)))
	if _, ok := a.arrivals[seq]; ok {
		a.duplicates++
		return
	}
	a.arrivals[seq] = audioArrival{at: at, ts: ts, filled: seq < a.highest}
	if seq > a.highest {
		a.highest, a.highTS = seq, ts
	}
}

// audioReport is the audio a subscriber received.
type audioReport struct {
	Expected, Received, Lost int // packets, by sequence number
	Filled                   int // arrived out of order: recovered by NACK
	Duplicates               int
	Streams                  int
	// Lateness of each packet behind the earliest-arriving packet's pace
	// (arrival minus RTP time, less the smallest such transit), ms.
	LateP50, LateP95, LateP99, LateMax float64
	// Late100, Late250 and Late500 count packets more than 100, 250 and
	// 500 ms behind that pace: a jitter buffer that deep would have played
	// them; a shallower one conceals them as lost.
	Late100, Late250, Late500 int
	// FilledLateP50 and FilledLateMax are the lateness of the recovered
	// packets alone, ms.
	FilledLateP50, FilledLateMax float64
}

// LossPercent is the residual loss: packets never received.
func (r audioReport) LossPercent() float64 {
	if r.Expected == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(r.Expected)
}

func (r audioReport) String() string {
	return fmt.Sprintf("%d expected, %d received, %d never received (%.2f%%), %d recovered by NACK, %d duplicates; "+
		"lateness p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms; later than 100/250/500 ms: %d/%d/%d; "+
		"recovered packets' lateness p50 %.0f ms, max %.0f ms",
		r.Expected, r.Received, r.Lost, r.LossPercent(), r.Filled, r.Duplicates,
		r.LateP50, r.LateP95, r.LateP99, r.LateMax, r.Late100, r.Late250, r.Late500, r.FilledLateP50, r.FilledLateMax)
}

func (a *audioLog) report(from, to time.Time) audioReport {
	r := audioReport{Duplicates: a.duplicates, Streams: a.ssrcs}
	if len(a.arrivals) == 0 {
		return r
	}
	type arr struct {
		seq int64
		audioArrival
	}
	all := make([]arr, 0, len(a.arrivals))
	for seq, v := range a.arrivals {
		all = append(all, arr{seq, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	// transit is arrival minus RTP time, in ms, relative to the first packet.
	base := all[0]
	transit := func(v audioArrival) float64 {
		return float64(v.at.Sub(base.at))/float64(time.Millisecond) - float64(v.ts-base.ts)/48
	}
	minTransit := transit(base.audioArrival)
	for _, v := range all {
		minTransit = min(minTransit, transit(v.audioArrival))
	}
	due := func(v audioArrival) time.Time {
		return base.at.Add(time.Duration((float64(v.ts-base.ts)/48 + minTransit) * float64(time.Millisecond)))
	}
	// The window, in sequence numbers: from the first packet due at or
	// after from to the last due at or before to.
	var first, last int64
	found := false
	for _, v := range all {
		d := due(v.audioArrival)
		if d.Before(from) {
			continue
		}
		if d.After(to) {
			break
		}
		if !found {
			first, found = v.seq, true
		}
		last = v.seq
	}
	if !found {
		return r
	}
	var late, filledLate []float64
	for _, v := range all {
		if v.seq < first || v.seq > last {
			continue
		}
		r.Received++
		l := transit(v.audioArrival) - minTransit
		late = append(late, l)
		if v.filled {
			r.Filled++
			filledLate = append(filledLate, l)
		}
		switch {
		case l > 500:
			r.Late500++
			fallthrough
		case l > 250:
			r.Late250++
			fallthrough
		case l > 100:
			r.Late100++
		}
	}
	r.Expected = int(last - first + 1)
	r.Lost = r.Expected - r.Received
	slices.Sort(late)
	slices.Sort(filledLate)
	r.LateP50, r.LateP95, r.LateP99 = rxstats.Percentile(late, 50), rxstats.Percentile(late, 95), rxstats.Percentile(late, 99)
	if len(late) > 0 {
		r.LateMax = late[len(late)-1]
	}
	r.FilledLateP50 = rxstats.Percentile(filledLate, 50)
	if len(filledLate) > 0 {
		r.FilledLateMax = filledLate[len(filledLate)-1]
	}
	return r
}

// dropFrom returns a router filter that loses percent of the packets a
// host sends: with the loss of its own inbound filter, the host's path
// loses packets both ways.
func dropFrom(ip string, percent int) vnet.ChunkFilter {
	src := net.ParseIP(ip)
	return func(c vnet.Chunk) bool {
		a, ok := c.SourceAddr().(*net.UDPAddr)
		if !ok || !a.IP.Equal(src) {
			return true
		}
		return rand.IntN(100) >= percent
	}
}

// sfuMetrics returns the media server's gatehouse_sfu_ samples, one line
// each, for the log.
func sfuMetrics(t *testing.T, srv *testkit.Server) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatalf("metrics request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("get metrics: %v", err)
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("read metrics: %v", err)
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "gatehouse_sfu_") {
			out = append(out, l)
		}
	}
	return out
}

// schedGauge reads the Go runtime's scheduling latencies (how long
// goroutines waited to run once runnable) over an interval: on a machine too
// busy to run the process's goroutines on time, the simulated network and
// the peers' packet handling fall behind by themselves.
type schedGauge struct {
	start *metrics.Float64Histogram
}

const schedLatencies = "/sched/latencies:seconds"

func startSchedGauge() schedGauge {
	return schedGauge{start: readSchedLatencies()}
}

func readSchedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// quantile returns the q-quantile (0..1) of the scheduling latencies since
// the gauge started (the upper bound of the bucket it falls in), and how
// many goroutine wake-ups that covers.
func (g schedGauge) quantile(q float64) (time.Duration, uint64) {
	end := readSchedLatencies()
	if g.start == nil || end == nil || len(end.Counts) != len(g.start.Counts) {
		return 0, 0
	}
	counts := make([]uint64, len(end.Counts))
	var total uint64
	for i := range counts {
		counts[i] = end.Counts[i] - g.start.Counts[i]
		total += counts[i]
	}
	if total == 0 {
		return 0, 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, n := range counts {
		seen += n
		if seen >= want {
			upper := end.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = end.Buckets[i]
			}
			return time.Duration(upper * float64(time.Second)), total
		}
	}
	return 0, total
}
