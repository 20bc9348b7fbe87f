package recording

import "github.com/pion/rtp/codecs"

// vp9Unpacker depacketizes VP9 (RFC 9628). A picture is the payloads of one
// RTP timestamp; each B..E run in it is one frame (one per spatial layer).
// A picture of several frames is written as a VP9 superframe, with the
// index of VP9 bitstream specification annex B.
type vp9Unpacker struct {
	p      codecs.VP9Packet
	starts []int // offset of each frame in the picture
}

func (u *vp9Unpacker) unpack(dst, payload []byte) ([]byte, bool, error) {
	data, err := u.p.Unmarshal(payload)
	if err != nil {
		return dst, false, err
	}
	if u.p.B {
		u.starts = append(u.starts, len(dst))
	}
	return append(dst, data...), u.p.B, nil
}

func (u *vp9Unpacker) reset() { u.starts = u.starts[:0] }

func (u *vp9Unpacker) finish(b []byte) ([]byte, bool) {
	if len(u.starts) == 0 {
		return b, false
	}
	first := b[u.starts[0]:]
	if len(u.starts) > 1 {
		first = first[:u.starts[1]-u.starts[0]]
	}
	key, _, _ := vp9Header(first)
	if len(u.starts) == 1 {
		return b, key
	}
	return vp9Superframe(b, u.starts), key
}

func (u *vp9Unpacker) describe(b []byte) (trackInfo, bool) {
	_, w, h := vp9Header(b)
	return trackInfo{width: w, height: h}, true
}

// vp9Superframe appends the superframe index of the frames starting at
// starts in b.
func vp9Superframe(b []byte, starts []int) []byte {
	n := len(starts)
	if n > 8 {
		return b // an index holds 8 frames at most; leave it to the decoder
	}
	sizes := make([]int, n)
	largest := 0
	for i, s := range starts {
		end := len(b)
		if i+1 < n {
			end = starts[i+1]
		}
		sizes[i] = end - s
		largest = max(largest, sizes[i])
	}
	mag := 1
	for largest >= 1<<(8*mag) && mag < 4 {
		mag++
	}
	marker := byte(0xc0 | (mag-1)<<3 | (n - 1))
	b = append(b, marker)
	for _, s := range sizes {
		for j := range mag {
			b = append(b, byte(s>>(8*j)))
		}
	}
	return append(b, marker)
}

// vp9Header reads the uncompressed header of VP9 frame b (VP9 bitstream
// specification section 6.2): whether it is a key frame and, for a key
// frame, its size.
func vp9Header(b []byte) (key bool, width, height int) {
	r := bitReader{b: b}
	if r.u(2) != 2 { // frame_marker
		return false, 0, 0
	}
	profile := r.u(1)
	profile |= r.u(1) << 1
	if profile == 3 {
		r.u(1)
	}
	if r.u(1) == 1 { // show_existing_frame
		return false, 0, 0
	}
	if r.u(1) != 0 { // frame_type: 0 is KEY_FRAME
		return false, 0, 0
	}
	r.u(2)                   // show_frame, error_resilient_mode
	if r.u(24) != 0x498342 { // frame_sync_code
		return false, 0, 0
	}
	if profile >= 2 {
		r.u(1) // ten_or_twelve_bit
	}
	if r.u(3) != 7 { // color_space other than CS_RGB
		r.u(1) // color_range
		if profile == 1 || profile == 3 {
			r.u(3) // subsampling_x, subsampling_y, reserved_zero
		}
	} else if profile == 1 || profile == 3 {
		r.u(1)
	}
	w := int(r.u(16)) + 1
	h := int(r.u(16)) + 1
	if r.short {
		return true, 0, 0
	}
	return true, w, h
}
