package sfu

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// readFeedback reads a subscriber's RTCP for one subscription until the
// sender stops: key-frame requests go to the publisher (throttled), NACKs
// are answered from the packet cache, REMB and receiver reports feed the
// layer choice and statistics. Reading also lets the interceptors see the
// transport-wide feedback that drives the bandwidth estimate; what they
// parsed (the bandwidth estimator parses every compound packet) is read
// from the attributes they return, not parsed again, and the packet is
// read into one buffer for the subscription (RTPSender.ReadRTCP makes
// one per packet).
func (p *Participant) readFeedback(d *downTrack, sender *webrtc.RTPSender) {
	media := p.room.sfu.media
	buf := make([]byte, maxPacket)
	for {
		n, attrs, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := attrs.GetRTCPPackets(buf[:n])
		if err != nil {
			continue // what does not parse is dropped, as Pion's own reader drops it
		}
		now := time.Now()
		for _, pkt := range pkts {
			switch v := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				cur, target, _, _ := d.layerState()
				if cur == layerPause {
					cur = target
				}
				if cur != layerPause {
					d.up.requestKeyframe(cur, false)
				}
			case *rtcp.TransportLayerNack:
				var asked, resent int
				for _, pair := range v.Nacks {
					pair.Range(func(seq uint16) bool {
						asked++
						if d.retransmit(seq, now.UnixNano()) {
							resent++
						}
						return true
					})
				}
				media.NACKs.Add(float64(asked))
				p.nacked.Add(uint64(asked))
				media.RetransmittedPackets.Add(float64(resent))
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.remb.Store(int64(v.Bitrate))
				p.rembAt.Store(now.UnixNano())
			case *rtcp.ReceiverReport:
				for _, r := range v.Reports {
					d.receiverReport(r, now)
				}
			}
		}
	}
}

// receiverReport records the subscriber's report on this subscription:
// loss, and the round-trip time from the last sender report it saw
// (RFC 3550 6.4.1).
func (d *downTrack) receiverReport(r rtcp.ReceptionReport, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.SSRC != d.ssrc {
		return
	}
	d.fracLost = r.FractionLost
	if float64(r.FractionLost)/256 > upgradeLoss {
		d.sub.lossSeenAt.Store(now.UnixNano())
	}
	if r.LastSenderReport == 0 {
		return
	}
	// Middle 32 bits of the NTP time now, in 1/65536 s.
	secs := uint64(now.Unix()) + 2208988800
	frac := uint64(now.Nanosecond()) << 32 / uint64(time.Second)
	compact := uint32((secs<<32 | frac) >> 16)
	rtt := compact - r.LastSenderReport - r.Delay
	if rtt < 1<<31 { // not negative
		d.rttNanos = int64(rtt) * int64(time.Second) >> 16
	}
}
