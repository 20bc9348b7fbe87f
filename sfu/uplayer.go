package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// upLayer is one incoming RTP stream: a track, or one simulcast layer of
// it. Its reader goroutine keeps the packet cache and receive statistics
// and forwards each packet to the subscribers.
type upLayer struct {
	track  *upTrack
	q      int
	rid    string
	remote *webrtc.TrackRemote
	ssrc   uint32
	cache  *packetCache
	// hand carries video to this layer's goroutine to forward when the
	// track has many subscribers (handoff.go); nil when that goroutine
	// reads the layer itself. Set before the layer is read.
	hand *handoff

	lastPLI atomic.Int64 // unix nanoseconds
	rate    atomic.Int64 // bit/s over the last sampling interval

	mu    sync.Mutex // receive statistics, written per packet
	stats recvStats
}

// recvStats are RFC 3550 receive statistics of one stream.
type recvStats struct {
	packets, bytes uint64
	started        bool
	baseSeq        uint32
	maxSeq         uint16
	cycles         uint32 // sequence number wraps, shifted by 16
	jitter         float64
	lastTransit    int64
	lastArrival    int64 // unix nanoseconds
	// At the last sample, for rates and loss per interval.
	sampledAt                    time.Time
	sampledBytes, sampledPackets uint64
	sampledExpected              uint32
}

// read forwards the layer's packets until its track ends. With the
// publisher connection's fast path (fastpath.go), packets are read on the
// goroutine that reads and decrypts them; audio is forwarded there too,
// and so is video while the track has at most inlineFanOut subscribers.
// Beyond that, video is forwarded here (handoff.go): forwarding a key
// frame to every subscriber then holds up neither the connection's audio
// nor its other layers.
func (l *upLayer) read() {
	buf := make([]byte, maxPacket)
	var h rtp.Header
	t := l.track
	video := t.kind == webrtc.RTPCodecTypeVideo
	readOne := func(bu *burst) bool {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return false
		}
		l.handle(buf[:n], &h, video, time.Now().UnixNano(), bu)
		return true
	}
	if fp := t.owner.fast; fp != nil {
		// Read inline, a layer must never wait for a packet: the socket's
		// reader would wait with it, and every stream on the socket. Pion
		// may move the track to another stream (one it was not told of
		// that claims the layer's rid); the layer then stops.
		inline := func(bu *burst) bool {
			if s := uint32(l.remote.SSRC()); s != l.ssrc {
				t.owner.log.Warn("layer's stream replaced: no longer read", "track", t.id, "rid", l.rid, "ssrc", l.ssrc, "new", s)
				return false
			}
			return readOne(bu)
		}
		var hd *handoff
		if video {
			hd = newHandoff(l.cache.size())
			l.hand = hd // before attach: packets may be handled from then on
		}
		if closed := fp.attach(l.ssrc, inline); closed != nil {
			if hd == nil {
				<-closed
				return
			}
			l.forwardHanded(hd, closed)
			return
		}
		l.hand = nil // never attached: this goroutine reads and forwards
	}
	for readOne(nil) {
	}
}

// handle processes one received packet, forwarding in burst bu (nil: at
// once). It is the hot path: it must not allocate.
func (l *upLayer) handle(pkt []byte, h *rtp.Header, video bool, now int64, bu *burst) {
	hl, err := h.Unmarshal(pkt)
	if err != nil {
		return
	}
	n := len(pkt)
	end := n
	if h.Padding && n > hl {
		end -= int(pkt[n-1])
		if end < hl {
			return
		}
	}
	t := l.track
	l.cache.put(h.SequenceNumber, pkt)
	l.observe(h, n, now)
	keyframe := false
	if video {
		keyframe = end > hl && t.ck.isKeyframeStart(pkt[hl:end])
	} else if t.extAudioLevel != 0 {
		if v := h.GetExtension(t.extAudioLevel); len(v) > 0 {
			t.level.observe(v[0])
		}
	}
	downs := *t.downs.Load()
	if hd := l.hand; hd != nil && (len(downs) > inlineFanOut || hd.pending.Load() > 0) {
		if !hd.push(h.SequenceNumber, keyframe, now) {
			t.owner.room.sfu.media.HandoffDrops.Inc()
		}
	} else {
		l.forwardTo(downs, h, pkt[hl:], keyframe, now, bu)
	}
	if tr := t.rec.Load(); tr != nil {
		tr.write(l.q, h, pkt[hl:end], keyframe, now)
	}
}

// forwardTo forwards one packet of the layer to each of downs, inline or
// handed off, in burst bu.
func (l *upLayer) forwardTo(downs []*downTrack, h *rtp.Header, payload []byte, keyframe bool, now int64, bu *burst) {
	for _, d := range downs {
		d.forward(l.q, h, payload, keyframe, now, bu)
	}
}

// observe updates the receive statistics with one packet.
func (l *upLayer) observe(h *rtp.Header, size int, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats
	s.packets++
	s.bytes += uint64(size)
	seq := h.SequenceNumber
	if !s.started {
		s.started = true
		s.baseSeq, s.maxSeq = uint32(seq), seq
	} else if seqBefore(s.maxSeq, seq) {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	// Interarrival jitter in clock units (RFC 3550 A.8).
	if clock := int64(l.track.codec.ClockRate); clock > 0 {
		arrival := now / int64(time.Millisecond) * clock / 1000
		transit := arrival - int64(h.Timestamp)
		if s.lastArrival != 0 && now-s.lastArrival > int64(time.Second) {
			s.lastTransit = 0 // a paused layer resumed: not jitter
		}
		s.lastArrival = now
		if s.lastTransit != 0 {
			d := transit - s.lastTransit
			if d < 0 {
				d = -d
			}
			s.jitter += (float64(d) - s.jitter) / 16
		}
		s.lastTransit = transit
	}
}

// layerSample is one layer's figures over the last sampling interval.
type layerSample struct {
	bitrate  float64 // bit/s
	packets  uint64
	lost     float64 // fraction of expected packets not received
	jitterMs float64
	total    uint64 // packets ever
}

// sample closes a sampling interval and returns its figures.
func (l *upLayer) sample(now time.Time) layerSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats
	var out layerSample
	expected := uint32(0)
	if s.started {
		expected = s.cycles + uint32(s.maxSeq) - s.baseSeq + 1
	}
	if !s.sampledAt.IsZero() {
		dt := now.Sub(s.sampledAt).Seconds()
		if dt > 0 {
			out.bitrate = float64(s.bytes-s.sampledBytes) * 8 / dt
		}
		out.packets = s.packets - s.sampledPackets
		if exp := expected - s.sampledExpected; exp > 0 && uint64(exp) > out.packets {
			out.lost = float64(uint64(exp)-out.packets) / float64(exp)
		}
	}
	if clock := float64(l.track.codec.ClockRate); clock > 0 {
		out.jitterMs = s.jitter / clock * 1000
	}
	out.total = s.packets
	s.sampledAt, s.sampledBytes, s.sampledPackets, s.sampledExpected = now, s.bytes, s.packets, expected
	l.rate.Store(int64(out.bitrate))
	return out
}

// audioLevel accumulates RFC 6464 levels between samples.
type audioLevel struct {
	sum, count atomic.Uint64 // sum of loudness (127 - dBov)
}

// observe adds one packet's level byte (V bit and dBov).
func (a *audioLevel) observe(b byte) {
	a.sum.Add(uint64(127 - b&0x7f))
	a.count.Add(1)
}

// sample returns the mean loudness since the last sample, 0 (silence) to
// 1 (full scale), and resets it.
func (a *audioLevel) sample() float64 {
	sum, n := a.sum.Swap(0), a.count.Swap(0)
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n) / 127
}
