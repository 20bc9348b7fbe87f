package sfu

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
)

// pliInterval is the least time between two key-frame requests sent to a
// publisher for one track, however many subscribers ask.
const pliInterval = 500 * time.Millisecond

// forwardedTrack is one published track and the local track that carries it
// to every subscriber.
type forwardedTrack struct {
	owner       *Participant
	remote      *webrtc.TrackRemote
	local       *webrtc.TrackLocalStaticRTP
	subscribers atomic.Int64
	lastPLI     atomic.Int64 // unix nanoseconds
}

func newForwardedTrack(owner *Participant, remote *webrtc.TrackRemote) (*forwardedTrack, error) {
	// Track ids must be unique within each subscriber's connection, and
	// clients may reuse simple ids ("audio", "video"): prefix the owner.
	id := owner.id + "-" + remote.Kind().String() + "-" + remote.ID()
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, id, owner.id)
	if err != nil {
		return nil, fmt.Errorf("local track: %w", err)
	}
	return &forwardedTrack{owner: owner, remote: remote, local: local}, nil
}

// forward copies packets from the publisher to every subscriber until the
// publisher's track ends.
func (ft *forwardedTrack) forward(m *metrics.Metrics) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := ft.remote.Read(buf)
		if err != nil {
			return
		}
		subs := ft.subscribers.Load()
		if subs <= 0 {
			continue
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		// Header extension ids are negotiated per connection, so the
		// publisher's cannot be passed on as they are; the subscriber
		// side's interceptors add their own.
		pkt.Header.Extension = false
		pkt.Header.Extensions = pkt.Header.Extensions[:0]
		if err := ft.local.WriteRTP(&pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			continue
		}
		m.ForwardedPackets.Add(float64(subs))
		m.ForwardedBytes.Add(float64(subs) * float64(n))
	}
}

// readFeedback reads a subscriber's RTCP for this track (which also lets the
// interceptors answer NACKs) and passes key-frame requests to the publisher.
func (ft *forwardedTrack) readFeedback(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				ft.requestKeyframe(false)
			}
		}
	}
}

// requestKeyframe asks the publisher for a key frame, at most once per
// pliInterval unless force is set.
func (ft *forwardedTrack) requestKeyframe(force bool) {
	if ft.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := ft.lastPLI.Load()
	if !force && now-last < int64(pliInterval) {
		return
	}
	if !ft.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = ft.owner.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ft.remote.SSRC())}})
}

// drainRTCP reads the publisher's RTCP so that the interceptors see sender
// reports, until the receiver stops.
func drainRTCP(recv *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := recv.Read(buf); err != nil {
			return
		}
	}
}
