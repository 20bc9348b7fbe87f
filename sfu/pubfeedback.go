package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// pubFeedback is what a publisher connection tells its publisher about
// the media it receives: NACKs for lost packets, receiver reports and
// transport-wide congestion control feedback. Pion's own interceptors make
// them, but they are not in the connection's read path: Pion would run
// them on each packet only once it had passed through its SRTP buffers to
// the track's reader, and the receive fast path (fastpath.go) hands each
// packet straight to its layer instead. Each layer shows its packets to
// these interceptors as it handles them (upLayer.handle), whichever path
// they came by, and the publisher's RTCP (its sender reports, for the
// round trip) is shown to them as it is read.
type pubFeedback struct {
	chain *interceptor.Chain
	rtcp  interceptor.RTCPReader
	// hdrKey is where interceptor.Attributes keep an unmarshalled RTP
	// header: a layer puts the header it has parsed there, and the
	// interceptors do not parse (and allocate) another.
	hdrKey any
}

// errNoHeaderKey is returned when Pion's interceptor.Attributes no longer
// keep parsed headers as this package expects.
var errNoHeaderKey = errors.New("sfu: interceptor attributes keep no rtp header")

// newPubFeedback makes the interceptors of one publisher connection.
func newPubFeedback(factories []interceptor.Factory) (*pubFeedback, error) {
	ics := make([]interceptor.Interceptor, 0, len(factories))
	for _, f := range factories {
		ic, err := f.NewInterceptor("")
		if err != nil {
			for _, made := range ics {
				_ = made.Close()
			}
			return nil, fmt.Errorf("publisher feedback: %w", err)
		}
		ics = append(ics, ic)
	}
	key, err := rtpHeaderKey()
	if err != nil {
		return nil, err
	}
	f := &pubFeedback{chain: interceptor.NewChain(ics), hdrKey: key}
	f.rtcp = f.chain.BindRTCPReader(interceptor.RTCPReaderFunc(given))
	return f, nil
}

// rtpHeaderKey learns the attribute key under which Attributes keep a
// parsed RTP header, by having them parse one.
func rtpHeaderKey() (any, error) {
	a := interceptor.Attributes{}
	if _, err := a.GetRTPHeader([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}); err != nil {
		return nil, fmt.Errorf("publisher feedback: %w", err)
	}
	for k, v := range a {
		if _, ok := v.(*rtp.Header); ok {
			return k, nil
		}
	}
	return nil, errNoHeaderKey
}

// given is the innermost reader of the chains: the packet is already in
// the buffer the chain was given.
func given(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return len(b), a, nil
}

// start sends the interceptors' RTCP on pc, which they begin doing now.
func (f *pubFeedback) start(pc *webrtc.PeerConnection) {
	f.chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		return 0, pc.WriteRTCP(pkts)
	}))
}

// readRTCP shows the interceptors one RTCP datagram from the publisher.
func (f *pubFeedback) readRTCP(b []byte) {
	_, _, _ = f.rtcp.Read(b, nil)
}

// bind starts feedback on one received stream.
func (f *pubFeedback) bind(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *layerFeedback {
	info := streamInfo(remote, recv)
	return &layerFeedback{
		f: f, info: info,
		r:     f.chain.BindRemoteStream(info, interceptor.RTPReaderFunc(given)),
		attrs: interceptor.Attributes{},
	}
}

// close stops the interceptors' timers.
func (f *pubFeedback) close() error { return f.chain.Close() }

// streamInfo describes a received stream to interceptors, as Pion does.
func streamInfo(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *interceptor.StreamInfo {
	c := remote.Codec()
	info := &interceptor.StreamInfo{
		ID:          remote.ID(),
		SSRC:        uint32(remote.SSRC()),
		PayloadType: uint8(c.PayloadType),
		MimeType:    c.MimeType,
		ClockRate:   c.ClockRate,
		Channels:    c.Channels,
		SDPFmtpLine: c.SDPFmtpLine,
	}
	for _, fb := range c.RTCPFeedback {
		info.RTCPFeedback = append(info.RTCPFeedback, interceptor.RTCPFeedback{Type: fb.Type, Parameter: fb.Parameter})
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		info.RTPHeaderExtensions = append(info.RTPHeaderExtensions, interceptor.RTPHeaderExtension{URI: e.URI, ID: e.ID})
	}
	return info
}

// layerFeedback is the interceptors' view of one received stream. It is
// used by one goroutine at a time: the one handling the layer's packets.
type layerFeedback struct {
	f     *pubFeedback
	info  *interceptor.StreamInfo
	r     interceptor.RTPReader
	attrs interceptor.Attributes
}

// observe shows the interceptors one packet, whose header is h. A layer
// made without feedback (in tests of forwarding alone) has none to show.
func (l *layerFeedback) observe(pkt []byte, h *rtp.Header) {
	if l == nil {
		return
	}
	l.attrs[l.f.hdrKey] = h
	_, _, _ = l.r.Read(pkt, l.attrs)
}

// unbind ends feedback on the stream.
func (l *layerFeedback) unbind() {
	if l != nil {
		l.f.chain.UnbindRemoteStream(l.info)
	}
}
