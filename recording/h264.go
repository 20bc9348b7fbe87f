package recording

import (
	"bytes"
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// H.264 NAL unit types (ITU-T H.264 table 7-1).
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
)

// h264Unpacker depacketizes H.264 (RFC 6184) into AVC form: each NAL unit
// with a 4-byte length, as Matroska's V_MPEG4/ISO/AVC wants. A frame is a
// key frame when it holds an IDR slice; the latest SPS and PPS become the
// avcC record (ISO/IEC 14496-15 section 5.2.4.1) of the file's header.
// Parameter sets stay in the frames too, so a change of size mid-call
// still decodes.
type h264Unpacker struct {
	p        codecs.H264Packet
	sps, pps []byte
}

func (u *h264Unpacker) unpack(dst, payload []byte) ([]byte, bool, error) {
	data, err := u.p.Unmarshal(payload)
	if err != nil {
		return dst, false, err
	}
	return append(dst, data...), u.p.IsPartitionHead(payload), nil
}

func (u *h264Unpacker) reset() { u.p = codecs.H264Packet{IsAVC: true} }

func (u *h264Unpacker) finish(b []byte) ([]byte, bool) {
	key := false
	for rest := b; len(rest) >= 4; {
		n := int(binary.BigEndian.Uint32(rest))
		if n == 0 || n > len(rest)-4 {
			break
		}
		nal := rest[4 : 4+n]
		switch nal[0] & 0x1f {
		case nalIDR:
			key = true
		case nalSPS:
			u.sps = keep(u.sps, nal)
		case nalPPS:
			u.pps = keep(u.pps, nal)
		}
		rest = rest[4+n:]
	}
	return b, key
}

// keep returns a copy of nal, reusing old when it is the same.
func keep(old, nal []byte) []byte {
	if bytes.Equal(old, nal) {
		return old
	}
	return bytes.Clone(nal)
}

func (u *h264Unpacker) describe([]byte) (trackInfo, bool) {
	if len(u.sps) < 4 || len(u.pps) == 0 {
		return trackInfo{}, false
	}
	w, h := h264Size(u.sps)
	return trackInfo{width: w, height: h, private: avcC(u.sps, u.pps)}, true
}

// avcC builds an AVCDecoderConfigurationRecord with one SPS and one PPS
// and 4-byte NAL lengths.
func avcC(sps, pps []byte) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...)
}

// unescapeRBSP removes the emulation prevention bytes of a NAL unit
// (ITU-T H.264 section 7.4.1).
func unescapeRBSP(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// h264Size returns the cropped picture size coded in SPS nal (ITU-T H.264
// section 7.3.2.1.1), or zeros when it cannot be read.
func h264Size(nal []byte) (width, height int) {
	r := bitReader{b: unescapeRBSP(nal)}
	r.u(8) // NAL header
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	chroma := uint32(1)
	separate := uint32(0)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma = r.ue()
		if chroma == 3 {
			separate = r.u(1)
		}
		r.ue()           // bit_depth_luma_minus8
		r.ue()           // bit_depth_chroma_minus8
		r.u(1)           // qpprime_y_zero_transform_bypass_flag
		if r.u(1) == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				if r.u(1) == 1 {
					size := 64
					if i < 6 {
						size = 16
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue()
	case 1:
		r.u(1)
		r.se()
		r.se()
		for range min(r.ue(), 255) {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps_in_frame_num_value_allowed_flag
	wmbs := int(r.ue()) + 1
	hmaps := int(r.ue()) + 1
	frameMbsOnly := int(r.u(1))
	if frameMbsOnly == 0 {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	width = wmbs * 16
	height = (2 - frameMbsOnly) * hmaps * 16
	if r.u(1) == 1 { // frame_cropping_flag
		left, right, top, bottom := int(r.ue()), int(r.ue()), int(r.ue()), int(r.ue())
		cx, cy := 1, 2-frameMbsOnly
		if chroma != 0 && separate == 0 {
			if chroma == 1 || chroma == 2 {
				cx = 2
			}
			if chroma == 1 {
				cy *= 2
			}
		}
		width -= (left + right) * cx
		height -= (top + bottom) * cy
	}
	if r.short || width <= 0 || height <= 0 {
		return 0, 0
	}
	return width, height
}

// skipScalingList reads past one scaling list of size entries.
func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}
