package sfu

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// histSize is how many sent packets a downTrack remembers for NACKs (a
// power of two, at least the largest packet cache).
const histSize = 1024

// Retransmission limits: the least time between two resends of one packet
// (and at least the round-trip time), and the most resends of it.
const (
	resendGap = 100 * time.Millisecond
	maxResend = 3
)

// sentPacket maps one packet sent to a subscriber back to the cached packet
// it came from.
type sentPacket struct {
	out, in  uint16 // sequence numbers sent and received
	ts       uint32 // timestamp sent
	layer    int8
	ok       bool
	resends  uint8
	resentAt int64 // unix nanoseconds
}

// downTrack is one published track as one subscriber receives it: the
// subscriber's own SSRC, one continuous sequence-number and timestamp space
// across layer switches, and retransmissions from the publisher's cache.
// It is a webrtc.TrackLocal added to the subscriber connection.
type downTrack struct {
	up  *upTrack
	sub *Participant

	mu       sync.Mutex
	bound    bool
	writer   webrtc.TrackLocalWriter
	ssrc     uint32
	pt       uint8
	extLevel uint8 // audio level id on the subscriber connection
	extCapt  uint8 // capture time id on the subscriber connection

	splice           // the layer forwarded now (current) and the numbering
	target      int  // quality wanted; layerPause for none
	maxLayer    int  // the subscriber's quality request
	withheld    bool // by policy or staff moderation: nothing is forwarded
	resync      bool // audio: continue the numbering from the next packet
	lastChange  time.Time
	upgradedAt  time.Time     // when the target last went up
	upgradeHold time.Duration // least time from a change to the next upgrade
	out         rtp.Header
	hist        [histSize]sentPacket

	// Counters, under mu.
	packets, bytes, resent uint64

	// Used only by the feedback goroutine, under mu while sending.
	nackBuf   []byte
	nackHdr   rtp.Header
	resendHdr rtp.Header

	// Receiver reports, under mu.
	rttNanos int64
	fracLost uint8
}

func newDownTrack(up *upTrack, sub *Participant, maxLayer int) *downTrack {
	d := &downTrack{
		up: up, sub: sub,
		splice: splice{current: layerPause, clock: up.codec.ClockRate},
		target: layerPause, maxLayer: maxLayer,
		out: rtp.Header{Extensions: make([]rtp.Extension, 0, 4)},
	}
	d.nackHdr.Extensions = make([]rtp.Extension, 0, 8)
	d.resendHdr.Extensions = make([]rtp.Extension, 0, 4)
	if up.kind == webrtc.RTPCodecTypeAudio {
		d.current, d.target = 0, 0
	}
	return d
}

// Bind implements webrtc.TrackLocal: the subscriber connection negotiated
// the track.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var codec webrtc.RTPCodecParameters
	found := false
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.up.codec.MimeType) {
			codec, found = c, true
			break
		}
	}
	if !found {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	var level, capt uint8
	twcc := false
	for _, e := range ctx.HeaderExtensions() {
		switch e.URI {
		case rtcconf.AudioLevelURI:
			level = uint8(e.ID)
		case rtcconf.AbsCaptureTimeURI:
			capt = uint8(e.ID)
		case rtcconf.TransportCCURI:
			twcc = true
		}
	}
	d.mu.Lock()
	d.bound = true
	d.writer = ctx.WriteStream()
	d.ssrc = uint32(ctx.SSRC())
	d.pt = uint8(codec.PayloadType)
	d.extLevel, d.extCapt = level, capt
	d.mu.Unlock()
	if twcc {
		d.sub.twccNegotiated.Store(true)
	}
	return codec, nil
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.bound = false
	d.mu.Unlock()
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.up.id }

// RID implements webrtc.TrackLocal: the subscriber receives one layer.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: the publishing participant.
func (d *downTrack) StreamID() string { return d.up.owner.id }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// forward sends one packet of layer q, received with header h, to the
// subscriber if it belongs to the layer being forwarded, switching layers on
// a key frame of the wanted one, in burst bu (nil: at once). It is the
// hot path: it must not allocate.
func (d *downTrack) forward(q int, h *rtp.Header, payload []byte, keyframe bool, now int64, bu *burst) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.bound || d.withheld {
		return
	}
	outSeq, outTs, switched, ok := d.take(q, d.target, h, keyframe, d.resync, now)
	if !ok {
		return
	}
	d.resync = false
	if switched {
		d.sub.room.sfu.media.LayerSwitches.Inc()
	}
	o := &d.out
	o.Version = 2
	o.Padding = h.Padding
	o.Marker = h.Marker
	o.PayloadType = d.pt
	o.SequenceNumber = outSeq
	o.Timestamp = outTs
	o.SSRC = d.ssrc
	d.copyExtensions(h, o)
	e := &d.hist[outSeq&(histSize-1)]
	*e = sentPacket{out: outSeq, in: h.SequenceNumber, ts: outTs, layer: int8(q), ok: true}
	bu.enlist(d.sub.sockets)
	if _, err := d.writer.WriteRTP(o, payload); err != nil {
		return
	}
	d.packets++
	d.bytes += uint64(len(payload) + 12)
}

// copyExtensions puts the extensions that travel end to end (audio level,
// capture time) on o under the subscriber's ids.
func (d *downTrack) copyExtensions(h *rtp.Header, o *rtp.Header) {
	o.Extension = false
	o.ExtensionProfile = 0
	o.Extensions = o.Extensions[:0]
	if d.extLevel != 0 && d.up.extAudioLevel != 0 {
		if v := h.GetExtension(d.up.extAudioLevel); v != nil {
			_ = o.SetExtension(d.extLevel, v)
		}
	}
	if d.extCapt != 0 && d.up.extCaptureTime != 0 {
		if v := h.GetExtension(d.up.extCaptureTime); v != nil {
			_ = o.SetExtension(d.extCapt, v)
		}
	}
}

// setTarget sets the quality the subscriber should receive. Going up (or
// resuming) waits for a key frame of the new layer, which it asks for;
// pausing takes effect at once.
func (d *downTrack) setTarget(q int, now time.Time) {
	d.mu.Lock()
	if q == d.target {
		d.mu.Unlock()
		return
	}
	switch {
	case q > d.target && d.target != layerPause:
		d.upgradedAt = now
	case q < d.target && now.Sub(d.upgradedAt) < failedUpgrade:
		d.upgradeHold = min(2*d.holdLocked(), maxUpgradeHold) // the link did not carry it
	case q < d.target:
		d.upgradeHold = upgradeHold
	}
	d.target = q
	d.lastChange = now
	if q == layerPause {
		d.current = layerPause
	}
	cur := d.current
	d.mu.Unlock()
	d.sub.log.Debug("layer target", "track", d.up.id, "target", q, "current", cur)
	if q != layerPause && q != cur {
		d.up.requestKeyframe(q, false)
	}
}

// layerState returns the forwarded and wanted qualities and when the
// wanted one last changed.
func (d *downTrack) layerState() (current, target, maxLayer int, changed time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	maxLayer = d.maxLayer
	if d.withheld {
		maxLayer = layerPause // nothing is sent: allocate nothing
	}
	return d.current, d.target, maxLayer, d.lastChange
}

// holdFor returns how long after a change the subscription may go up.
func (d *downTrack) holdFor() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.holdLocked()
}

func (d *downTrack) holdLocked() time.Duration {
	if d.upgradeHold == 0 {
		return upgradeHold
	}
	return d.upgradeHold
}

func (d *downTrack) setMaxLayer(q int) {
	d.mu.Lock()
	d.maxLayer = q
	d.mu.Unlock()
}

// retransmit resends the packet the subscriber received as outSeq, with
// its sequence number on the subscription's own SSRC. (Not on RTX: the
// bandwidth estimator's writer knows only the media SSRC, and receivers
// that cannot tell an RTX repair keep asking.) A packet is resent at most
// maxResend times, a round trip apart.
func (d *downTrack) retransmit(outSeq uint16, now int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := &d.hist[outSeq&(histSize-1)]
	gap := max(int64(resendGap), d.rttNanos*5/4)
	if !d.bound || !e.ok || e.out != outSeq || e.resends >= maxResend || now-e.resentAt < gap {
		return false
	}
	l := d.up.layer(int(e.layer))
	if l == nil {
		return false
	}
	if d.nackBuf == nil {
		d.nackBuf = make([]byte, maxPacket)
	}
	n := l.cache.get(e.in, d.nackBuf)
	if n == 0 {
		return false
	}
	h := &d.nackHdr
	hl, err := h.Unmarshal(d.nackBuf[:n])
	if err != nil {
		return false
	}
	end := n
	if h.Padding && n > hl {
		end -= int(d.nackBuf[n-1])
	}
	if end < hl {
		return false
	}
	payload := d.nackBuf[hl:end]
	o := &d.resendHdr
	o.Version = 2
	o.Padding = false
	o.Marker = h.Marker
	o.Timestamp = e.ts
	d.copyExtensions(h, o)
	o.SSRC, o.PayloadType, o.SequenceNumber = d.ssrc, d.pt, outSeq
	if _, err := d.writer.WriteRTP(o, payload); err != nil {
		return false
	}
	e.resentAt = now
	e.resends++
	d.resent++
	return true
}

// seqBefore reports whether a comes before b in RTP sequence order.
func seqBefore(a, b uint16) bool { return a != b && b-a < 0x8000 }
