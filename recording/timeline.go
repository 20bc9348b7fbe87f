package recording

// timeline maps a track's RTP timestamps, observed in sequence order, to
// milliseconds from the track's first packet. Timestamps are unwrapped
// past 2^32 by their signed 32-bit distance from the previous one.
type timeline struct {
	clock    int64
	started  bool
	last     uint32 // latest timestamp observed
	ext      int64  // last, unwrapped, in clock units from the origin
	originMs int64  // milliseconds at the origin
}

// observe advances the timeline to ts.
func (t *timeline) observe(ts uint32) {
	if !t.started {
		t.started, t.last, t.ext = true, ts, 0
		return
	}
	t.ext += int64(int32(ts - t.last))
	t.last = ts
}

// ms returns the time of ts, a timestamp near the latest observed.
func (t *timeline) ms(ts uint32) int64 {
	ext := t.ext + int64(int32(ts-t.last))
	ms := ext * 1000 / t.clock
	if ext < 0 && ms*t.clock != ext*1000 {
		ms-- // floor
	}
	return t.originMs + ms
}

// restart makes the next timestamp observed, whatever it is, map to atMs:
// for a stream that restarted with timestamps of its own.
func (t *timeline) restart(atMs int64) {
	t.started, t.originMs = false, atMs
}
