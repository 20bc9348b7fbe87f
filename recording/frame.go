package recording

// frame is one complete video frame or audio packet, ready to be written.
type frame struct {
	data []byte // valid until the assembler's next push
	ts   uint32 // RTP timestamp
	key  bool
}

// trackInfo is what a file's Tracks header needs, known from the first
// frame written (a key frame for video).
type trackInfo struct {
	width, height int
	channels      int
	private       []byte // CodecPrivate
}

// assembler turns a track's payloads, in sequence order, into frames.
type assembler interface {
	// push takes the next packet; gap says packets were lost just before
	// it. It returns a frame when one is complete and whole.
	push(payload []byte, ts uint32, marker, gap bool) (frame, bool)
	// takeBroken returns, and clears, how many frames were discarded as
	// incomplete since the last call.
	takeBroken() int
	// describe returns the header of a file that starts with f, or false
	// when f cannot start one (an H.264 key frame without parameter sets).
	describe(f frame) (trackInfo, bool)
}

// unpacker is the codec-specific part of a videoAssembler.
type unpacker interface {
	// unpack appends the media bytes of one payload to dst; begin reports
	// that the payload starts a frame.
	unpack(dst, payload []byte) (out []byte, begin bool, err error)
	// reset forgets a partial frame.
	reset()
	// finish returns the bytes to write for an assembled frame (which it
	// may extend) and whether the frame is a key frame.
	finish(b []byte) ([]byte, bool)
	// describe returns the header of a file starting with key frame b.
	describe(b []byte) (trackInfo, bool)
}

// videoAssembler collects the payloads of one RTP timestamp until the
// marker bit, and discards a frame that misses its start, a packet or its
// end.
type videoAssembler struct {
	u       unpacker
	buf     []byte
	ts      uint32
	open    bool // a frame is being collected
	broken  bool // the open frame lost data
	nbroken int
}

func newVideoAssembler(u unpacker) *videoAssembler {
	return &videoAssembler{u: u, buf: make([]byte, 0, 64<<10)}
}

func (a *videoAssembler) push(payload []byte, ts uint32, marker, gap bool) (frame, bool) {
	if a.open && ts != a.ts { // the frame's last packet never came
		a.open = false
		a.nbroken++
	}
	first := !a.open
	if first {
		a.open, a.ts, a.broken, a.buf = true, ts, false, a.buf[:0]
		a.u.reset()
	} else if gap {
		a.broken = true
	}
	out, begin, err := a.u.unpack(a.buf, payload)
	switch {
	case err != nil || (first && !begin):
		a.broken = true
	default:
		a.buf = out
	}
	if !marker {
		return frame{}, false
	}
	a.open = false
	if a.broken || len(a.buf) == 0 {
		a.nbroken++
		return frame{}, false
	}
	data, key := a.u.finish(a.buf)
	a.buf = data[:0]
	return frame{data: data, ts: ts, key: key}, true
}

func (a *videoAssembler) takeBroken() int {
	n := a.nbroken
	a.nbroken = 0
	return n
}

func (a *videoAssembler) describe(f frame) (trackInfo, bool) {
	return a.u.describe(f.data)
}
