package sfu

import (
	"sync/atomic"

	"github.com/pion/rtp"
)

// inlineFanOut is the most subscribers of a track whose video packets the
// goroutine that reads them (a publisher socket's, on the fast path) also
// forwards. Forwarding to one subscriber costs about as much as the
// hand-off it saves; with more, a key frame forwarded inline would hold up
// the connection's audio and its other layers (and the arrival times its
// bandwidth feedback records), so the layer's own goroutine forwards it.
const inlineFanOut = 1

// handoff carries a video layer's packets, by sequence number in the
// layer's packet cache, from the goroutine that reads them to the layer's
// own goroutine (upLayer.forwardHanded), which forwards them when the
// track has more than inlineFanOut subscribers.
type handoff struct {
	q chan handed
	// pending counts packets handed and not yet forwarded: while any are,
	// the next is handed too, so that subscribers get them in order.
	pending   atomic.Int32
	forwarded atomic.Uint64 // packets forwarded from the queue
}

// handed is one packet handed off: where it is in the cache, and what
// the reader learnt of it.
type handed struct {
	seq      uint16
	keyframe bool
	now      int64 // arrival, unix nanoseconds
}

// newHandoff returns the hand-off of a layer with a cache of cacheSize
// packets: it holds at most half of them, so that a packet handed is
// still cached when its turn comes.
func newHandoff(cacheSize int) *handoff {
	return &handoff{q: make(chan handed, cacheSize/2)}
}

// push hands one packet off, reporting false when the layer's goroutine
// is a whole queue behind (the packet is not forwarded: subscribers
// recover it by NACK from the cache, as after loss on the network).
func (hd *handoff) push(seq uint16, keyframe bool, now int64) bool {
	hd.pending.Add(1)
	select {
	case hd.q <- handed{seq: seq, keyframe: keyframe, now: now}:
		return true
	default:
		hd.pending.Add(-1)
		return false
	}
}

// handedBurst is the most packets the layer's goroutine forwards in one
// burst.
const handedBurst = 8

// forwardHanded forwards the packets handed off to the layer until its
// stream closes, what is waiting (up to handedBurst packets) in one burst,
// so that each subscriber's copies of a frame leave together (burst.go).
func (l *upLayer) forwardHanded(hd *handoff, closed <-chan struct{}) {
	buf := make([]byte, maxPacket)
	var h rtp.Header
	var bu burst
	one := func(p handed) {
		if n := l.cache.get(p.seq, buf); n > 0 {
			if hl, err := h.Unmarshal(buf[:n]); err == nil {
				l.forwardTo(*l.track.downs.Load(), &h, buf[hl:n], p.keyframe, p.now, &bu)
			}
		}
		hd.pending.Add(-1)
		hd.forwarded.Add(1)
	}
	for {
		select {
		case <-closed:
			return
		case p := <-hd.q:
			one(p)
			for range min(len(hd.q), handedBurst-1) {
				one(<-hd.q) // this goroutine alone receives: they are there
			}
			bu.release()
		}
	}
}
