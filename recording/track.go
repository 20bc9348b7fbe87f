package recording

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Track records one published track into one file. Its Write and WriteRTP
// are safe for concurrent use and never block.
type Track struct {
	call          *Call
	participantID string
	trackID       string
	name          string // file name in the call's directory
	codec         codec
	clock         uint32

	queue   chan packet
	kick    chan struct{} // wakes the writer before its tick
	closed  atomic.Bool
	first   atomic.Int64  // unix nanoseconds of the first packet taken
	dropped atomic.Uint64 // packets refused on a full queue

	w    *writer       // owned by the writer goroutine
	done chan struct{} // closed when the writer has finished the file
}

// Name returns the track's file name in the call's directory.
func (t *Track) Name() string { return t.name }

// WriteRTP records pkt, whose Payload is without padding (as
// rtp.Packet.Unmarshal leaves it). See Write.
func (t *Track) WriteRTP(pkt *rtp.Packet) {
	t.Write(&pkt.Header, pkt.Payload)
}

// Write records one RTP packet, given as its header and its payload
// without padding. It copies what it needs (the payload into a pooled
// buffer), so the caller may reuse both at once, and it never blocks: on
// a full queue the packet is dropped, counted, and reported as a failure
// by the writer. The first packet's arrival (time.Now) is the track's
// start offset in the manifest. Packets written after Close are ignored.
func (t *Track) Write(h *rtp.Header, payload []byte) {
	if t.closed.Load() {
		return
	}
	if t.first.Load() == 0 {
		t.first.CompareAndSwap(0, time.Now().UnixNano())
	}
	b := t.call.bufs.Get().(*payloadBuf)
	b.b = append(b.b[:0], payload...)
	select {
	case t.queue <- packet{buf: b, ts: h.Timestamp, ssrc: h.SSRC, seq: h.SequenceNumber, marker: h.Marker}:
		if len(t.queue) > cap(t.queue)/2 {
			select {
			case t.kick <- struct{}{}:
			default:
			}
		}
	default:
		t.call.bufs.Put(b)
		t.dropped.Add(1)
	}
}

// firstAt returns the arrival time of the first packet, or the call's
// start when none came.
func (t *Track) firstAt() time.Time {
	if ns := t.first.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return t.call.start
}
