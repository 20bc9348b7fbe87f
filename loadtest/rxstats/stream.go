// Package rxstats measures received RTP streams the way a receiving
// WebRTC client sees them: loss (sequence gaps not filled later by a
// retransmission), RFC 3550 interarrival jitter, end-to-end latency from the
// abs-capture-time header extension, received bitrate per simulcast layer,
// and, for VP8 video, frames, first decodable frame and freezes.
//
// There is no VP8 decoder in Go here, so "decoded" means decodable: every
// packet of the frame arrived (from the packet with the start bit to the one
// with the marker bit, without a gap) and the frame is a key frame or
// directly follows the last decodable frame (by VP8 picture id). That is the
// moment a real receiver could hand the frame to its decoder.
//
// A Stream is one SSRC. The media server may rewrite SSRCs and switch
// simulcast layers inside one stream, or forward each layer as a stream of
// its own: the layer of each packet is told from the size in the last VP8
// key frame header, never from the SSRC.
package rxstats

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Bounds of the per-stream state.
const (
	// maxGap is the largest sequence jump whose missing numbers are
	// remembered individually, so that a late retransmission can fill them.
	maxGap = 1000
	// maxMisorder is how far before the first packet seen a packet may
	// arrive and still extend the stream backwards (RFC 3550 appendix A.1's
	// MAX_MISORDER); older ones are counted as late and otherwise ignored.
	maxMisorder = 100
	// missingHorizon is how far behind the highest sequence number a gap is
	// still waited for; older gaps stay counted as lost.
	missingHorizon = 3000
	// maxPendingFrames bounds the incomplete or not yet decodable frames kept.
	maxPendingFrames = 64
	// freezeWindow is how many inter-frame delays the freeze average covers.
	freezeWindow = 30
	// minFreezeHistory is how many delays are needed before freezes count.
	minFreezeHistory = 5
	// freezeMargin is WebRTC's additive freeze threshold.
	freezeMargin = 150 * time.Millisecond
	// latencySamples bounds the latency samples kept per stream.
	latencySamples = 2000
	// keyframeRequestInterval is the least time between two key frame
	// requests of one stream, as a browser throttles its PLIs.
	keyframeRequestInterval = 300 * time.Millisecond
)

// Options configure a Stream.
type Options struct {
	// Video selects VP8 frame analysis.
	Video bool
	// ClockRate is the RTP clock rate (90000 for video, 48000 for Opus).
	ClockRate uint32
	// CaptureTimeID is the header extension id of abs-capture-time on the
	// receiving connection; 0 leaves latency unmeasured until SetCaptureTimeID.
	CaptureTimeID uint8
	// LayerName names a video layer by its key frame size; nil: "WxH".
	LayerName func(width, height int) string
}

// Stream accumulates the statistics of one received RTP stream. It is not
// safe for concurrent use.
type Stream struct {
	opts Options

	started        bool
	first          time.Time
	base, highest  int64 // extended sequence numbers
	received       uint64
	duplicates     uint64
	recovered      uint64
	late           uint64
	maxGap         int64
	missing        map[int64]struct{}
	highTS         int64 // extended RTP timestamp of the newest packet
	jitter         float64
	lastTransit    int64
	haveTransit    bool
	bytes          uint64
	layer          string
	bytesByLayer   map[string]uint64
	latency        Dist
	frames         map[int64]*frame // by extended timestamp
	decoded        uint64
	keyframes      uint64
	haveDecoded    bool
	lastPicture    uint16
	lastHasPicture bool
	lastLastSeq    int64
	lastDecodedTS  int64
	lastDecodedAt  time.Time
	firstFrameAt   time.Time
	delays         [freezeWindow]time.Duration
	nDelays        int
	freezes        uint64
	freezeTime     time.Duration
	width, height  int
	needKey        bool
	lastKeyRequest time.Time
}

// frame is a VP8 frame being assembled.
type frame struct {
	ts                 int64
	firstSeq, lastSeq  int64
	haveFirst, haveEnd bool
	seqs               map[int64]struct{}
	key                bool
	width, height      int
	picture            uint16
	hasPicture         bool
	capture            time.Time
}

// NewStream returns an empty stream.
func NewStream(opts Options) *Stream {
	if opts.ClockRate == 0 {
		opts.ClockRate = 90000
	}
	return &Stream{opts: opts, missing: map[int64]struct{}{}, bytesByLayer: map[string]uint64{},
		frames: map[int64]*frame{}, latency: NewDist(latencySamples), layer: "unknown"}
}

// SetCaptureTimeID sets the abs-capture-time extension id, once known.
func (s *Stream) SetCaptureTimeID(id uint8) { s.opts.CaptureTimeID = id }

// CaptureTimeID returns the abs-capture-time extension id in use.
func (s *Stream) CaptureTimeID() uint8 { return s.opts.CaptureTimeID }

// extend places a 16-bit sequence number next to the extended reference.
func extend(ref int64, seq uint16) int64 {
	return ref + int64(int16(seq-uint16(ref)))
}

// extendTS places a 32-bit RTP timestamp next to the extended reference.
func extendTS(ref int64, ts uint32) int64 {
	return ref + int64(int32(ts-uint32(ref)))
}

// Packet adds one received packet, which arrived at at.
func (s *Stream) Packet(pkt *rtp.Packet, at time.Time) {
	size := uint64(pkt.MarshalSize())
	if !s.started {
		s.started = true
		s.first = at
		s.base = int64(pkt.SequenceNumber)
		s.highest = s.base
		s.highTS = int64(pkt.Timestamp)
		s.received = 1
		s.newPacket(pkt, s.highest, s.highTS, at, size)
		return
	}
	seq := extend(s.highest, pkt.SequenceNumber)
	ts := extendTS(s.highTS, pkt.Timestamp)
	switch {
	case seq > s.highest:
		gap := seq - s.highest - 1
		s.maxGap = max(s.maxGap, gap)
		if gap > 0 && gap <= maxGap {
			for m := s.highest + 1; m < seq; m++ {
				s.missing[m] = struct{}{}
			}
		}
		s.highest = seq
		s.received++
		s.newPacket(pkt, seq, ts, at, size)
		if len(s.missing) > 2*maxGap {
			s.prune()
		}
	case seq < s.base && s.base-seq > maxMisorder:
		s.late++
	case seq < s.base:
		// Reordered before the first packet seen: the stream starts earlier.
		for m := seq + 1; m < s.base; m++ {
			s.missing[m] = struct{}{}
		}
		s.base = seq
		s.received++
		s.recovered++
		s.oldPacket(pkt, seq, ts, at, size)
	default:
		if _, ok := s.missing[seq]; ok {
			delete(s.missing, seq)
			s.received++
			s.recovered++
			s.oldPacket(pkt, seq, ts, at, size)
			return
		}
		s.duplicates++
	}
}

// prune forgets gaps too old to be filled; they stay counted as lost.
func (s *Stream) prune() {
	for m := range s.missing {
		if m < s.highest-missingHorizon {
			delete(s.missing, m)
		}
	}
}

// newPacket handles a packet newer than any before: jitter, then content.
func (s *Stream) newPacket(pkt *rtp.Packet, seq, ts int64, at time.Time, size uint64) {
	if ts > s.highTS {
		s.highTS = ts
	}
	// RFC 3550 section 6.4.1 and appendix A.8, in RTP clock units.
	arrival := int64(at.Sub(s.first).Seconds() * float64(s.opts.ClockRate))
	transit := arrival - ts
	if s.haveTransit {
		d := transit - s.lastTransit
		if d < 0 {
			d = -d
		}
		s.jitter += (float64(d) - s.jitter) / 16
	}
	s.lastTransit, s.haveTransit = transit, true
	s.content(pkt, seq, ts, at, size)
}

// oldPacket handles a packet that fills a gap (a retransmission or a
// reordered packet): it counts, but does not move the jitter estimate.
func (s *Stream) oldPacket(pkt *rtp.Packet, seq, ts int64, at time.Time, size uint64) {
	s.content(pkt, seq, ts, at, size)
}

func (s *Stream) content(pkt *rtp.Packet, seq, ts int64, at time.Time, size uint64) {
	var capture time.Time
	if id := s.opts.CaptureTimeID; id != 0 {
		if b := pkt.GetExtension(id); len(b) >= 8 {
			var e rtp.AbsCaptureTimeExtension
			if e.Unmarshal(b) == nil {
				capture = e.CaptureTime()
			}
		}
	}
	if !s.opts.Video {
		s.bytes += size
		s.bytesByLayer["audio"] += size
		if !capture.IsZero() {
			s.latency.Add(float64(at.Sub(capture)) / float64(time.Millisecond))
		}
		return
	}
	s.videoPacket(pkt, seq, ts, at, size, capture)
}

func (s *Stream) videoPacket(pkt *rtp.Packet, seq, ts int64, at time.Time, size uint64, capture time.Time) {
	var vp8 codecs.VP8Packet
	data, err := vp8.Unmarshal(pkt.Payload)
	if err != nil || len(pkt.Payload) == 0 {
		// Padding (bandwidth probes) or garbage: bytes, no frame.
		s.bytes += size
		s.bytesByLayer[s.layer] += size
		return
	}
	start := vp8.S == 1 && vp8.PID == 0
	if start {
		if w, h, ok := VP8KeyframeSize(data); ok {
			s.width, s.height = w, h
			s.layer = s.layerName(w, h)
		}
	}
	s.bytes += size
	s.bytesByLayer[s.layer] += size
	if s.haveDecoded && ts <= s.lastDecodedTS {
		return // part of a frame already decoded or given up
	}
	f := s.frames[ts]
	if f == nil {
		if len(s.frames) >= maxPendingFrames {
			s.dropOldestFrame()
		}
		f = &frame{ts: ts, seqs: map[int64]struct{}{}}
		s.frames[ts] = f
	}
	f.seqs[seq] = struct{}{}
	if vp8.I == 1 {
		f.picture, f.hasPicture = vp8.PictureID, true
	}
	if f.capture.IsZero() && !capture.IsZero() {
		f.capture = capture
	}
	if start {
		f.firstSeq, f.haveFirst = seq, true
		if w, h, ok := VP8KeyframeSize(data); ok {
			f.key, f.width, f.height = true, w, h
		}
	}
	if pkt.Marker {
		f.lastSeq, f.haveEnd = seq, true
	}
	if f.complete() {
		s.tryDecode(f, at)
	}
}

func (s *Stream) layerName(w, h int) string {
	if s.opts.LayerName != nil {
		return s.opts.LayerName(w, h)
	}
	return fmt.Sprintf("%dx%d", w, h)
}

func (f *frame) complete() bool {
	return f.haveFirst && f.haveEnd && f.lastSeq >= f.firstSeq && int64(len(f.seqs)) == f.lastSeq-f.firstSeq+1
}

func (s *Stream) dropOldestFrame() {
	var oldest *frame
	for _, f := range s.frames {
		if oldest == nil || f.ts < oldest.ts {
			oldest = f
		}
	}
	if oldest != nil {
		delete(s.frames, oldest.ts)
	}
}

// follows reports whether complete frame f can be decoded after the last
// decoded frame.
func (s *Stream) follows(f *frame) bool {
	if f.key {
		return true
	}
	if !s.haveDecoded {
		return false
	}
	if f.hasPicture && s.lastHasPicture {
		return f.picture == (s.lastPicture+1)&0x7fff || f.picture == (s.lastPicture+1)&0x7f
	}
	return f.firstSeq == s.lastLastSeq+1
}

// tryDecode decodes f if it can be, then any pending complete frames that
// were waiting for it.
func (s *Stream) tryDecode(f *frame, at time.Time) {
	for range maxPendingFrames + 1 {
		if !s.follows(f) {
			// A complete frame that cannot be decoded: something before it
			// is missing for good, or the stream began without a key frame.
			s.needKey = true
			return
		}
		s.decode(f, at)
		var next *frame
		for _, g := range s.frames {
			if g.complete() && s.follows(g) && (next == nil || g.ts < next.ts) {
				next = g
			}
		}
		if next == nil {
			return
		}
		f = next
	}
}

func (s *Stream) decode(f *frame, at time.Time) {
	delete(s.frames, f.ts)
	for ts := range s.frames {
		if ts <= f.ts {
			delete(s.frames, ts) // older frames can no longer be used
		}
	}
	s.haveDecoded = true
	if f.key {
		s.needKey = false
	}
	s.lastPicture, s.lastHasPicture = f.picture, f.hasPicture
	s.lastLastSeq = f.lastSeq
	s.lastDecodedTS = f.ts
	s.decoded++
	if f.key {
		s.keyframes++
	}
	if s.firstFrameAt.IsZero() {
		s.firstFrameAt = at
	}
	if !f.capture.IsZero() {
		s.latency.Add(float64(at.Sub(f.capture)) / float64(time.Millisecond))
	}
	if !s.lastDecodedAt.IsZero() {
		s.frameDelay(at.Sub(s.lastDecodedAt))
	}
	s.lastDecodedAt = at
}

// KeyframeRequest reports whether the receiver should ask for a key frame
// now (send a PLI), as a real one would when its decoder is stuck: a complete
// frame arrived that cannot be decoded. It returns true at most once per
// keyframeRequestInterval and records the request.
func (s *Stream) KeyframeRequest(now time.Time) bool {
	if !s.needKey || now.Sub(s.lastKeyRequest) < keyframeRequestInterval {
		return false
	}
	s.lastKeyRequest = now
	return true
}

// frameDelay counts a freeze as WebRTC's statistics do: an inter-frame
// delay longer than max(3 x average, average + 150 ms), the average being
// over the previous delays (up to freezeWindow).
func (s *Stream) frameDelay(d time.Duration) {
	n := min(s.nDelays, freezeWindow)
	if n >= minFreezeHistory {
		var sum time.Duration
		for i := range n {
			sum += s.delays[i]
		}
		avg := sum / time.Duration(n)
		if d > max(3*avg, avg+freezeMargin) {
			s.freezes++
			s.freezeTime += d
		}
	}
	s.delays[s.nDelays%freezeWindow] = d
	s.nDelays++
}

// VP8KeyframeSize returns the width and height in the header of a VP8 key
// frame (RFC 6386 section 9.1), given the start of the frame (the RTP
// payload after the VP8 payload descriptor). ok is false for an inter frame
// or a payload too short or without the key frame start code.
func VP8KeyframeSize(b []byte) (width, height int, ok bool) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, false
	}
	w := int(binary.LittleEndian.Uint16(b[6:8]) & 0x3fff)
	h := int(binary.LittleEndian.Uint16(b[8:10]) & 0x3fff)
	if w == 0 || h == 0 {
		return 0, 0, false
	}
	return w, h, true
}

// FirstFrameAt is when the first frame became decodable (zero: not yet).
func (s *Stream) FirstFrameAt() time.Time { return s.firstFrameAt }

// Latency returns a copy of the kept end-to-end latency samples in
// milliseconds: arrival minus capture time, per decodable video frame or
// per audio packet.
func (s *Stream) Latency() []float64 { return s.latency.Samples() }

// Stats are a stream's figures so far.
type Stats struct {
	Video      bool   `json:"video"`
	Received   uint64 `json:"received"`
	Expected   uint64 `json:"expected"`
	Lost       uint64 `json:"lost"`
	Duplicates uint64 `json:"duplicates"`
	Recovered  uint64 `json:"recovered"`
	// Late counts packets from long before the first one seen, ignored.
	Late uint64 `json:"late"`
	// MaxGap is the largest jump forward in sequence numbers less one (0:
	// none missing), telling scattered loss from a discontinuity.
	MaxGap        int64             `json:"maxGap"`
	JitterMs      float64           `json:"jitterMs"`
	Bytes         uint64            `json:"bytes"`
	BytesByLayer  map[string]uint64 `json:"bytesByLayer"`
	Frames        uint64            `json:"frames"`
	Keyframes     uint64            `json:"keyframes"`
	Freezes       uint64            `json:"freezes"`
	FreezeTime    time.Duration     `json:"freezeTimeNs"`
	FirstPacketAt time.Time         `json:"firstPacketAt"`
	FirstFrameAt  time.Time         `json:"firstFrameAt"`
	Layer         string            `json:"layer"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
}

// Stats returns the figures so far; BytesByLayer is a copy.
func (s *Stream) Stats() Stats {
	st := Stats{Video: s.opts.Video, Received: s.received, Duplicates: s.duplicates, Recovered: s.recovered,
		Late: s.late, MaxGap: s.maxGap,
		JitterMs: s.jitter / float64(s.opts.ClockRate) * 1000, Bytes: s.bytes,
		BytesByLayer: make(map[string]uint64, len(s.bytesByLayer)), Frames: s.decoded,
		Keyframes: s.keyframes, Freezes: s.freezes, FreezeTime: s.freezeTime, FirstPacketAt: s.first,
		FirstFrameAt: s.firstFrameAt, Layer: s.layer, Width: s.width, Height: s.height}
	if s.started {
		st.Expected = uint64(s.highest - s.base + 1)
		if st.Expected > s.received {
			st.Lost = st.Expected - s.received
		}
	}
	for k, v := range s.bytesByLayer {
		st.BytesByLayer[k] = v
	}
	return st
}
