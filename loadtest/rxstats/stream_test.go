package rxstats

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// keyframe returns the start of a VP8 key frame of the given size, with
// n bytes in all.
func keyframe(w, h, n int) []byte {
	b := make([]byte, max(n, 10))
	b[0] = 0x10 // key frame (bit 0 clear), version 0, show_frame
	b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
	binary.LittleEndian.PutUint16(b[6:], uint16(w)|0x4000) // horizontal scale bits set
	binary.LittleEndian.PutUint16(b[8:], uint16(h)|0x8000)
	return b
}

// interframe returns an inter frame of n bytes.
func interframe(n int) []byte {
	b := make([]byte, n)
	b[0] = 0x11
	return b
}

// sender packetises VP8 frames as the client's publisher does.
type sender struct {
	seq     uint16
	ts      uint32
	picture uint16
	ctID    uint8
}

// frame returns the packets of one frame split into parts of at most
// chunk bytes, and advances the timestamp by one frame at 30 fps.
func (s *sender) frame(data []byte, chunk int, capture time.Time) []*rtp.Packet {
	var out []*rtp.Packet
	for first := true; len(data) > 0; first = false {
		n := min(chunk, len(data))
		p := []byte{0x80, 0x80, 0x80 | byte(s.picture>>8), byte(s.picture)}
		if first {
			p[0] |= 0x10
		}
		p = append(p, data[:n]...)
		data = data[n:]
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts, Marker: len(data) == 0}, Payload: p}
		if s.ctID != 0 && !capture.IsZero() {
			b, _ := rtp.NewAbsCaptureTimeExtension(capture).Marshal()
			_ = pkt.Header.SetExtension(s.ctID, b)
		}
		out = append(out, pkt)
		s.seq++
	}
	s.ts += 3000
	s.picture = (s.picture + 1) & 0x7fff
	return out
}

func feed(s *Stream, pkts []*rtp.Packet, at time.Time) {
	for _, p := range pkts {
		s.Packet(p, at)
	}
}

func TestVP8KeyframeSize(t *testing.T) {
	if w, h, ok := VP8KeyframeSize(keyframe(1280, 720, 100)); !ok || w != 1280 || h != 720 {
		t.Errorf("key frame: %dx%d %v, want 1280x720", w, h, ok)
	}
	if w, h, ok := VP8KeyframeSize(keyframe(320, 180, 10)); !ok || w != 320 || h != 180 {
		t.Errorf("minimal key frame: %dx%d %v", w, h, ok)
	}
	if _, _, ok := VP8KeyframeSize(interframe(100)); ok {
		t.Error("inter frame parsed as key frame")
	}
	if _, _, ok := VP8KeyframeSize(keyframe(320, 180, 10)[:9]); ok {
		t.Error("short key frame parsed")
	}
	bad := keyframe(320, 180, 20)
	bad[4] = 0
	if _, _, ok := VP8KeyframeSize(bad); ok {
		t.Error("key frame without start code parsed")
	}
}

func audioPacket(seq uint16, ts uint32) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: []byte{0xf8, 0xff, 0xfe}}
}

func TestLossCountsGapsNotFilledLater(t *testing.T) {
	s := NewStream(Options{ClockRate: 48000})
	at := time.Unix(1000, 0)
	start := uint16(65530) // wraps
	for i := range 20 {
		if i == 3 || i == 7 || i == 12 {
			continue
		}
		seq := start + uint16(i)
		s.Packet(audioPacket(seq, uint32(i*960)), at.Add(time.Duration(i)*20*time.Millisecond))
	}
	// 3 comes late (a retransmission), 5 twice.
	s.Packet(audioPacket(start+3, 3*960), at.Add(time.Second))
	s.Packet(audioPacket(start+5, 5*960), at.Add(time.Second))
	st := s.Stats()
	if st.Expected != 20 || st.Received != 18 || st.Lost != 2 || st.Recovered != 1 || st.Duplicates != 1 {
		t.Errorf("expected %d received %d lost %d recovered %d duplicates %d; want 20 18 2 1 1",
			st.Expected, st.Received, st.Lost, st.Recovered, st.Duplicates)
	}
	// A packet from before the first one seen extends the stream backwards.
	s.Packet(audioPacket(start-2, 0), at.Add(time.Second))
	if st := s.Stats(); st.Expected != 22 || st.Lost != 3 || st.MaxGap != 1 {
		t.Errorf("after an early packet: expected %d lost %d max gap %d, want 22 3 1", st.Expected, st.Lost, st.MaxGap)
	}
	// One from far before is late, not a longer stream.
	s.Packet(audioPacket(start-500, 0), at.Add(time.Second))
	if st := s.Stats(); st.Expected != 22 || st.Late != 1 {
		t.Errorf("after a late packet: expected %d late %d, want 22 1", st.Expected, st.Late)
	}
	// A jump forward counts as loss and shows as the largest gap.
	s.Packet(audioPacket(start+19+301, 0), at.Add(time.Second))
	if st := s.Stats(); st.Lost != 303 || st.MaxGap != 300 {
		t.Errorf("after a jump: lost %d max gap %d, want 303 300", st.Lost, st.MaxGap)
	}
}

func TestJitterRFC3550(t *testing.T) {
	// Packets sent every 20 ms arriving on time: no jitter.
	s := NewStream(Options{ClockRate: 48000})
	at := time.Unix(1000, 0)
	for i := range 100 {
		s.Packet(audioPacket(uint16(i), uint32(i*960)), at.Add(time.Duration(i)*20*time.Millisecond))
	}
	if j := s.Stats().JitterMs; j > 0.01 {
		t.Errorf("jitter %.3f ms for perfectly paced packets", j)
	}
	// Arrivals alternately 10 ms early and late: every transit difference is
	// 20 ms, so J converges to 20 ms.
	s = NewStream(Options{ClockRate: 48000})
	for i := range 500 {
		off := 10 * time.Millisecond
		if i%2 == 1 {
			off = -off
		}
		s.Packet(audioPacket(uint16(i), uint32(i*960)), at.Add(time.Duration(i)*20*time.Millisecond+off))
	}
	if j := s.Stats().JitterMs; math.Abs(j-20) > 0.5 {
		t.Errorf("jitter %.2f ms, want 20", j)
	}
}

func TestFramesFreezesAndFirstFrame(t *testing.T) {
	s := NewStream(Options{Video: true})
	snd := &sender{seq: 100, ts: 5000}
	at := time.Unix(1000, 0)
	// An inter frame before any key frame cannot be decoded.
	feed(s, snd.frame(interframe(2500), 1000, time.Time{}), at)
	if st := s.Stats(); st.Frames != 0 || !st.FirstFrameAt.IsZero() {
		t.Fatalf("inter frame decoded without a key frame: %+v", st)
	}
	if !s.KeyframeRequest(at) {
		t.Error("no key frame request while stuck")
	}
	if s.KeyframeRequest(at.Add(100 * time.Millisecond)) {
		t.Error("key frame requests not throttled")
	}
	key := at.Add(50 * time.Millisecond)
	feed(s, snd.frame(keyframe(640, 360, 3000), 1000, time.Time{}), key)
	for i := 1; i < 40; i++ {
		feed(s, snd.frame(interframe(1500), 1000, time.Time{}), key.Add(time.Duration(i)*33*time.Millisecond))
	}
	st := s.Stats()
	if st.Frames != 40 || st.Keyframes != 1 || !st.FirstFrameAt.Equal(key) || st.Freezes != 0 {
		t.Fatalf("frames %d keyframes %d first %v freezes %d", st.Frames, st.Keyframes, st.FirstFrameAt, st.Freezes)
	}
	if s.KeyframeRequest(key.Add(2 * time.Second)) {
		t.Error("key frame request after recovering")
	}
	// 100 ms between frames is under average + 150 ms: no freeze. 400 ms is
	// over max(3 x 33, 33 + 150): a freeze.
	last := key.Add(39 * 33 * time.Millisecond)
	last = last.Add(100 * time.Millisecond)
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), last)
	if s.Stats().Freezes != 0 {
		t.Error("a 100 ms gap counted as a freeze")
	}
	for range 10 {
		last = last.Add(33 * time.Millisecond)
		feed(s, snd.frame(interframe(1500), 1000, time.Time{}), last)
	}
	last = last.Add(400 * time.Millisecond)
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), last)
	if st := s.Stats(); st.Freezes != 1 || st.FreezeTime != 400*time.Millisecond {
		t.Errorf("freezes %d (%v), want 1 (400ms)", st.Freezes, st.FreezeTime)
	}
}

func TestLostPacketStallsUntilRetransmissionOrKeyframe(t *testing.T) {
	s := NewStream(Options{Video: true})
	snd := &sender{seq: 65000, ts: 1 << 31}
	at := time.Unix(1000, 0)
	feed(s, snd.frame(keyframe(320, 180, 2000), 1000, time.Time{}), at)
	// Frame 2 loses its middle packet; frames 3 and 4 arrive whole.
	f2 := snd.frame(interframe(2500), 1000, time.Time{})
	feed(s, []*rtp.Packet{f2[0], f2[2]}, at.Add(33*time.Millisecond))
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), at.Add(66*time.Millisecond))
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), at.Add(99*time.Millisecond))
	if st := s.Stats(); st.Frames != 1 || st.Lost != 1 {
		t.Fatalf("frames %d lost %d, want 1 1 while frame 2 misses a packet", st.Frames, st.Lost)
	}
	if !s.KeyframeRequest(at.Add(100 * time.Millisecond)) {
		t.Error("no key frame request while frames wait")
	}
	// The retransmission completes frame 2, and 3 and 4 decode after it.
	s.Packet(f2[1], at.Add(120*time.Millisecond))
	if st := s.Stats(); st.Frames != 4 || st.Lost != 0 || st.Recovered != 1 {
		t.Fatalf("after retransmission: frames %d lost %d recovered %d, want 4 0 1", st.Frames, st.Lost, st.Recovered)
	}
	// A frame lost for good: the next key frame resumes decoding.
	f5 := snd.frame(interframe(2500), 1000, time.Time{})
	feed(s, f5[:2], at.Add(132*time.Millisecond))
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), at.Add(165*time.Millisecond))
	feed(s, snd.frame(keyframe(320, 180, 2000), 1000, time.Time{}), at.Add(198*time.Millisecond))
	feed(s, snd.frame(interframe(1500), 1000, time.Time{}), at.Add(231*time.Millisecond))
	if st := s.Stats(); st.Frames != 6 || st.Keyframes != 2 || st.Lost != 1 {
		t.Errorf("after a key frame: frames %d keyframes %d lost %d, want 6 2 1", st.Frames, st.Keyframes, st.Lost)
	}
}

func TestBytesByLayerFollowKeyframeSize(t *testing.T) {
	names := map[[2]int]string{{320, 180}: "q", {640, 360}: "h"}
	s := NewStream(Options{Video: true, LayerName: func(w, h int) string { return names[[2]int{w, h}] }})
	snd := &sender{seq: 1, ts: 1}
	at := time.Unix(1000, 0)
	var q, h uint64
	count := func(pkts []*rtp.Packet, n *uint64) {
		for _, p := range pkts {
			*n += uint64(p.MarshalSize())
		}
		feed(s, pkts, at)
	}
	count(snd.frame(keyframe(320, 180, 1500), 1000, time.Time{}), &q)
	count(snd.frame(interframe(800), 1000, time.Time{}), &q)
	// The server switched this stream to the half layer at a key frame.
	count(snd.frame(keyframe(640, 360, 4000), 1000, time.Time{}), &h)
	count(snd.frame(interframe(2000), 1000, time.Time{}), &h)
	st := s.Stats()
	if st.BytesByLayer["q"] != q || st.BytesByLayer["h"] != h || st.Bytes != q+h || st.Layer != "h" {
		t.Errorf("by layer %v (total %d, now %s), want q=%d h=%d", st.BytesByLayer, st.Bytes, st.Layer, q, h)
	}
	if st.Width != 640 || st.Height != 360 {
		t.Errorf("size %dx%d", st.Width, st.Height)
	}
}

func TestLatencyFromCaptureTime(t *testing.T) {
	s := NewStream(Options{Video: true, CaptureTimeID: 3})
	snd := &sender{seq: 1, ts: 1, ctID: 3}
	at := time.Unix(1000, 0)
	feed(s, snd.frame(keyframe(320, 180, 1500), 1000, at.Add(-40*time.Millisecond)), at)
	feed(s, snd.frame(interframe(800), 1000, at), at.Add(60*time.Millisecond))
	got := s.Latency()
	if len(got) != 2 || math.Abs(got[0]-40) > 0.01 || math.Abs(got[1]-60) > 0.01 {
		t.Errorf("latency samples %v, want [40 60]", got)
	}
	// Audio: one sample a packet; none without the extension id.
	a := NewStream(Options{ClockRate: 48000})
	pkt := audioPacket(1, 1)
	b, _ := rtp.NewAbsCaptureTimeExtension(at.Add(-25 * time.Millisecond)).Marshal()
	_ = pkt.Header.SetExtension(5, b)
	a.Packet(pkt, at)
	if n := len(a.Latency()); n != 0 {
		t.Errorf("%d latency samples without the extension id", n)
	}
	a.SetCaptureTimeID(5)
	pkt.SequenceNumber++
	a.Packet(pkt, at)
	if got := a.Latency(); len(got) != 1 || math.Abs(got[0]-25) > 0.01 {
		t.Errorf("audio latency %v, want [25]", got)
	}
}

func TestDist(t *testing.T) {
	d := NewDist(1000)
	for i := 1; i <= 100; i++ {
		d.Add(float64(i))
	}
	s := d.Summary()
	if s.Count != 100 || s.P50 != 50 || s.P95 != 95 || s.P99 != 99 || s.Min != 1 || s.Max != 100 || s.Mean != 50.5 {
		t.Errorf("summary %+v", s)
	}
	small := NewDist(10)
	for i := range 10000 {
		small.Add(float64(i))
	}
	if small.Count() != 10000 || len(small.Samples()) != 10 || small.Summary().Max != 9999 {
		t.Errorf("bounded dist: count %d samples %d", small.Count(), len(small.Samples()))
	}
	if (&Dist{}).Summary() != (Summary{}) {
		t.Error("empty dist has a summary")
	}
}
