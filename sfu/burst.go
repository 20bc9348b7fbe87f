package sfu

import (
	"slices"
	"sync"
)

// sendHolder is a media socket whose sends can be held back and sent
// together (sendQueue, fastnet_linux.go).
type sendHolder interface {
	holdSends()
	releaseSends()
}

// socketSet is the media sockets packets to one subscriber leave by: those
// of the UDP port every connection shares (fastPaths), or with
// Config.BatchOwnSockets its subscriber connection's own. Bounded: one per
// local address a connection gathers on, dropped when the socket closes.
type socketSet struct {
	mu      sync.Mutex
	sockets []sendHolder
}

// adopt adds h to the set.
func (s *socketSet) adopt(h sendHolder) {
	s.mu.Lock()
	s.sockets = append(s.sockets, h)
	s.mu.Unlock()
}

// drop removes h (a socket closing).
func (s *socketSet) drop(h sendHolder) {
	s.mu.Lock()
	if i := slices.Index(s.sockets, h); i >= 0 {
		s.sockets = slices.Delete(s.sockets, i, i+1)
	}
	s.mu.Unlock()
}

// burst is what one goroutine holds while it forwards a burst of packets:
// the sockets of the subscribers it has forwarded to since it began, each
// held once (sendQueue), so that what it sends to one subscriber leaves
// in one system call when the burst ends, a video frame as one UDP
// segmentation train. A socket's reader runs a burst from the datagram it
// reads until it has no more to read (or hands one to Pion); a layer's
// goroutine, while it forwards what was handed to it (handoff.go). A burst
// is owned by its goroutine; nil is a burst that holds nothing.
type burst struct {
	sets []*socketSet // enlisted, in order
	held []sendHolder // held, to release exactly these
}

// burstSets bounds how many subscribers' sockets one burst holds: beyond
// it, packets leave at once.
const burstSets = 64

// enlist holds the sockets of s for the rest of the burst, once.
func (b *burst) enlist(s *socketSet) {
	if b == nil || s == nil || len(b.sets) == burstSets {
		return
	}
	for _, e := range b.sets {
		if e == s {
			return
		}
	}
	b.sets = append(b.sets, s)
	s.mu.Lock()
	n := len(b.held)
	b.held = append(b.held, s.sockets...)
	s.mu.Unlock()
	for _, h := range b.held[n:] {
		h.holdSends()
	}
}

// release ends the burst: every socket it held sends what it queued.
func (b *burst) release() {
	if b == nil || len(b.sets) == 0 {
		return
	}
	for _, h := range b.held {
		h.releaseSends()
	}
	clear(b.sets)
	clear(b.held)
	b.sets, b.held = b.sets[:0], b.held[:0]
}
