package sfu

import "sync"

// fastPaths routes the datagrams of a UDP port every connection shares
// (Config.UDPPort, an ICE mux) to the fast path of the stream they belong
// to, by SSRC, on the port's reader; the connection's SRTP authentication
// then proves the route right. An SSRC that two connections' streams
// claim at once (random 32-bit numbers: rare) is routed to neither: Pion's
// mux, which routes by address, carries both.
//
// Its sockets are the set packets to every subscriber on the port leave
// by (burst.go).
type fastPaths struct {
	mu      sync.RWMutex
	claims  map[uint32][]*fastPath
	sockets socketSet
}

func newFastPaths() *fastPaths {
	return &fastPaths{claims: make(map[uint32][]*fastPath)}
}

// take hands p to its stream's fast path: false leaves it to Pion.
func (s *fastPaths) take(p []byte, b *burst) bool {
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
	return f.take(p, b)
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
