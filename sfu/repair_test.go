package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
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

	_, ts := room.snapshot()
	var top *upLayer
	for _, t := range ts {
		if t.owner.id == "a" && t.simulcast {
			top = t.layer(layerF)
		}
	}
	if top == nil {
		t.Fatal("no top layer published")
	}
	// Ask the publisher, as the server's NACK generator would, to resend
	// recent packets of the top layer: Pion sends them on its RTX stream.
	for range 5 {
		top.mu.Lock()
		last := top.stats.maxSeq
		top.mu.Unlock()
		nack := &rtcp.TransportLayerNack{MediaSSRC: top.ssrc,
			Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last - 8, last - 6, last - 4})}
		if err := top.track.owner.pub.WriteRTCP([]rtcp.Packet{nack}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, 5*time.Second, "the RTX stream refused", func() bool {
		return a.part.fast.refused.Load() > 0
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
