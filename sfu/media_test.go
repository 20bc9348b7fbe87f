package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// vp8Source writes synthetic VP8 frames whose payload header parses as a
// key frame every keyEvery frames (and on demand), so that the SFU's layer
// switching sees real key-frame boundaries. The first payload byte after the
// VP8 header carries the layer's quality, for tests to tell layers apart.
type vp8Source struct {
	track   *webrtc.TrackLocalStaticRTP
	q       byte
	size    int
	mu      sync.Mutex
	seq     uint16
	ts      uint32
	n       int
	keyNext bool
	// held keeps the source silent, as a browser's encoder holds a layer
	// until its uplink estimate covers it.
	held atomic.Bool
	// Simulcast packets carry the mid and rid header extensions, which
	// Pion leaves to the application.
	midID, ridID uint8
	mid          string
	pkt          rtp.Packet
	payload      codecs.VP8Payloader
}

func newVP8Source(id, rid string, q byte, size int) *vp8Source {
	var opts []func(*webrtc.TrackLocalStaticRTP)
	if rid != "" {
		opts = append(opts, webrtc.WithRTPStreamID(rid))
	}
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, "stream", opts...)
	if err != nil {
		panic(err)
	}
	return &vp8Source{track: tr, q: q, size: size, seq: uint16(q) * 1000, ts: uint32(q) * 100000, keyNext: true}
}

// frame writes one frame; key frames every 30 frames or when asked.
func (s *vp8Source) frame() {
	if s.held.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := s.keyNext || s.n%30 == 0
	s.keyNext = false
	s.n++
	body := make([]byte, s.size)
	if key {
		// Frame tag with the key-frame bit clear, start code, 320x180.
		copy(body, []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00})
	} else {
		body[0] = 0x11
	}
	body[len(body)-1] = s.q
	packets := s.payload.Payload(1200, body)
	for i, p := range packets {
		s.pkt.Header = rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts, Marker: i == len(packets)-1}
		if s.ridID != 0 {
			_ = s.pkt.Header.SetExtension(s.midID, []byte(s.mid))
			_ = s.pkt.Header.SetExtension(s.ridID, []byte(s.track.RID()))
		}
		s.pkt.Payload = p
		s.seq++
		_ = s.track.WriteRTP(&s.pkt)
	}
	s.ts += 3000
}

// tagSimulcast makes s put mid and rid on its packets, with the ids sender
// negotiated.
func (s *vp8Source) tagSimulcast(sender *webrtc.RTPSender, mid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mid = mid
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			s.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			s.ridID = uint8(e.ID)
		}
	}
}

func (s *vp8Source) requestKeyframe() {
	s.mu.Lock()
	s.keyNext = true
	s.mu.Unlock()
}

// start writes 30 frames a second until l ends.
func (s *vp8Source) start(l *loops) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				s.frame()
			}
		}
	}()
}

// startOpus writes a 20 ms Opus packet every 20 ms on tr until l ends,
// each with the RFC 6464 level dBov under extension levelID (none if 0).
func startOpus(tr *webrtc.TrackLocalStaticRTP, l *loops, levelID uint8, dBov byte) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var pkt rtp.Packet
		for seq := uint16(0); ; seq++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				pkt.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}
				if levelID != 0 {
					_ = pkt.Header.SetExtension(levelID, []byte{0x80 | dBov})
				}
				pkt.Payload = []byte{0xf8, 0xff, 0xfe}
				_ = tr.WriteRTP(&pkt)
			}
		}
	}()
}

// opusTrack returns an Opus track for startOpus.
func opusTrack(id string) *webrtc.TrackLocalStaticRTP {
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, "stream")
	if err != nil {
		panic(err)
	}
	return tr
}
