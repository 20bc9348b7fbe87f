package sfu

import "sync"

// fastPaths routes the datagrams of a UDP port every connection shares
// (Config.UDPPort, an ICE mux) to the fast path of the stream they belong
// to, by SSRC, on the port's reader; the connection's SRTP authentication
// then proves the route right. An SSRC that two connections' streams
// claim at once (random 32-bit numbers: rare) is routed to neither: Pion's
// mux, which routes by address, carries both.
//
// It also knows the port's sockets, so that a goroutine about to forward
// a burst can hold their sends and have them leave together.
type fastPaths struct {
	mu      sync.RWMutex
	claims  map[uint32][]*fastPath
	sockets []sendHolder // bounded: one per local address the port listens on
}

// sendHolder is a media socket whose sends can be held back and sent
// together (fastnet_linux.go).
type sendHolder interface {
	holdSends()
	releaseSends()
}

// adopt makes h one of the port's sockets.
func (s *fastPaths) adopt(h sendHolder) {
	s.mu.Lock()
	s.sockets = append(s.sockets, h)
	s.mu.Unlock()
}

// holdSends holds the sends of every socket of the port until
// releaseSends; nothing on a nil router (no shared port).
func (s *fastPaths) holdSends() { s.eachSocket(sendHolder.holdSends) }

// releaseSends ends a holdSends, sending what the sockets queued.
func (s *fastPaths) releaseSends() { s.eachSocket(sendHolder.releaseSends) }

// eachSocket calls f on every socket of the port.
func (s *fastPaths) eachSocket(f func(sendHolder)) {
	if s == nil {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.sockets {
		f(h)
	}
}

func newFastPaths() *fastPaths {
	return &fastPaths{claims: make(map[uint32][]*fastPath)}
}

// take hands p to its stream's fast path: false leaves it to Pion.
func (s *fastPaths) take(p []byte) bool {
	ssrc, ok := rtpSSRC(p)
	if !ok {
		return false
	}
	s.mu.RLock()
	fs := s.claims[ssrc]
	var f *fastPath
	if len(fs) == 1 {
		f = fs[0]
	}
	s.mu.RUnlock()
	return f.take(p)
}

// claim routes ssrc to f, unless another fast path claims it too.
func (s *fastPaths) claim(ssrc uint32, f *fastPath) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.claims[ssrc] {
		if g == f {
			return
		}
	}
	// Bounded: one entry per stream on the fast path, removed with it.
	s.claims[ssrc] = append(s.claims[ssrc], f)
}

// release withdraws f's claim on ssrc.
func (s *fastPaths) release(ssrc uint32, f *fastPath) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.claims[ssrc]
	for i, g := range fs {
		if g == f {
			fs = append(fs[:i:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(s.claims, ssrc)
	} else {
		s.claims[ssrc] = fs
	}
}
