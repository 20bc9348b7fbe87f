package sfu

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// The publisher's transport-wide feedback lists every transport sequence
// number from the first received to the last, the lost one as not
// received, with an arrival delta for each of the others; none is sent
// once the connection closes.
func TestTransportWideFeedbackReportsArrivalsAndLoss(t *testing.T) {
	ic, err := twccFeedbackFactory{log: slog.New(slog.DiscardHandler)}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan []rtcp.Packet, 16)
	ic.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		sent <- pkts
		return len(pkts), nil
	}))
	const extID = 5
	info := &interceptor.StreamInfo{SSRC: 0x1234, ClockRate: 90000,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: rtcconf.TransportCCURI, ID: extID}}}
	var pkt []byte
	r := ic.BindRemoteStream(info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, pkt), a, nil
	}))
	buf := make([]byte, 1500)
	for seq := uint16(100); seq < 110; seq++ {
		if seq == 104 {
			continue // lost
		}
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 0x1234}
		ext, err := (&rtp.TransportCCExtension{TransportSequence: seq}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.SetExtension(extID, ext); err != nil {
			t.Fatal(err)
		}
		if pkt, err = (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatalf("read %d: %v", seq, err)
		}
		time.Sleep(time.Millisecond)
	}
	var fb *rtcp.TransportLayerCC
	select {
	case pkts := <-sent:
		for _, p := range pkts {
			if f, ok := p.(*rtcp.TransportLayerCC); ok {
				fb = f
			}
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no feedback within 2 s")
	}
	if fb == nil {
		t.Fatal("feedback without a transport-wide report")
	}
	if fb.BaseSequenceNumber != 100 || fb.PacketStatusCount != 10 {
		t.Fatalf("feedback covers %d packets from %d, want 10 from 100", fb.PacketStatusCount, fb.BaseSequenceNumber)
	}
	if len(fb.RecvDeltas) != 9 {
		t.Fatalf("%d arrival deltas, want 9 (one lost)", len(fb.RecvDeltas))
	}
	for len(sent) > 0 {
		<-sent
	}
	if err := ic.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case pkts := <-sent:
		t.Fatalf("feedback sent after close: %v", pkts)
	case <-time.After(3 * twccInterval):
	}
}
