package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
	"github.com/gatehouse/gatehouse/loadtest/rxstats"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// extensionRetry is how many packets of a stream pass between two looks
// for the negotiated capture-time extension id.
const extensionRetry = 100

// call is one booked call and its participants.
type call struct {
	index  int
	plan   callPlan
	booked bookedCall
	people []*participant
}

// participant is one client in a call: it joins, publishes if its plan
// says so, and measures everything it receives.
type participant struct {
	call      *call
	index     int
	info      bookedParticipant
	publishes bool

	mu          sync.Mutex
	dialAt      time.Time // when the WebSocket was being opened
	joinedAt    time.Time // welcome received
	c           *client.Client
	pub         *client.Publisher
	streams     map[streamKey]*rxStream
	fromPeer    map[string]*peerView // by publishing participant id
	err         error
	ended       string
	connectedAt time.Time
	sent        []client.LayerStats
}

type streamKey struct {
	pid  string
	ssrc uint32
}

// rxStream is one received RTP stream.
type rxStream struct {
	*rxstats.Stream
	pid     string
	ssrc    uint32
	kind    webrtc.RTPCodecType
	packets uint64
}

// peerView is what a participant has received from one other participant.
type peerView struct {
	firstFrame   time.Time // first decodable video frame
	audioPackets uint64
	videoPackets uint64
}

func newParticipant(c *call, i int, info bookedParticipant) *participant {
	return &participant{call: c, index: i, info: info, publishes: i < c.plan.Publishers,
		streams: map[streamKey]*rxStream{}, fromPeer: map[string]*peerView{}}
}

// onRTP measures one received packet. It runs on the client's track
// reader goroutines.
func (p *participant) onRTP(layerName func(w, h int) string) func(string, webrtc.RTPCodecType, *rtp.Packet, time.Time) {
	return func(pid string, kind webrtc.RTPCodecType, pkt *rtp.Packet, at time.Time) {
		video := kind == webrtc.RTPCodecTypeVideo
		p.mu.Lock()
		key := streamKey{pid, pkt.SSRC}
		s := p.streams[key]
		if s == nil {
			rate := uint32(48000)
			if video {
				rate = 90000
			}
			s = &rxStream{Stream: rxstats.NewStream(rxstats.Options{Video: video, ClockRate: rate, LayerName: layerName}),
				pid: pid, ssrc: pkt.SSRC, kind: kind}
			p.streams[key] = s
		}
		if s.CaptureTimeID() == 0 && s.packets%extensionRetry == 0 && p.c != nil {
			s.SetCaptureTimeID(p.c.ReceivedExtensionID(kind, rtcconf.AbsCaptureTimeURI))
		}
		s.packets++
		s.Packet(pkt, at)
		v := p.fromPeer[pid]
		if v == nil {
			v = &peerView{}
			p.fromPeer[pid] = v
		}
		needKey := false
		if video {
			v.videoPackets++
			if v.firstFrame.IsZero() {
				v.firstFrame = s.FirstFrameAt()
			}
			needKey = s.KeyframeRequest(at)
		} else {
			v.audioPackets++
		}
		c := p.c
		p.mu.Unlock()
		if needKey && c != nil {
			_ = c.RequestKeyframe(pkt.SSRC) // best effort, as a browser's PLI
		}
	}
}

// run joins the call and stays in it until ctx ends or the server ends the
// participant's connection. Dial and publishing are bounded by joinTimeout.
func (p *participant) run(ctx context.Context, r *runner) {
	p.mu.Lock()
	p.dialAt = time.Now()
	p.mu.Unlock()
	jctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	// The clients' own logs (negotiation, hang-up races) are detail: shown
	// only when the run logs at debug level.
	clog := slog.New(slog.DiscardHandler)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		clog = r.log.With("participant", p.info.ID)
	}
	c, err := client.Dial(jctx, client.Options{URL: r.wsURL, Token: p.info.Token, LoopbackOnly: r.loopback,
		RelayOnly: p.call.plan.RelayOnly, OnRTP: p.onRTP(r.clip.LayerName), Log: clog})
	if err != nil {
		p.fail(fmt.Errorf("join: %w", err))
		return
	}
	p.mu.Lock()
	p.c = c
	p.joinedAt = time.Now()
	p.mu.Unlock()
	defer func() {
		_ = c.Leave()
		c.Close()
		if p.pub != nil {
			p.mu.Lock()
			p.sent = p.pub.Stats()
			p.mu.Unlock()
		}
	}()
	if p.publishes {
		opts := client.PublishOptions{Audio: r.clip.Audio, Simulcast: r.cfg.Simulcast}
		if !r.cfg.AudioOnly {
			opts.Layers = r.clip.Layers
		}
		pub, err := c.PublishMedia(jctx, opts)
		if err != nil {
			p.fail(fmt.Errorf("publish: %w", err))
			return
		}
		p.mu.Lock()
		p.pub = pub
		p.mu.Unlock()
	}
	cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			p.mu.Lock()
			if p.ended == "" {
				p.ended = "connection closed by the server"
			}
			p.mu.Unlock()
			return
		case m := <-c.Events():
			switch {
			case m.Type == "ended":
				p.mu.Lock()
				p.ended = "ended: " + m.Reason
				p.mu.Unlock()
			case m.Type == "error" && m.Fatal:
				p.fail(fmt.Errorf("server error %s: %s", m.Code, m.Message))
			case m.Type == "layers":
				// Dynacast: send only the layers someone receives.
				p.mu.Lock()
				pub := p.pub
				p.mu.Unlock()
				if pub != nil {
					pub.SetActiveLayers(m.Active)
				}
			}
		}
	}
}

func (p *participant) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// connected reports whether p publishes (when it should) and has a
// decodable frame (audio, for audio-only publishers) from every other
// publisher of its call, and since when. The call's people are read
// without p's lock held.
func (p *participant) connected(audioOnly bool, others []peerInfo) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.connectedAt.IsZero() {
		return true, p.connectedAt
	}
	if p.c == nil || (p.publishes && !p.publishing()) {
		return false, time.Time{}
	}
	var last time.Time
	for _, o := range others {
		if !o.publishes || o.id == p.info.ID {
			continue
		}
		v := p.fromPeer[o.id]
		if v == nil {
			return false, time.Time{}
		}
		at := v.firstFrame
		if audioOnly {
			if v.audioPackets == 0 {
				return false, time.Time{}
			}
			at = time.Now()
		}
		if at.IsZero() {
			return false, time.Time{}
		}
		last = maxTime(last, at)
	}
	if last.IsZero() {
		last = time.Now()
	}
	p.connectedAt = last
	return true, last
}

// publishing reports whether p's publisher connection has connected. The
// caller holds p.mu.
func (p *participant) publishing() bool {
	if p.pub == nil {
		return false
	}
	select {
	case <-p.pub.Connected():
		return true
	default:
		return false
	}
}

// peerInfo is what connected needs of the other participants.
type peerInfo struct {
	id        string
	publishes bool
	dialAt    time.Time
}

func (p *participant) peerInfo() peerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return peerInfo{id: p.info.ID, publishes: p.publishes, dialAt: p.dialAt}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// streamCounts is a snapshot of one stream's counters for the series.
type streamCounts struct {
	key   streamKey
	video bool
	stats rxstats.Stats
}

// snapshot returns the counters of every stream p receives.
func (p *participant) snapshot() []streamCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]streamCounts, 0, len(p.streams))
	for k, s := range p.streams {
		out = append(out, streamCounts{key: k, video: s.kind == webrtc.RTPCodecTypeVideo, stats: s.Stats()})
	}
	return out
}

// firstFrames returns the first decodable frame time by publisher.
func (p *participant) firstFrames() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for pid, v := range p.fromPeer {
		if !v.firstFrame.IsZero() {
			out[pid] = v.firstFrame
		}
	}
	return out
}
