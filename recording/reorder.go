package recording

// packet is one queued RTP packet: the header fields the writer needs and
// a pooled copy of its payload (without padding).
type packet struct {
	buf    *payloadBuf
	ts     uint32
	ssrc   uint32
	seq    uint16
	marker bool
}

// payloadBuf is a pooled payload copy.
type payloadBuf struct {
	b []byte
}

// emitFunc takes a packet in sequence order, with the number of sequence
// numbers given up as lost just before it. It owns p.buf.
type emitFunc func(p packet, lost int)

// reorder puts packets back in sequence order. A missing packet is waited
// for while the packets held after it span less than maxSpan of media
// time and fit the window (retransmissions come one round trip late);
// then it is counted lost. A sequence number jump of more than
// resyncJump either way is a restarted stream: what is held is emitted and
// the order starts again.
type reorder struct {
	slots   []packet // by sequence number modulo len; buf nil when empty
	next    uint16   // next sequence number to emit
	started bool
	held    int
	pending int    // sequence numbers skipped as lost since the last emit
	maxSpan uint32 // in RTP clock units
}

const resyncJump = 3000

func newReorder(window int, maxSpan uint32) reorder {
	return reorder{slots: make([]packet, window), maxSpan: maxSpan}
}

func (r *reorder) slot(seq uint16) *packet { return &r.slots[int(seq)%len(r.slots)] }

// push adds p and emits what is in order. It returns false when p was
// not taken (a duplicate, or later than the packets already emitted): the
// caller keeps p.buf.
func (r *reorder) push(p packet, emit emitFunc) bool {
	if !r.started {
		r.started, r.next = true, p.seq
	}
	d := int(int16(p.seq - r.next))
	switch {
	case d >= resyncJump || d <= -resyncJump:
		r.flush(emit)
		r.started, r.next = true, p.seq
	case d < 0:
		return false
	}
	for int(int16(p.seq-r.next)) >= len(r.slots) {
		r.skip(emit)
	}
	s := r.slot(p.seq)
	if s.buf != nil {
		return false
	}
	*s = p
	r.held++
	r.advance(emit)
	r.expire(p.ts, emit)
	return true
}

// skip moves past the next sequence number: emitted when held, else lost.
func (r *reorder) skip(emit emitFunc) {
	s := r.slot(r.next)
	r.next++
	if s.buf == nil {
		r.pending++
		return
	}
	r.emit(s, emit)
}

func (r *reorder) emit(s *packet, emit emitFunc) {
	p := *s
	s.buf = nil
	r.held--
	lost := r.pending
	r.pending = 0
	emit(p, lost)
}

// advance emits the packets held in order from next.
func (r *reorder) advance(emit emitFunc) {
	for s := r.slot(r.next); s.buf != nil; s = r.slot(r.next) {
		r.next++
		r.emit(s, emit)
	}
}

// expire gives up on missing packets once the packets held after them
// span more than maxSpan before newest.
func (r *reorder) expire(newest uint32, emit emitFunc) {
	for r.held > 0 {
		i := r.next
		for r.slot(i).buf == nil {
			i++
		}
		if int32(newest-r.slot(i).ts) <= int32(r.maxSpan) {
			return
		}
		for r.next != i {
			r.skip(emit)
		}
		r.advance(emit)
	}
}

// flush emits everything held, counting the holes between as lost, and
// forgets the sequence.
func (r *reorder) flush(emit emitFunc) {
	for r.held > 0 {
		r.skip(emit)
	}
	r.pending = 0
	r.started = false
}
