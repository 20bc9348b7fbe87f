package recording

import (
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// opusAssembler: every Opus packet is a frame (RFC 7587), and every frame
// can start a file.
type opusAssembler struct {
	p codecs.OpusPacket
}

func (a *opusAssembler) push(payload []byte, ts uint32, _, _ bool) (frame, bool) {
	data, err := a.p.Unmarshal(payload)
	if err != nil {
		return frame{}, false
	}
	return frame{data: data, ts: ts, key: true}, true
}

func (a *opusAssembler) takeBroken() int { return 0 }

// describe takes the channel count from the first packet's TOC byte
// (RFC 6716 section 3.1); a decoder set up for one channel still decodes
// a later stereo packet, downmixed.
func (a *opusAssembler) describe(f frame) (trackInfo, bool) {
	ch := 1
	if len(f.data) > 0 && f.data[0]&0x04 != 0 {
		ch = 2
	}
	return trackInfo{channels: ch, private: opusHead(ch)}, true
}

// opusHead is the identification header of RFC 7845 section 5.1, which
// WebM carries as the Opus track's CodecPrivate: version 1, no pre-skip
// (the recording starts mid-stream), 48 kHz, no gain, mapping family 0.
func opusHead(channels int) []byte {
	b := make([]byte, 19)
	copy(b, "OpusHead")
	b[8] = 1
	b[9] = byte(channels)
	binary.LittleEndian.PutUint32(b[12:], 48000)
	return b
}

// opusSamples returns the duration of Opus packet p in 48 kHz samples
// (RFC 6716 section 3.1), or 0 when p is too short to tell.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	config := int(toc >> 3)
	var per int // samples per frame at 48 kHz
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		per = [4]int{480, 960, 1920, 2880}[config%4]
	case config < 16: // hybrid: 10, 20 ms
		per = [2]int{480, 960}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		per = [4]int{120, 240, 480, 960}[config%4]
	}
	switch toc & 0x03 {
	case 0:
		return per
	case 1, 2:
		return 2 * per
	}
	if len(p) < 2 {
		return 0
	}
	return int(p[1]&0x3f) * per
}
