package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// splice makes one continuous RTP stream out of a track's layers: packets
// of the current layer go out renumbered so that the sequence numbers
// continue by one and the timestamps by the time that passed across every
// switch, and a switch to the target layer happens on its key frame. A
// subscriber's downTrack and a track's recorder each keep one.
type splice struct {
	current   int    // layer spliced in now; layerPause for none
	clock     uint32 // RTP clock rate
	started   bool
	switchSeq uint16 // first sequence number taken of the current layer
	seqOffset uint16
	tsOffset  uint32
	lastSeq   uint16
	lastTs    uint32
	lastAt    int64 // unix nanoseconds of the last packet taken
}

// take decides packet h of layer q, arriving at now: it returns the
// sequence number and timestamp to send it under, whether it switched
// layers, and false when the packet is not part of the stream. restart
// re-splices on any packet of the current layer (audio resuming).
func (s *splice) take(q, target int, h *rtp.Header, keyframe, restart bool, now int64) (seq uint16, ts uint32, switched, ok bool) {
	switch {
	case q != s.current:
		if q != target || !keyframe {
			return 0, 0, false, false
		}
		switched = s.started
		s.switchTo(q, h, now)
	case !s.started || restart:
		s.switchTo(q, h, now)
	case seqBefore(h.SequenceNumber, s.switchSeq):
		return 0, 0, false, false // older than the switch point: its numbers belong to the old layer
	}
	if h.SequenceNumber-s.switchSeq > 0x4000 && h.SequenceNumber-s.switchSeq < 0x8000 {
		// Keep the switch point trailing, so that the check above never
		// wraps around the sequence space.
		s.switchSeq = h.SequenceNumber - 0x4000
	}
	seq = h.SequenceNumber - s.seqOffset
	ts = h.Timestamp - s.tsOffset
	if !s.started || seqBefore(s.lastSeq, seq) {
		s.lastSeq, s.lastTs, s.lastAt = seq, ts, now
	}
	s.started = true
	return seq, ts, switched, true
}

// switchTo makes q the current layer from packet h on, so that the
// sequence numbers continue by one and the timestamps by the time that
// passed.
func (s *splice) switchTo(q int, h *rtp.Header, now int64) {
	if s.started {
		delta := uint32(1)
		if s.lastAt != 0 && now > s.lastAt {
			if ticks := uint32(uint64(now-s.lastAt) * uint64(s.clock) / uint64(time.Second)); ticks > 0 {
				delta = ticks
			}
		}
		s.seqOffset = h.SequenceNumber - (s.lastSeq + 1)
		s.tsOffset = h.Timestamp - (s.lastTs + delta)
	}
	s.switchSeq = h.SequenceNumber
	s.current = q
}
