package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/sync/errgroup"

	"github.com/gatehouse/gatehouse/loadtest/media"
	"github.com/gatehouse/gatehouse/loadtest/rxstats"
)

// Bounds of the run's phases.
const (
	// bookingWorkers is how many calls are set up at once.
	bookingWorkers = 4
	// settle is the pause between the last call connecting and the steady
	// window, for the key frames asked for at the joins to pass.
	settle = 2 * time.Second
	// leaveTimeout bounds how long the participants take to hang up.
	leaveTimeout = 30 * time.Second
	// maxLatencySamples bounds the latency samples kept over the run.
	maxLatencySamples = 200000
	// pollInterval is how often the run checks whether calls connected.
	pollInterval = 100 * time.Millisecond
)

// runner is one run in progress.
type runner struct {
	cfg      Config
	log      *slog.Logger
	clip     *media.Clip
	wsURL    string
	loopback bool
	calls    []*call
	people   []*participant
	probe    *serverProbe
	start    time.Time

	// Owned by the monitor goroutine while it runs, then by Run.
	series   []Sample
	joins    []JoinSample
	recorded map[[2]string]bool
	prevRx   rxTotals
	prevSrv  ServerSample
	peakRSS  float64
	// Audio streams silent since, in the steady window; those silent for
	// audioStopAfter or more.
	silentSince map[rxKey]time.Time
	audioStops  map[rxKey]bool

	mu    sync.Mutex
	phase string
}

// Run books the calls, joins and measures them, and returns what it
// measured. The error is for a run that could not start (configuration,
// booking API); calls that fail to connect are in the Result (Result.OK).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	plans, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: cfg.Log, clip: cfg.Clip, recorded: map[[2]string]bool{}, phase: "booking"}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clip == nil {
		if r.clip, err = media.Load(); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server URL %q must be http(s)://host:port", ErrConfig, cfg.URL)
	}
	ws := *u
	ws.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	ws.Path = strings.TrimRight(u.Path, "/") + "/ws"
	r.wsURL = ws.String()
	r.loopback = isLoopbackHost(u.Hostname())
	r.probe = newServerProbe(cfg.URL, cfg.ServerPID)

	if err := r.book(ctx, plans); err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// book sets up every call through the booking API.
func (r *runner) book(ctx context.Context, plans []callPlan) error {
	api := newAPIClient(r.cfg.URL)
	if err := api.login(ctx, r.cfg.User, r.cfg.Password); err != nil {
		return err
	}
	maxContacts := 1
	for _, p := range plans {
		maxContacts = max(maxContacts, p.Participants-1)
	}
	length := r.cfg.Ramp + r.cfg.JoinTimeout + r.cfg.Duration + 2*time.Minute
	bk, err := newBooker(ctx, api, len(plans), maxContacts, length)
	if err != nil {
		return err
	}
	r.calls = make([]*call, len(plans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bookingWorkers)
	for i, p := range plans {
		g.Go(func() error {
			b, err := bk.book(gctx, i, fmt.Sprintf("%d", i+1), p.Participants-1)
			if err != nil {
				return fmt.Errorf("%w: call %d: %w", ErrSetup, i+1, err)
			}
			r.calls[i] = &call{index: i, plan: p, booked: b}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, c := range r.calls {
		for j, info := range c.booked.Participants {
			p := newParticipant(c, j, info)
			c.people = append(c.people, p)
			r.people = append(r.people, p)
		}
	}
	r.log.Info("calls booked", "calls", len(r.calls), "participants", len(r.people))
	return nil
}

func (r *runner) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

func (r *runner) getPhase() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run joins everyone over the ramp, waits for the calls to connect, holds
// the steady window, then hangs up and builds the result.
func (r *runner) run(ctx context.Context) *Result {
	r.start = time.Now()
	r.setPhase("joining")
	r.prevSrv = r.probe.sample(ctx)
	r.prevRx = r.rxTotals()
	monCtx, stopMonitor := context.WithCancel(ctx)
	var monitor sync.WaitGroup
	monitor.Go(func() { r.monitor(monCtx) })

	peopleCtx, hangUp := context.WithCancel(ctx)
	defer hangUp()
	var people sync.WaitGroup
	n := len(r.people)
	for i, p := range r.people {
		at := r.start
		if n > 1 {
			at = r.start.Add(r.cfg.Ramp * time.Duration(i) / time.Duration(n-1))
		}
		if !sleepUntil(ctx, at) {
			break
		}
		people.Go(func() { p.run(peopleCtx, r) })
	}
	rampEnd := time.Now()
	deadline := rampEnd.Add(r.cfg.JoinTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) && r.connectedCalls() < len(r.calls) {
		sleepUntil(ctx, time.Now().Add(pollInterval))
	}
	connected := time.Now()
	r.log.Info("joins done", "connected_calls", r.connectedCalls(), "calls", len(r.calls))

	sleepUntil(ctx, time.Now().Add(settle))
	r.setPhase("steady")
	srv0, rx0, self0 := r.probe.sample(ctx), r.rxTotals(), selfCPU()
	steadyStart := time.Now()
	sleepUntil(ctx, steadyStart.Add(r.cfg.Duration))
	// The window's end is read without ctx, so that a run cut short by its
	// deadline still reports the window it held.
	srv1, rx1, self1 := r.probe.sample(context.Background()), r.rxTotals(), selfCPU()
	steady := time.Since(steadyStart)

	r.setPhase("leaving")
	hangUp()
	done := make(chan struct{})
	go func() { people.Wait(); close(done) }() // ends when every participant has hung up
	select {
	case <-done:
	case <-time.After(leaveTimeout):
		r.log.Warn("participants did not hang up in time", "timeout", leaveTimeout)
	}
	stopMonitor()
	monitor.Wait()
	r.collectJoins()

	res := r.result()
	res.RampSeconds = rampEnd.Sub(r.start).Seconds()
	res.JoinWaitSeconds = connected.Sub(rampEnd).Seconds()
	res.SteadySeconds = steady.Seconds()
	r.steadyFigures(res, srv0, srv1, rx0, rx1, self1-self0, steady)
	return res
}

// connectedCalls counts calls in which everyone is connected.
func (r *runner) connectedCalls() int {
	n := 0
	for _, c := range r.calls {
		if r.callConnected(c) {
			n++
		}
	}
	return n
}

func (r *runner) callConnected(c *call) bool {
	infos := make([]peerInfo, len(c.people))
	for i, p := range c.people {
		infos[i] = p.peerInfo()
	}
	for _, p := range c.people {
		if ok, _ := p.connected(r.cfg.AudioOnly, infos); !ok {
			return false
		}
	}
	return true
}

// rxTotals are the receive counters summed over every stream, with each
// stream's byte count and current layer.
type rxTotals struct {
	bytes    map[string]uint64
	expected uint64
	lost     uint64
	frames   uint64
	freezes  uint64
	streams  map[rxKey]streamBytes
}

// rxKey names one received stream in the run.
type rxKey struct {
	receiver string
	key      streamKey
}

type streamBytes struct {
	bytes uint64
	layer string
}

func (r *runner) rxTotals() rxTotals {
	t := rxTotals{bytes: map[string]uint64{}, streams: map[rxKey]streamBytes{}}
	for _, p := range r.people {
		for _, s := range p.snapshot() {
			layer := s.stats.Layer
			if !s.video {
				layer = "audio"
			}
			t.streams[rxKey{p.info.ID, s.key}] = streamBytes{bytes: s.stats.Bytes, layer: layer}
			for l, b := range s.stats.BytesByLayer {
				t.bytes[l] += b
			}
			t.expected += s.stats.Expected
			t.lost += s.stats.Lost
			t.frames += s.stats.Frames
			t.freezes += s.stats.Freezes
		}
	}
	return t
}

// monitor samples the time series every SampleInterval until ctx ends.
func (r *runner) monitor(ctx context.Context) {
	tick := time.NewTicker(r.cfg.SampleInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.cfg.Progress != nil {
				fmt.Fprint(r.cfg.Progress, "\r\033[K")
			}
			return
		case <-tick.C:
			r.sample(ctx)
		}
	}
}

// audioStopAfter is how long a connected participant's audio stream may
// receive nothing in the steady window before the run counts it stopped:
// the clip's Opus sends a packet every 20 ms, so a few seconds without one
// means the media path broke, not that someone fell silent.
const audioStopAfter = 3 * time.Second

// watchAudio notes, from the sample rx taken at now, the audio streams
// that received nothing since the last sample, and counts those silent for
// audioStopAfter.
func (r *runner) watchAudio(rx rxTotals, now time.Time) {
	if r.silentSince == nil {
		r.silentSince, r.audioStops = map[rxKey]time.Time{}, map[rxKey]bool{}
	}
	for k, b := range rx.streams {
		prev, ok := r.prevRx.streams[k]
		if b.layer != "audio" || !ok {
			continue
		}
		if b.bytes > prev.bytes {
			delete(r.silentSince, k)
			continue
		}
		since, silent := r.silentSince[k]
		if !silent {
			// Silent since the previous sample at least.
			since = now.Add(-r.cfg.SampleInterval)
			r.silentSince[k] = since
		}
		if now.Sub(since) >= audioStopAfter && !r.audioStops[k] {
			r.audioStops[k] = true
			r.log.Warn("audio stopped", "receiver", k.receiver, "publisher", k.key.pid)
		}
	}
}

// sample adds one point to the series and redraws the progress line.
func (r *runner) sample(ctx context.Context) {
	now := time.Now()
	rx := r.rxTotals()
	srv := r.probe.sample(ctx)
	dt := now.Sub(r.prevSrv.At).Seconds()
	if dt <= 0 {
		return
	}
	s := Sample{T: now.Sub(r.start).Seconds(), Phase: r.getPhase(), KbpsByLayer: map[string]float64{},
		StreamsByLayer: map[string]int{}}
	for k, b := range rx.streams {
		if b.bytes > r.prevRx.streams[k].bytes {
			s.StreamsByLayer[b.layer]++ // received something in this interval
		}
	}
	total := 0.0
	for l, b := range rx.bytes {
		k := float64(b-r.prevRx.bytes[l]) * 8 / dt / 1000
		s.KbpsByLayer[l] = k
		total += k
	}
	if de := rx.expected - r.prevRx.expected; rx.expected > r.prevRx.expected && rx.lost > r.prevRx.lost {
		s.LossPercent = 100 * float64(rx.lost-r.prevRx.lost) / float64(de)
	}
	for _, p := range r.people {
		p.mu.Lock()
		if p.c != nil {
			s.Joined++
		}
		p.mu.Unlock()
	}
	s.Connected = r.connectedCalls()
	cpu0, cpu1 := r.prevSrv.CPUSeconds, srv.CPUSeconds
	if srv.Proc && r.prevSrv.Proc {
		cpu0, cpu1 = r.prevSrv.ProcCPUSeconds, srv.ProcCPUSeconds
	}
	if (srv.Proc || srv.Metrics) && cpu1 >= cpu0 {
		s.CPUPercent = 100 * (cpu1 - cpu0) / dt
	}
	s.RSSBytes = srv.RSSBytes
	if srv.Proc {
		s.RSSBytes = srv.ProcRSSBytes
		r.peakRSS = max(r.peakRSS, srv.ProcPeakRSS)
	}
	r.peakRSS = max(r.peakRSS, s.RSSBytes)
	r.series = append(r.series, s)
	if s.Phase == "steady" {
		r.watchAudio(rx, now)
	}
	r.prevRx, r.prevSrv = rx, srv
	r.collectJoins()

	if r.cfg.Progress != nil {
		js := rxstats.NewDist(len(r.joins) + 1)
		for _, j := range r.joins {
			js.Add(j.Ms)
		}
		fmt.Fprintf(r.cfg.Progress, "\r\033[K[%4.0fs] %-7s joined %d/%d  calls connected %d/%d  rx %.1f Mbit/s  loss %.2f%%  join p95 %.0f ms  server CPU %.0f%%",
			s.T, s.Phase, s.Joined, len(r.people), s.Connected, len(r.calls), total/1000, s.LossPercent,
			js.Summary().P95, s.CPUPercent)
	}
}

// collectJoins records the join time of each receiver and publisher pair
// that has a first decodable frame and was not recorded yet.
func (r *runner) collectJoins() {
	for _, c := range r.calls {
		dial := map[string]time.Time{}
		for _, p := range c.people {
			dial[p.info.ID] = p.peerInfo().dialAt
		}
		for _, p := range c.people {
			for pid, at := range p.firstFrames() {
				key := [2]string{p.info.ID, pid}
				if r.recorded[key] || dial[pid].IsZero() {
					continue
				}
				r.recorded[key] = true
				from := maxTime(dial[p.info.ID], dial[pid])
				r.joins = append(r.joins, JoinSample{T: at.Sub(r.start).Seconds(),
					Ms: float64(at.Sub(from)) / float64(time.Millisecond), Call: c.booked.Reference,
					Receiver: p.info.ID, From: pid})
			}
		}
	}
}

// result builds everything but the steady window's figures.
func (r *runner) result() *Result {
	res := &Result{Scenario: r.cfg.Scenario, Calls: len(r.calls), Participants: len(r.people),
		Simulcast: r.cfg.Simulcast && !r.cfg.AudioOnly, AudioOnly: r.cfg.AudioOnly, StartedAt: r.start,
		Series: r.series, Joins: r.joins, Bitrate: map[string]LayerRate{}, AudioStops: len(r.audioStops)}
	joins := rxstats.NewDist(len(r.joins) + 1)
	for _, j := range r.joins {
		joins.Add(j.Ms)
	}
	res.JoinMs = joins.Summary()
	lat, alat := rxstats.NewDist(maxLatencySamples), rxstats.NewDist(maxLatencySamples)
	vj, aj := rxstats.NewDist(100000), rxstats.NewDist(100000)
	var expected, lost uint64
	var freezeTime time.Duration
	for _, c := range r.calls {
		cr := CallResult{Reference: c.booked.Reference, Kind: c.plan.Kind, Connected: r.callConnected(c)}
		res.RelayOnly = res.RelayOnly || c.plan.RelayOnly
		infos := make([]peerInfo, len(c.people))
		for i, p := range c.people {
			infos[i] = p.peerInfo()
		}
		for _, p := range c.people {
			ok, _ := p.connected(r.cfg.AudioOnly, infos)
			pr := ParticipantResult{ID: p.info.ID, Name: p.info.Name, Role: p.info.Role, Publishes: p.publishes,
				Connected: ok, BytesIn: map[string]uint64{}}
			if p.publishes {
				res.Publishers++
			}
			var pe, pl uint64
			for _, s := range p.snapshot() {
				st := s.stats
				for l, b := range st.BytesByLayer {
					pr.BytesIn[l] += b
				}
				pe += st.Expected
				pl += st.Lost
				pr.Frames += st.Frames
				pr.Freezes += st.Freezes
				pr.JitterMs = max(pr.JitterMs, st.JitterMs)
				pr.MaxGap = max(pr.MaxGap, st.MaxGap)
				freezeTime += st.FreezeTime
				if s.video {
					vj.Add(st.JitterMs)
					pr.Receiving = append(pr.Receiving, st.Layer)
				} else {
					aj.Add(st.JitterMs)
				}
				res.ReceivedStreams++
			}
			expected += pe
			lost += pl
			pr.Loss = newLoss(pe, pl)
			res.Frames += pr.Frames
			res.Freezes += pr.Freezes
			for _, j := range r.joins {
				if j.Receiver == p.info.ID {
					pr.JoinMs = max(pr.JoinMs, j.Ms)
				}
			}
			p.mu.Lock()
			for _, s := range p.streams {
				if s.kind == webrtc.RTPCodecTypeVideo {
					lat.AddAll(s.Latency())
				} else {
					alat.AddAll(s.Latency())
				}
			}
			if p.err != nil {
				pr.Error = p.err.Error()
				res.Errors = append(res.Errors, fmt.Sprintf("%s %s: %v", c.booked.Reference, p.info.Name, p.err))
			}
			pr.Ended = p.ended
			pr.Sent = p.sent
			p.mu.Unlock()
			cr.Participants = append(cr.Participants, pr)
		}
		if cr.Connected {
			res.ConnectedCalls++
		} else {
			res.FailedCalls++
		}
		res.CallResults = append(res.CallResults, cr)
	}
	res.Loss = newLoss(expected, lost)
	res.FreezeSeconds = freezeTime.Seconds()
	res.LatencyMs, res.AudioLatencyMs = lat.Summary(), alat.Summary()
	res.VideoJitterMs, res.AudioJitterMs = vj.Summary(), aj.Summary()
	return res
}

// steadyFigures fills in the steady window's rates and the server's
// efficiency.
func (r *runner) steadyFigures(res *Result, srv0, srv1 ServerSample, rx0, rx1 rxTotals, loadCPU float64, window time.Duration) {
	secs := window.Seconds()
	if secs <= 0 {
		return
	}
	if rx1.expected >= rx0.expected {
		lost := uint64(0)
		if rx1.lost > rx0.lost {
			lost = rx1.lost - rx0.lost
		}
		res.SteadyLoss = newLoss(rx1.expected-rx0.expected, lost)
	}
	if rx1.freezes >= rx0.freezes {
		res.SteadyFreezes = rx1.freezes - rx0.freezes
	}
	// Streams per layer: the average over the window's samples of the
	// streams that received something on that layer.
	streams := map[string]float64{}
	n := 0
	for _, smp := range r.series {
		if smp.Phase != "steady" {
			continue
		}
		n++
		for l, c := range smp.StreamsByLayer {
			streams[l] += float64(c)
		}
	}
	for l := range streams {
		streams[l] /= float64(n)
	}
	for _, l := range slices.Collect(maps.Keys(rx1.bytes)) {
		kbps := float64(rx1.bytes[l]-rx0.bytes[l]) * 8 / secs / 1000
		if kbps == 0 {
			continue // e.g. bytes before the first key frame ("unknown")
		}
		lr := LayerRate{TotalKbps: kbps, Streams: streams[l]}
		if lr.Streams > 0 {
			lr.PerStreamKbps = kbps / lr.Streams
		}
		res.Bitrate[l] = lr
	}

	s := &res.Server
	s.LoadCPUSeconds = loadCPU
	s.PeakRSSBytes = r.peakRSS
	var notes []string
	if srv0.Metrics && srv1.Metrics {
		s.Forwarded = srv1.Forwarded - srv0.Forwarded
		s.Retransmitted = srv1.Retransmitted - srv0.Retransmitted
		s.MetricsCPUSeconds = srv1.CPUSeconds - srv0.CPUSeconds
		s.CPUSeconds, s.CPUSource = s.MetricsCPUSeconds, "metrics"
		s.RSSBytes = srv1.RSSBytes
	} else {
		notes = append(notes, "the server's /metrics could not be read")
	}
	if srv0.Proc && srv1.Proc {
		s.ProcCPUSeconds = srv1.ProcCPUSeconds - srv0.ProcCPUSeconds
		s.SystemCPUSeconds = srv1.ProcSystemCPUSeconds - srv0.ProcSystemCPUSeconds
		s.CPUSeconds, s.CPUSource = s.ProcCPUSeconds, "proc"
		s.RSSBytes = srv1.ProcRSSBytes
		s.PeakRSSBytes = max(s.PeakRSSBytes, srv1.ProcPeakRSS)
	}
	if r.cfg.ServerPID == os.Getpid() {
		notes = append(notes, "the server runs in this process: its CPU time includes the clients'")
	}
	s.CPUPercent = 100 * s.CPUSeconds / secs
	if s.CPUSeconds > 0 {
		s.PacketsPerCPUSecond = (s.Forwarded + s.Retransmitted) / s.CPUSeconds
	}
	s.Note = strings.Join(notes, "; ")
}

// selfCPU returns this process's CPU time so far (0 when unreadable).
func selfCPU() float64 {
	cpu, err := procCPUSeconds(os.Getpid())
	if err != nil {
		return 0
	}
	return cpu
}
