package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	dto "github.com/prometheus/client_model/go"
)

// A publisher whose retransmissions come on an RTX stream marked with the
// rid of the layer they repair, not the repaired-rtp-stream-id (Pion's
// NACK responder does this, as the test peers use it), must neither take
// the layer's place nor stall the port's reader: the stream is refused
// before Pion sees it, and the layer keeps reaching the subscriber. On one
// shared UDP port, a reader waiting on the wrong stream would stop every
// call on the server.
func TestRetransmissionsWithoutRepairIDAreRefused(t *testing.T) {
	room, _ := sharedPortRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	publishSimulcast(t, a, l)
	waitFor(t, 10*time.Second, "the top layer at b", func() bool {
		ls := b.layersOf("a", 0)
		return len(ls) > 30 && ls[len(ls)-1] == layerF
	})

	top := videoLayer(t, room, "a", layerF)
	// Pion's NACK responder resends on its RTX stream, marked with the rid.
	nackRecent(t, top)
	waitFor(t, 5*time.Second, "the RTX stream refused", func() bool {
		return refusedStreams(t, room) > 0
	})

	from := len(b.layersOf("a", 0))
	waitFor(t, 5*time.Second, "the top layer still at b", func() bool {
		ls := b.layersOf("a", from)
		return len(ls) > 60 && ls[len(ls)-1] == layerF
	})
	if got := uint32(top.remote.SSRC()); got != top.ssrc {
		t.Errorf("the top layer's track moved to stream %d from %d", got, top.ssrc)
	}
	if top.track.layer(layerF) != top {
		t.Error("the top layer was replaced")
	}
}

// Only an RTX stream the offer did not declare, whose first packet lacks
// the repaired-rtp-stream-id, is refused.
func TestRepairRulesRefuseOnlyUnmarkedUndeclaredRTX(t *testing.T) {
	r := &repairRules{rrid: 10, declared: map[uint32]bool{7: true}}
	r.rtx[97] = true
	pkt := func(pt uint8, ext map[uint8]string) []byte {
		h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 1, SSRC: 5}
		for id, v := range ext {
			if err := h.SetExtension(id, []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name   string
		ssrc   uint32
		p      []byte
		refuse bool
	}{
		{"media", 5, pkt(96, map[uint8]string{4: "f"}), false},
		{"RTX marked with the rid only", 5, pkt(97, map[uint8]string{4: "f"}), true},
		{"RTX without extensions", 5, pkt(97, nil), true},
		{"RTX naming what it repairs", 5, pkt(97, map[uint8]string{10: "f"}), false},
		{"declared RTX", 7, pkt(97, nil), false},
		{"garbage", 5, []byte{0x80}, false},
	} {
		if got := r.refuses(c.ssrc, c.p); got != c.refuse {
			t.Errorf("%s: refused %v, want %v", c.name, got, c.refuse)
		}
	}
	var none *repairRules
	if none.refuses(5, pkt(97, nil)) {
		t.Error("refused before any negotiation")
	}
}

// A publisher without simulcast declares its RTX stream in its offer:
// Pion places it as the repair stream, and it is not refused.
func TestDeclaredRetransmissionsAreKept(t *testing.T) {
	room, _ := sharedPortRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	v := newVP8Source("video", "", 2, 3000)
	senders := a.publish(v.track)
	v.start(l)
	a.wg.Add(1) // reading RTCP lets Pion's NACK responder see the NACKs
	go func() {
		defer a.wg.Done()
		for {
			if _, _, err := senders[0].ReadRTCP(); err != nil {
				return
			}
		}
	}()
	waitFor(t, 10*time.Second, "video at b", func() bool { return b.count("a", "video") > 30 })
	video := videoLayer(t, room, "a", 0)
	nackRecent(t, video)
	n := b.count("a", "video")
	waitFor(t, 5*time.Second, "video still at b", func() bool { return b.count("a", "video") > n+60 })
	if got := refusedStreams(t, room); got != 0 {
		t.Errorf("%v declared streams refused", got)
	}
	// The resends arrived on the RTX stream, which Pion reads.
	f := a.part.fast
	f.mu.Lock()
	seen := false
	for _, in := range f.pending {
		in.mu.Lock()
		seen = seen || in.seen
		in.mu.Unlock()
	}
	f.mu.Unlock()
	if !seen {
		t.Error("no resend arrived on the RTX stream")
	}
	if got := uint32(video.remote.SSRC()); got != video.ssrc {
		t.Errorf("the track moved to stream %d from %d", got, video.ssrc)
	}
}

// nackRecent asks l's publisher, as the server's NACK generator would, to
// resend recent packets, five times.
func nackRecent(t *testing.T, l *upLayer) {
	t.Helper()
	for range 5 {
		l.mu.Lock()
		last := l.stats.maxSeq
		l.mu.Unlock()
		nack := &rtcp.TransportLayerNack{MediaSSRC: l.ssrc,
			Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last - 8, last - 6, last - 4})}
		if err := l.track.owner.pub.WriteRTCP([]rtcp.Packet{nack}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refusedStreams reads gatehouse_sfu_refused_streams_total of room's SFU.
func refusedStreams(t *testing.T, room *Room) float64 {
	t.Helper()
	var m dto.Metric
	if err := room.sfu.media.RefusedStreams.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// videoLayer returns layer q of the video track publisher id published in
// room.
func videoLayer(t *testing.T, room *Room, id string, q int) *upLayer {
	t.Helper()
	_, ts := room.snapshot()
	for _, up := range ts {
		if up.owner.id == id && up.kind == webrtc.RTPCodecTypeVideo {
			if l := up.layer(q); l != nil {
				return l
			}
		}
	}
	t.Fatalf("%s published no video layer %d", id, q)
	return nil
}
