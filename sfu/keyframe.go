package sfu

import "strings"

// codecKind is what the forwarder needs to know of a video codec: how to
// tell a key frame, which it must wait for before a subscriber can start
// or switch layers.
type codecKind uint8

const (
	codecOther codecKind = iota
	codecVP8
	codecH264
)

func codecKindOf(mime string) codecKind {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return codecVP8
	case "video/h264":
		return codecH264
	}
	return codecOther
}

// isKeyframeStart reports whether payload is the first packet of a key
// frame. Codecs it cannot parse report true, so that their forwarding
// never waits for a key frame that would not be recognised.
func (k codecKind) isKeyframeStart(payload []byte) bool {
	switch k {
	case codecVP8:
		return vp8KeyframeStart(payload)
	case codecH264:
		return h264KeyframeStart(payload)
	}
	return true
}

// vp8Header skips the VP8 payload descriptor (RFC 7741 section 4.2) and
// returns the offset of the VP8 payload header and whether this packet
// starts partition 0 of a frame.
func vp8Header(p []byte) (int, bool) {
	if len(p) < 1 {
		return 0, false
	}
	start := p[0]&0x10 != 0 && p[0]&0x07 == 0
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte
		if len(p) < 2 {
			return 0, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture id
			if len(p) <= i {
				return 0, false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	if len(p) <= i {
		return 0, false
	}
	return i, start
}

// vp8KeyframeStart reports whether p begins a VP8 key frame: the start of
// partition 0 with the inverse key frame flag clear (RFC 6386 9.1).
func vp8KeyframeStart(p []byte) bool {
	i, start := vp8Header(p)
	return start && p[i]&0x01 == 0
}

// VP8Dimensions returns the width and height coded in a VP8 key frame's
// first packet, or zeros when p does not start a key frame.
func VP8Dimensions(p []byte) (width, height int) {
	i, start := vp8Header(p)
	if !start || p[i]&0x01 != 0 || len(p) < i+10 {
		return 0, 0
	}
	b := p[i:]
	if b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0
	}
	return int(b[6]) | int(b[7]&0x3f)<<8, int(b[8]) | int(b[9]&0x3f)<<8
}

// h264KeyframeStart reports whether p carries an IDR slice or a sequence
// parameter set, directly, in a STAP-A or as the start of a FU-A.
func h264KeyframeStart(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 < len(p) {
				if t := p[i+2] & 0x1f; t == 5 || t == 7 {
					return true
				}
			}
			i += 2 + size
		}
	case nal == 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
