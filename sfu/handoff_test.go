package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// handedOff is how many video packets of p's tracks the layers' own
// goroutines forwarded (handoff.go), rather than the fast path's reader.
func handedOff(t *testing.T, room *Room, p *Participant) uint64 {
	t.Helper()
	_, ts := room.snapshot()
	var n uint64
	for _, tr := range ts {
		if tr.owner != p || tr.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		for i := range tr.layers {
			if l := tr.layers[i].Load(); l != nil {
				if l.hand == nil {
					t.Fatalf("%s: a video layer read on the fast path has no hand-off", p.id)
				}
				n += l.hand.forwarded.Load()
			}
		}
	}
	return n
}

// With one subscriber, video is forwarded by the goroutine that reads it;
// with a second, the layer's own goroutine forwards it, and every
// subscriber keeps receiving.
func TestVideoForwardsInlineToOneSubscriberAndHandsOffToMore(t *testing.T) {
	room := testRoom(t)
	a, b := exchangeAV(t, room, 200)
	for _, p := range []*peer{a, b} {
		if n := handedOff(t, room, p.part); n != 0 {
			t.Fatalf("%s: %d packets handed off with one subscriber, want 0", p.part.id, n)
		}
	}
	aHad, bHad := a.count("b", "video"), b.count("a", "video")
	c := joinPeer(t, room, "c")
	waitFor(t, 10*time.Second, "the third peer and the first two to receive video", func() bool {
		return c.count("a", "video") > 200 && c.count("b", "video") > 200 &&
			a.count("b", "video") > aHad+200 && b.count("a", "video") > bHad+200
	})
	for _, p := range []*peer{a, b} {
		n := handedOff(t, room, p.part)
		t.Logf("%s: %d video packets handed off", p.part.id, n)
		if n < 100 {
			t.Errorf("%s: %d packets handed off with two subscribers, want at least 100", p.part.id, n)
		}
	}
}

// A hand-off a whole queue behind refuses the next packet and leaves
// nothing counted as pending for it.
func TestHandoffRefusesWhenAQueueBehind(t *testing.T) {
	hd := newHandoff(8)
	for i := range 4 {
		if !hd.push(uint16(i), false, 0) {
			t.Fatalf("push %d refused with room in the queue", i)
		}
	}
	if hd.push(4, false, 0) {
		t.Fatal("push accepted beyond the queue")
	}
	if got := hd.pending.Load(); got != 4 {
		t.Fatalf("pending %d, want 4", got)
	}
}
