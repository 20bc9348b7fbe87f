package rtcconf

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Header extension URIs negotiated on every connection.
const (
	// AudioLevelURI is RFC 6464 (client-to-mixer audio level).
	AudioLevelURI = sdp.AudioLevelURI
	// AbsCaptureTimeURI carries the capture time of a frame end to end; the
	// media server forwards it unchanged so receivers can measure latency.
	AbsCaptureTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
	// TransportCCURI numbers packets for transport-wide congestion control.
	TransportCCURI = sdp.TransportCCURI
)

// NewMediaEngine returns a media engine with the default codecs (VP8, VP9,
// H264, AV1 with RTX; Opus) and the header extensions Gatehouse uses:
// mid and rid (for simulcast), audio level, absolute capture time and
// transport-wide sequence numbers. Opus also negotiates NACK, so that a
// lost audio packet can be resent by the media server when the receiver
// asks (browsers do not ask; Go clients do).
func NewMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	return withExtensions(me)
}

// NewSendMediaEngine returns the media engine of a Go client's publisher
// connection: VP8 and Opus, what Go clients send, without RTX, with the
// header extensions and feedback of NewMediaEngine. Without RTX, Pion's
// NACK responder resends a lost packet on its own stream. With it, Pion
// sends the resend on an RTX stream marked with the rid of the layer it
// repairs instead of the repaired-rtp-stream-id browsers use, which the
// media server refuses (a stream it cannot tell from the layer itself).
func NewSendMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	video := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: video},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register vp8: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	return withExtensions(me)
}

// withExtensions registers Gatehouse's header extensions and feedback.
func withExtensions(me *webrtc.MediaEngine) (*webrtc.MediaEngine, error) {
	both := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}
	for _, kind := range both {
		for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, AbsCaptureTimeURI, TransportCCURI} {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
				return nil, fmt.Errorf("header extension %s: %w", uri, err)
			}
		}
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESRepairRTPStreamIDURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("header extension repaired-rid: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("header extension audio level: %w", err)
	}
	for _, fb := range []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK}, {Type: webrtc.TypeRTCPFBTransportCC}} {
		me.RegisterFeedback(fb, webrtc.RTPCodecTypeAudio)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	return me, nil
}
