package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A probe sends padding-only packets after the frames it follows, numbered
// in the subscription's one sequence: the media after them moves up, a late
// packet from before them is dropped, a NACK for one is answered with
// padding, and the padding stops when the probe ends.
func TestProbePadsBetweenFramesInOneSequence(t *testing.T) {
	up, downs, ws := testTrack(t, []int{layerQ}, 1)
	d, w := downs[0], ws[0]
	w.keep = true
	var hdr rtp.Header
	buf := make([]byte, 200)
	now := time.Now().UnixNano()
	q := up.layer(layerQ)
	seq, ts := uint16(500), uint32(9000)
	frame := func(key bool) {
		now += int64(33 * time.Millisecond)
		seq++
		ts += 3000
		q.handle(vp8Packet(buf, seq, ts, key, layerQ), &hdr, true, now)
	}
	frame(true)
	const rate = 600_000
	d.startProbe(rate, time.Unix(0, now))
	if st := d.probeState(time.Unix(0, now)); st != probeRunning {
		t.Fatalf("probe state %v, want running", st)
	}
	for range 20 {
		frame(false)
	}
	// Late, from before the last padding (whose numbers it would need): dropped.
	q.handle(vp8Packet(buf, seq-1, ts-3000, false, layerQ), &hdr, true, now)
	for range 25 { // to 1.5 s: the rest of the probe's second and half a second after
		frame(false)
	}

	var padding, media, padBytes int
	var padSeq uint16
	for i, h := range w.headers {
		if i > 0 && h.SequenceNumber != w.headers[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, h.SequenceNumber, w.headers[i-1].SequenceNumber)
		}
		if h.Padding && h.PaddingSize == paddingSize && len(w.payloads[i]) == 0 {
			padding++
			padBytes += paddingSize
			padSeq = h.SequenceNumber
			if h.Marker || i == 0 || h.Timestamp != w.headers[i-1].Timestamp {
				t.Errorf("padding %d: marker %v, timestamp %d after %d: want the frame's timestamp, no marker",
					h.SequenceNumber, h.Marker, h.Timestamp, w.headers[i-1].Timestamp)
			}
			continue
		}
		media++
	}
	if media != 46 {
		t.Errorf("forwarded %d media packets, want the 46 frames (the late one dropped)", media)
	}
	// Over the second, ramping from a fifth over the first half: about
	// 0.6 of rate/8 bytes.
	if want := int(0.6 * rate / 8); padBytes < want*2/3 || padBytes > want*3/2 {
		t.Errorf("%d bytes of padding in %d packets, want about %d", padBytes, padding, want)
	}
	last := w.headers[len(w.headers)-1]
	if last.Padding || last.SequenceNumber-uint16(len(w.headers)-1) != w.headers[0].SequenceNumber {
		t.Errorf("the stream ends with %+v: the probe should have stopped after its second", last)
	}

	// A NACK for a padding packet is answered with padding under its number.
	n := len(w.headers)
	if !d.retransmit(padSeq, now) {
		t.Fatalf("no answer to a NACK for padding %d", padSeq)
	}
	if h := w.headers[n]; h.SequenceNumber != padSeq || !h.Padding || len(w.payloads[n]) != 0 {
		t.Errorf("resent %+v (%d payload bytes), want padding %d", h, len(w.payloads[n]), padSeq)
	}
	if st := d.probeState(time.Unix(0, now)); st != probePassed {
		t.Errorf("probe state %v after its second, want passed", st)
	}
}
