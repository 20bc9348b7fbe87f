package sfu

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// captureWriter is a webrtc.TrackLocalWriter that keeps what it is given.
type captureWriter struct {
	headers  []rtp.Header
	payloads [][]byte
	keep     bool
}

func (w *captureWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.keep {
		c := *h
		c.Extensions = nil
		w.headers = append(w.headers, c)
		w.payloads = append(w.payloads, append([]byte(nil), payload...))
	}
	return len(payload), nil
}

func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }

// testTrack builds a published video track with the given simulcast layers
// and n subscriptions writing to captureWriters, without peer connections.
func testTrack(t testing.TB, layers []int, n int) (*upTrack, []*downTrack, []*captureWriter) {
	t.Helper()
	s := newTestSFU(t)
	room := newRoom(s, "bench", Policy{})
	t.Cleanup(room.Close)
	owner := &Participant{id: "pub", room: room}
	pc, err := s.apis.pub.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	owner.pub = pc
	up := &upTrack{
		owner: owner, id: "pub-video", kind: webrtc.RTPCodecTypeVideo, simulcast: len(layers) > 1,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		ck:    codecVP8,
	}
	empty := []*downTrack{}
	up.downs.Store(&empty)
	for _, q := range layers {
		up.layers[q].Store(&upLayer{track: up, q: q, rid: layerRIDs[q], ssrc: uint32(100 + q), cache: newPacketCache(cacheSize[q])})
	}
	var downs []*downTrack
	var ws []*captureWriter
	for i := range n {
		sub := &Participant{id: "sub", room: room}
		sub.log = s.log
		d := newDownTrack(up, sub, layerF)
		w := &captureWriter{}
		d.bound, d.writer, d.ssrc, d.pt = true, w, uint32(5000+i), 96
		d.target = layers[0]
		up.addDown(d)
		downs = append(downs, d)
		ws = append(ws, w)
	}
	return up, downs, ws
}

// vp8Packet builds a packet of layer q: a key frame start when key is set.
func vp8Packet(buf []byte, seq uint16, ts uint32, key bool, q byte) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 100 + uint32(q), Marker: true}
	n, err := h.MarshalTo(buf)
	if err != nil {
		panic(err)
	}
	buf[n] = 0x10 // S, partition 0
	if key {
		buf[n+1] = 0x00
	} else {
		buf[n+1] = 0x01
	}
	for i := n + 2; i < len(buf); i++ {
		buf[i] = q
	}
	return buf
}

func TestLayerSwitchKeepsOneContinuousStream(t *testing.T) {
	up, downs, ws := testTrack(t, []int{layerQ, layerH}, 1)
	d, w := downs[0], ws[0]
	w.keep = true
	var hdr rtp.Header
	buf := make([]byte, 200)
	now := time.Now().UnixNano()
	q, h := up.layer(layerQ), up.layer(layerH)
	send := func(l *upLayer, seq uint16, ts uint32, key bool) {
		now += int64(33 * time.Millisecond)
		l.handle(vp8Packet(buf, seq, ts, key, byte(l.q)), &hdr, true, now, nil)
	}
	// q from a key frame; h's packets are ignored while q is forwarded.
	send(q, 1000, 5000, false) // waits for a key frame
	send(q, 1001, 5000, true)
	for i := range 10 {
		send(q, uint16(1002+i), uint32(8000+3000*i), false)
		send(h, uint16(40000+i), uint32(900000+3000*i), i == 3)
	}
	if len(w.headers) != 11 {
		t.Fatalf("forwarded %d packets of q, want 11", len(w.headers))
	}
	// Switch up: nothing of h goes out until h's key frame.
	d.setTarget(layerH, time.Now())
	send(h, 40020, 960000, false)
	send(q, 1012, 38000, false)
	if len(w.headers) != 12 {
		t.Fatalf("forwarded %d, want q's packet only (12) before h's key frame", len(w.headers))
	}
	send(h, 40021, 963000, true)
	send(q, 1013, 41000, false)
	send(h, 40022, 966000, false)
	send(h, 40019, 957000, false) // late packet from before the switch: dropped
	if len(w.headers) != 14 {
		t.Fatalf("forwarded %d, want 14 after the switch", len(w.headers))
	}
	for i := 1; i < len(w.headers); i++ {
		prev, cur := w.headers[i-1], w.headers[i]
		if cur.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, cur.SequenceNumber, prev.SequenceNumber)
		}
		if int32(cur.Timestamp-prev.Timestamp) < 0 {
			t.Errorf("packet %d: timestamp %d went back from %d", i, cur.Timestamp, prev.Timestamp)
		}
		if cur.SSRC != d.ssrc {
			t.Errorf("packet %d: SSRC %d, want the subscriber's %d", i, cur.SSRC, d.ssrc)
		}
	}
	if got := w.payloads[12][len(w.payloads[12])-1]; got != layerH {
		t.Errorf("after the switch the payload is from layer %d", got)
	}
	// The subscriber asks for packet 12 (h's key frame) again: it is resent
	// as it was sent, same SSRC, sequence number and payload, at most
	// maxResend times and never twice within the resend gap.
	lost := w.headers[12].SequenceNumber
	if !d.retransmit(lost, now) {
		t.Fatal("retransmit refused")
	}
	re := w.headers[len(w.headers)-1]
	if re.SSRC != d.ssrc || re.SequenceNumber != lost || re.Timestamp != w.headers[12].Timestamp {
		t.Errorf("resent as SSRC %d seq %d ts %d, want %d/%d/%d", re.SSRC, re.SequenceNumber, re.Timestamp, d.ssrc, lost, w.headers[12].Timestamp)
	}
	if string(w.payloads[len(w.payloads)-1]) != string(w.payloads[12]) {
		t.Error("resent payload differs from the original")
	}
	if d.retransmit(lost, now+int64(time.Millisecond)) {
		t.Error("the same packet was resent twice within the resend gap")
	}
	for i := 1; i < maxResend; i++ {
		if !d.retransmit(lost, now+int64(i)*int64(time.Second)) {
			t.Errorf("resend %d refused", i+1)
		}
	}
	if d.retransmit(lost, now+int64(10*time.Second)) {
		t.Errorf("resent more than %d times", maxResend)
	}
	// Pausing stops at once; resuming waits for a key frame.
	d.setTarget(layerPause, time.Now())
	n := len(w.headers)
	send(h, 40023, 969000, true)
	if len(w.headers) != n {
		t.Error("a paused subscription was sent a packet")
	}
}

// BenchmarkForward measures the hot path: one received packet parsed,
// cached and written to every subscriber (Pion's writer replaced by one
// that discards). It must not allocate.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(map[int]string{1: "subscribers=1", 20: "subscribers=20"}[n], func(b *testing.B) {
			up, _, _ := testTrack(b, []int{layerF}, n)
			l := up.layer(layerF)
			var hdr rtp.Header
			buf := make([]byte, 1200)
			now := time.Now().UnixNano()
			l.handle(vp8Packet(buf, 0, 0, true, layerF), &hdr, true, now, nil)
			b.ReportAllocs()
			b.ResetTimer()
			pkt := vp8Packet(buf, 1, 0, false, layerF)
			for i := 0; b.Loop(); i++ {
				now += int64(time.Millisecond)
				binary.BigEndian.PutUint16(pkt[2:], uint16(i+1))
				binary.BigEndian.PutUint32(pkt[4:], uint32(i/4*3000))
				l.handle(pkt, &hdr, true, now, nil)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "sent-pkts/s")
		})
	}
}

func TestAudioForwardsAcrossTheWholeSequenceSpace(t *testing.T) {
	up, downs, ws := testTrack(t, []int{0}, 1)
	up.kind = webrtc.RTPCodecTypeAudio
	d, w := downs[0], ws[0]
	d.current, d.target = 0, 0
	var hdr rtp.Header
	buf := make([]byte, 100)
	now := time.Now().UnixNano()
	// Starting above 2^15 and wrapping through zero, nothing is dropped.
	for i := range 70000 {
		seq := uint16(40000 + i)
		h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(i * 960), SSRC: 7}
		n, _ := h.MarshalTo(buf)
		now += int64(20 * time.Millisecond)
		up.layer(0).handle(buf[:n+3], &hdr, false, now, nil)
	}
	if d.packets != 70000 {
		t.Errorf("forwarded %d of 70000 audio packets", d.packets)
	}
	_ = w
}
