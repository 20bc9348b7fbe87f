package sfu

import (
	"errors"
	"strconv"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// errUnmarkedRepair refuses a retransmission (RTX) stream that does not
// say which stream it repairs.
var errUnmarkedRepair = errors.New("sfu: retransmission stream without repaired-rtp-stream-id")

// repairRules tell, for one publisher connection, which payload types are
// retransmissions (RTX) and which header extension names the stream an RTX
// packet repairs. Pion takes a stream it was not told of for whatever its
// first packets' rtp-stream-id (rid) says. An RTX stream that carries the
// rid of the layer it repairs instead of the repaired-rtp-stream-id (as
// Pion-based publishers send them: their NACK responder copies the
// original's header extensions) would so replace the layer's own stream,
// and the layer would then read retransmissions only. Such a stream is
// refused before Pion sees it: its retransmissions are lost, the layer
// lives.
type repairRules struct {
	rtx      [128]bool // payload types of RTX
	rrid     uint8     // repaired-rtp-stream-id extension id; 0: none negotiated
	declared map[uint32]bool
}

// repairRulesOf reads the rules from a publisher connection's negotiated
// receivers and the SSRCs its offer declared outside simulcast sections
// (a=ssrc: Pion knows those streams, RTX ones included, and places them
// without a rid; in a section with rids it ignores them).
func repairRulesOf(pc *webrtc.PeerConnection) *repairRules {
	r := &repairRules{declared: map[uint32]bool{}}
	if rd := pc.RemoteDescription(); rd != nil {
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(rd.SDP); err == nil {
			for _, m := range sd.MediaDescriptions {
				if _, simulcast := m.Attribute("rid"); simulcast {
					continue // Pion places a simulcast section's streams by rid alone
				}
				for _, a := range m.Attributes {
					if a.Key != "ssrc" {
						continue
					}
					id, _, _ := strings.Cut(a.Value, " ")
					if v, err := strconv.ParseUint(id, 10, 32); err == nil {
						r.declared[uint32(v)] = true
					}
				}
			}
		}
	}
	for _, tv := range pc.GetTransceivers() {
		recv := tv.Receiver()
		if recv == nil {
			continue
		}
		params := recv.GetParameters()
		for _, c := range params.Codecs {
			if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.PayloadType < 128 {
				r.rtx[c.PayloadType] = true
			}
		}
		for _, e := range params.HeaderExtensions {
			if e.URI == sdp.SDESRepairRTPStreamIDURI && e.ID > 0 && e.ID < 256 {
				r.rrid = uint8(e.ID)
			}
		}
	}
	return r
}

// refuses reports whether p, the first packet of stream ssrc, is an RTX
// packet without the repaired-rtp-stream-id on a stream Pion was not told
// of.
func (r *repairRules) refuses(ssrc uint32, p []byte) bool {
	if r == nil || len(p) < 2 || !r.rtx[p[1]&0x7f] || r.declared[ssrc] {
		return false
	}
	if r.rrid == 0 {
		return true
	}
	var h rtp.Header
	if _, err := h.Unmarshal(p); err != nil {
		return true
	}
	return len(h.GetExtension(r.rrid)) == 0
}
