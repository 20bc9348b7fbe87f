package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// Packetisation limits of the publisher.
const (
	// mediaMTU is the most RTP payload per packet, leaving room under a
	// 1200-byte datagram for the RTP header, its extensions (mid, rid,
	// capture time, transport sequence number) and SRTP's tag.
	mediaMTU = 1100
	// vp8DescriptorSize is the payload descriptor the publisher writes:
	// X, I with a 15-bit picture id.
	vp8DescriptorSize = 4
	// voiceLevel is the loudest RFC 6464 level (dBov below overload) still
	// flagged as no voice activity.
	voiceLevel = 50
)

// Publisher sends a clip of real encoded media on the client's publisher
// connection, paced by frame duration: VP8 as one or three simulcast
// encodings and Opus, every packet stamped with its send time in the
// abs-capture-time header extension and every audio packet with its RFC 6464
// level. It answers key-frame requests (PLI, FIR) by jumping that layer to
// its next key frame; NACKs are answered by Pion's NACK responder from the
// packets sent. It stops when the client closes.
type Publisher struct {
	c         *Client
	pc        *webrtc.PeerConnection
	simulcast bool
	videoTx   *webrtc.RTPTransceiver
	audioTx   *webrtc.RTPTransceiver
	layers    []*pubLayer
	audio     *pubAudio
	videoDur  time.Duration
	audioDur  time.Duration
	connected chan struct{}
	connOnce  sync.Once
}

// counters are a stream's statistics, shared between the pacer, the RTCP
// readers and Stats.
type counters struct {
	packets, bytes, frames, plis, jumps, nacked, skipped, failures atomic.Uint64
}

func (n *counters) stats(rid string, paused bool) LayerStats {
	return LayerStats{RID: rid, Paused: paused, Packets: n.packets.Load(), Bytes: n.bytes.Load(),
		Frames: n.frames.Load(), PLIs: n.plis.Load(), Jumps: n.jumps.Load(), NACKed: n.nacked.Load(),
		Skipped: n.skipped.Load(), Failures: n.failures.Load()}
}

// pubLayer is one VP8 encoding being sent.
type pubLayer struct {
	VideoLayer
	rid     string // "" for a plain (non-simulcast) track
	track   *webrtc.TrackLocalStaticRTP
	keys    []int // indexes of the key frames in Frames
	paused  atomic.Bool
	wantKey atomic.Bool // a key frame was asked for or the layer resumed
	n       counters

	// Owned by the pacer.
	next    int
	seq     uint16
	picture uint16
}

// pubAudio is the Opus stream being sent.
type pubAudio struct {
	frames []AudioFrame
	track  *webrtc.TrackLocalStaticRTP
	n      counters

	// Owned by the pacer.
	next int
	seq  uint16
}

// extIDs are the negotiated ids of the header extensions the pacer writes.
type extIDs struct {
	mid, rid, captureTime, audioLevel uint8
	videoMid, audioMid                string
}

// PublishMedia waits for the call to go live, then offers a publisher
// connection with the media of opts and sends it, looping the clip, until
// the client closes. The returned Publisher reports what was sent and
// takes the server's simulcast layer choices (SetActiveLayers).
func (c *Client) PublishMedia(ctx context.Context, opts PublishOptions) (*Publisher, error) {
	if err := checkPublishOptions(&opts); err != nil {
		return nil, err
	}
	if err := c.WaitLive(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	busy := c.pub != nil
	c.mu.Unlock()
	if busy {
		return nil, ErrAlreadyPublishing
	}
	pc, err := c.newPC("pub")
	if err != nil {
		return nil, err
	}
	p := &Publisher{c: c, pc: pc, simulcast: opts.Simulcast, videoDur: opts.VideoFrame,
		audioDur: opts.AudioFrame, connected: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.connOnce.Do(func() { close(p.connected) })
		}
	})
	readers, err := p.addTracks(opts)
	if err == nil {
		err = ctx.Err()
	}
	var offer webrtc.SessionDescription
	if err == nil {
		offer, err = pc.CreateOffer(nil)
	}
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("publish media: %w", err)
	}

	// Register the connection and the goroutines in one step that Close
	// cannot interleave with: Close closes done before it takes mu to
	// close the peers, and waits for wg only after that.
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		_ = pc.Close()
		return nil, ErrClosed
	default:
	}
	if c.pub != nil {
		c.mu.Unlock()
		_ = pc.Close()
		return nil, ErrAlreadyPublishing
	}
	c.pub = pc
	c.wg.Add(1 + len(readers))
	c.mu.Unlock()
	for _, read := range readers {
		go func() { defer c.wg.Done(); read() }()
	}
	go func() { defer c.wg.Done(); p.pace() }()

	if err := c.send(map[string]string{"type": "offer", "sdp": offer.SDP}); err != nil {
		return nil, fmt.Errorf("publish media: %w", err)
	}
	return p, nil
}

// initialSeq returns a random first RTP sequence number below 2^15, as
// libwebrtc (and Pion's packetizer) draw it, so that the stream wraps only
// after at least 2^15 packets, as a browser's does.
func initialSeq() uint16 { return uint16(rand.IntN(1 << 15)) }

func checkPublishOptions(o *PublishOptions) error {
	if len(o.Layers) == 0 && len(o.Audio) == 0 {
		return ErrNoMedia
	}
	if !o.Simulcast && len(o.Layers) > 1 {
		o.Layers = o.Layers[len(o.Layers)-1:]
	}
	seen := map[string]bool{}
	for _, l := range o.Layers {
		if !slices.ContainsFunc(l.Frames, func(f VideoFrame) bool { return f.Keyframe }) {
			return fmt.Errorf("%w: layer %q has no key frame", ErrBadMedia, l.RID)
		}
		if o.Simulcast && (l.RID == "" || seen[l.RID]) {
			return fmt.Errorf("%w: simulcast layers need distinct rids", ErrBadMedia)
		}
		seen[l.RID] = true
	}
	if o.VideoFrame <= 0 {
		o.VideoFrame = DefaultVideoFrame
	}
	if o.AudioFrame <= 0 {
		o.AudioFrame = DefaultAudioFrame
	}
	if o.StreamID == "" {
		o.StreamID = "self"
	}
	return nil
}

// addTracks adds the video and audio senders to the connection and returns
// one RTCP reader per RTP stream. Reading RTCP is what lets the
// interceptors answer NACKs; the readers also turn PLI and FIR into key
// frames. Each reader returns when its sender stops.
func (p *Publisher) addTracks(opts PublishOptions) ([]func(), error) {
	var readers []func()
	sendonly := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	if len(opts.Layers) > 0 {
		vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		for _, l := range opts.Layers {
			pl := &pubLayer{VideoLayer: l, seq: initialSeq(), picture: uint16(rand.Uint32() & 0x7fff)}
			for i, f := range l.Frames {
				if f.Keyframe {
					pl.keys = append(pl.keys, i)
				}
			}
			var err error
			if opts.Simulcast {
				pl.rid = l.RID
				pl.track, err = webrtc.NewTrackLocalStaticRTP(vp8, "video", opts.StreamID, webrtc.WithRTPStreamID(l.RID))
			} else {
				pl.track, err = webrtc.NewTrackLocalStaticRTP(vp8, "video", opts.StreamID)
			}
			if err != nil {
				return nil, fmt.Errorf("video track: %w", err)
			}
			pl.wantKey.Store(true) // start every layer on a key frame
			p.layers = append(p.layers, pl)
		}
		tx, err := p.pc.AddTransceiverFromTrack(p.layers[0].track, sendonly)
		if err != nil {
			return nil, fmt.Errorf("add video: %w", err)
		}
		p.videoTx = tx
		sender := tx.Sender()
		for _, pl := range p.layers[1:] {
			if err := sender.AddEncoding(pl.track); err != nil {
				return nil, fmt.Errorf("add encoding %s: %w", pl.rid, err)
			}
		}
		bySSRC := map[uint32]*pubLayer{}
		for _, enc := range sender.GetParameters().Encodings {
			for _, pl := range p.layers {
				if pl.rid == enc.RID {
					bySSRC[uint32(enc.SSRC)] = pl
				}
			}
		}
		for _, pl := range p.layers {
			read := func() ([]rtcp.Packet, error) { pkts, _, err := sender.ReadRTCP(); return pkts, err }
			if opts.Simulcast {
				rid := pl.rid
				read = func() ([]rtcp.Packet, error) { pkts, _, err := sender.ReadSimulcastRTCP(rid); return pkts, err }
			}
			readers = append(readers, func() { p.readVideoRTCP(read, pl, bySSRC) })
		}
	}
	if len(opts.Audio) > 0 {
		opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		track, err := webrtc.NewTrackLocalStaticRTP(opus, "audio", opts.StreamID)
		if err != nil {
			return nil, fmt.Errorf("audio track: %w", err)
		}
		p.audio = &pubAudio{frames: opts.Audio, track: track, seq: initialSeq()}
		tx, err := p.pc.AddTransceiverFromTrack(track, sendonly)
		if err != nil {
			return nil, fmt.Errorf("add audio: %w", err)
		}
		p.audioTx = tx
		sender := tx.Sender()
		readers = append(readers, func() { p.readAudioRTCP(sender) })
	}
	return readers, nil
}

// readVideoRTCP handles the server's feedback on one video encoding until
// the sender stops.
func (p *Publisher) readVideoRTCP(read func() ([]rtcp.Packet, error), own *pubLayer, bySSRC map[uint32]*pubLayer) {
	layer := func(ssrc uint32) *pubLayer {
		if l := bySSRC[ssrc]; l != nil {
			return l
		}
		return own
	}
	for {
		pkts, err := read()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch t := pkt.(type) {
			case *rtcp.PictureLossIndication:
				l := layer(t.MediaSSRC)
				l.n.plis.Add(1)
				l.wantKey.Store(true)
			case *rtcp.FullIntraRequest:
				for _, e := range t.FIR {
					l := layer(e.SSRC)
					l.n.plis.Add(1)
					l.wantKey.Store(true)
				}
			case *rtcp.TransportLayerNack:
				layer(t.MediaSSRC).n.nacked.Add(nackCount(t))
			}
		}
	}
}

// readAudioRTCP reads the audio sender's RTCP until it stops.
func (p *Publisher) readAudioRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			if t, ok := pkt.(*rtcp.TransportLayerNack); ok {
				p.audio.n.nacked.Add(nackCount(t))
			}
		}
	}
}

func nackCount(n *rtcp.TransportLayerNack) uint64 {
	var total uint64
	for _, pair := range n.Nacks {
		total += uint64(len(pair.PacketList()))
	}
	return total
}

// SetActiveLayers applies the server's layers message: only the listed
// rids are sent; the others pause. A layer that resumes starts with a key
// frame. An empty list pauses all of them. Without simulcast it does
// nothing.
func (p *Publisher) SetActiveLayers(rids []string) {
	if !p.simulcast {
		return
	}
	for _, l := range p.layers {
		active := slices.Contains(rids, l.rid)
		if was := !l.paused.Swap(!active); active && !was {
			l.wantKey.Store(true)
		}
	}
}

// Connected is closed when the publisher connection has connected.
func (p *Publisher) Connected() <-chan struct{} { return p.connected }

// Stats returns what was sent so far: one entry per video layer, lowest
// first, then one for audio (RID "audio").
func (p *Publisher) Stats() []LayerStats {
	out := make([]LayerStats, 0, len(p.layers)+1)
	for _, l := range p.layers {
		out = append(out, l.n.stats(l.rid, l.paused.Load()))
	}
	if p.audio != nil {
		out = append(out, p.audio.n.stats("audio", false))
	}
	return out
}

// pace sends frames on time until the client closes: it waits for the
// connection, then sends a video frame every video frame duration and an
// audio frame every audio frame duration. RTP timestamps follow the wall
// clock, so a late tick shows as a gap (as from a real camera), never as
// drift.
func (p *Publisher) pace() {
	select {
	case <-p.connected:
	case <-p.c.done:
		return
	}
	ids := p.extensionIDs()
	start := time.Now()
	videoTS, audioTS := rand.Uint32(), rand.Uint32()
	lastVideo, lastAudio := int64(-1), int64(-1)
	var vt, at <-chan time.Time
	if len(p.layers) > 0 {
		t := time.NewTicker(p.videoDur)
		defer t.Stop()
		vt = t.C
	}
	if p.audio != nil {
		t := time.NewTicker(p.audioDur)
		defer t.Stop()
		at = t.C
	}
	for {
		select {
		case <-p.c.done:
			return
		case now := <-vt:
			n := frameNumber(now.Sub(start), p.videoDur, lastVideo)
			for _, l := range p.layers {
				if n > lastVideo+1 && lastVideo >= 0 {
					l.n.skipped.Add(uint64(n - lastVideo - 1))
				}
			}
			lastVideo = n
			ts := videoTS + uint32(n*int64(p.videoDur)*90000/int64(time.Second))
			for _, l := range p.layers {
				p.sendVideo(l, ts, now, ids)
			}
		case now := <-at:
			n := frameNumber(now.Sub(start), p.audioDur, lastAudio)
			if n > lastAudio+1 && lastAudio >= 0 {
				p.audio.n.skipped.Add(uint64(n - lastAudio - 1))
			}
			lastAudio = n
			ts := audioTS + uint32(n*int64(p.audioDur)*48000/int64(time.Second))
			p.sendAudio(ts, now, ids)
		}
	}
}

// frameNumber is the index of the frame captured at elapsed, never
// repeating the last one.
func frameNumber(elapsed, frame time.Duration, last int64) int64 {
	n := int64((elapsed + frame/2) / frame)
	if n <= last {
		n = last + 1
	}
	return n
}

// extensionIDs reads the header extension ids negotiated on the publisher
// connection.
func (p *Publisher) extensionIDs() extIDs {
	var ids extIDs
	find := func(tx *webrtc.RTPTransceiver) {
		if tx == nil {
			return
		}
		for _, e := range tx.Sender().GetParameters().HeaderExtensions {
			id := uint8(e.ID)
			switch e.URI {
			case sdp.SDESMidURI:
				ids.mid = id
			case sdp.SDESRTPStreamIDURI:
				ids.rid = id
			case rtcconf.AbsCaptureTimeURI:
				ids.captureTime = id
			case rtcconf.AudioLevelURI:
				ids.audioLevel = id
			}
		}
	}
	find(p.videoTx)
	find(p.audioTx)
	if p.videoTx != nil {
		ids.videoMid = p.videoTx.Mid()
	}
	if p.audioTx != nil {
		ids.audioMid = p.audioTx.Mid()
	}
	return ids
}

// sendVideo sends layer l's next frame (or, when a key frame is wanted,
// its next key frame) with RTP timestamp ts.
func (p *Publisher) sendVideo(l *pubLayer, ts uint32, now time.Time, ids extIDs) {
	if l.paused.Load() {
		return
	}
	if l.wantKey.Swap(false) {
		if k := nextKey(l.keys, l.next); k != l.next {
			l.n.jumps.Add(1)
			l.next = k
		}
	}
	f := l.Frames[l.next]
	l.next = (l.next + 1) % len(l.Frames)
	capture, _ := rtp.NewAbsCaptureTimeExtension(now).Marshal()
	data := f.Data
	for first := true; len(data) > 0; first = false {
		size := min(len(data), mediaMTU-vp8DescriptorSize)
		payload := make([]byte, vp8DescriptorSize+size)
		payload[0] = 0x80 // X: extended control bits present
		if first {
			payload[0] |= 0x10 // S: start of the frame's first partition
		}
		payload[1] = 0x80 // I: picture id present
		payload[2] = 0x80 | byte(l.picture>>8)&0x7f
		payload[3] = byte(l.picture)
		copy(payload[vp8DescriptorSize:], data[:size])
		data = data[size:]
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: len(data) == 0, SequenceNumber: l.seq, Timestamp: ts}, Payload: payload}
		l.seq++
		setExt(&pkt.Header, ids.mid, []byte(ids.videoMid))
		if l.rid != "" {
			setExt(&pkt.Header, ids.rid, []byte(l.rid))
		}
		setExt(&pkt.Header, ids.captureTime, capture)
		if err := l.track.WriteRTP(pkt); err != nil {
			l.n.failures.Add(1)
			continue
		}
		l.n.packets.Add(1)
		l.n.bytes.Add(uint64(pkt.MarshalSize()))
	}
	l.picture = (l.picture + 1) & 0x7fff
	l.n.frames.Add(1)
}

// nextKey is the index of the first key frame at or after i, wrapping.
func nextKey(keys []int, i int) int {
	for _, k := range keys {
		if k >= i {
			return k
		}
	}
	return keys[0]
}

// sendAudio sends the next Opus frame with RTP timestamp ts.
func (p *Publisher) sendAudio(ts uint32, now time.Time, ids extIDs) {
	a := p.audio
	f := a.frames[a.next]
	a.next = (a.next + 1) % len(a.frames)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: a.seq, Timestamp: ts}, Payload: f.Data}
	a.seq++
	setExt(&pkt.Header, ids.mid, []byte(ids.audioMid))
	capture, _ := rtp.NewAbsCaptureTimeExtension(now).Marshal()
	setExt(&pkt.Header, ids.captureTime, capture)
	level, _ := rtp.AudioLevelExtension{Level: min(f.Level, 127), Voice: f.Level < voiceLevel}.Marshal()
	setExt(&pkt.Header, ids.audioLevel, level)
	if err := a.track.WriteRTP(pkt); err != nil {
		a.n.failures.Add(1)
		return
	}
	a.n.packets.Add(1)
	a.n.bytes.Add(uint64(pkt.MarshalSize()))
	a.n.frames.Add(1)
}

// setExt sets a header extension when it was negotiated (id > 0).
func setExt(h *rtp.Header, id uint8, payload []byte) {
	if id == 0 || len(payload) == 0 {
		return
	}
	_ = h.SetExtension(id, payload)
}
