package recording

import (
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// vp8Unpacker depacketizes VP8 (RFC 7741). A frame starts with the start of
// partition 0; a key frame has bit 0 of its frame tag clear (RFC 6386
// section 9.1) and carries its picture size after the start code.
type vp8Unpacker struct {
	p codecs.VP8Packet
}

func (u *vp8Unpacker) unpack(dst, payload []byte) ([]byte, bool, error) {
	data, err := u.p.Unmarshal(payload)
	if err != nil {
		return dst, false, err
	}
	return append(dst, data...), u.p.S == 1 && u.p.PID == 0, nil
}

func (u *vp8Unpacker) reset() {}

func (u *vp8Unpacker) finish(b []byte) ([]byte, bool) {
	return b, len(b) > 0 && b[0]&0x01 == 0
}

func (u *vp8Unpacker) describe(b []byte) (trackInfo, bool) {
	w, h := vp8Size(b)
	return trackInfo{width: w, height: h}, true
}

// vp8Size returns the picture size of VP8 key frame b, or zeros.
func vp8Size(b []byte) (width, height int) {
	if len(b) < 10 || b[0]&0x01 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0
	}
	return int(binary.LittleEndian.Uint16(b[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[8:]) & 0x3fff)
}
