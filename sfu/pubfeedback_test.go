package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// rtcpTally counts what a publisher is told about one of its streams.
type rtcpTally struct {
	mu                  sync.Mutex
	nacked              map[uint16]bool
	reports, transports int
	timed               int // receiver reports that echo a sender report (for the round trip)
}

// tallyRTCP reads sender's RTCP until it ends, counting NACKs (and the
// sequence numbers they ask for), receiver reports on ssrc and
// transport-wide feedback.
func tallyRTCP(sender *webrtc.RTPSender, ssrc uint32) *rtcpTally {
	t := &rtcpTally{nacked: make(map[uint16]bool)}
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			t.mu.Lock()
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.TransportLayerNack:
					if p.MediaSSRC == ssrc {
						for _, pair := range p.Nacks {
							for _, seq := range pair.PacketList() {
								t.nacked[seq] = true
							}
						}
					}
				case *rtcp.ReceiverReport:
					for _, r := range p.Reports {
						if r.SSRC == ssrc {
							t.reports++
							if r.LastSenderReport != 0 {
								t.timed++
							}
						}
					}
				case *rtcp.TransportLayerCC:
					t.transports++
				}
			}
			t.mu.Unlock()
		}
	}()
	return t
}

// The media server tells a publisher what arrived, whichever path its
// packets took: it NACKs the packets its uplink lost, sends receiver
// reports on the stream (echoing its sender reports, for the round trip)
// and transport-wide feedback.
func TestPublisherIsToldWhatArrived(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"fast path", Config{}}, {"pion path", Config{NoFastPath: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			room, err := newTestSFUWith(t, tc.cfg).Room("r1", Policy{})
			if err != nil {
				t.Fatal(err)
			}
			a := joinPeer(t, room, "a")
			b := joinPeer(t, room, "b")
			l := newLoops()
			t.Cleanup(l.end)
			v := newVP8Source("video", "", 2, 3000)
			v.loseEvery = 50
			senders := a.publish(v.track)
			ssrc := uint32(senders[0].GetParameters().Encodings[0].SSRC)
			tally := tallyRTCP(senders[0], ssrc)
			v.start(l)
			deadline := time.Now().Add(15 * time.Second)
			for {
				tally.mu.Lock()
				done := len(tally.nacked) >= 3 && tally.timed >= 1 && tally.transports >= 10
				if done || time.Now().After(deadline) {
					break
				}
				tally.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
			defer tally.mu.Unlock()
			if len(tally.nacked) < 3 || tally.timed < 1 || tally.transports < 10 {
				t.Fatalf("in 15 s: %d lost packets NACKed (want 3), %d receiver reports echoing a sender report of %d (want 1), %d transport-wide feedback packets (want 10)",
					len(tally.nacked), tally.timed, tally.reports, tally.transports)
			}
			for seq := range tally.nacked {
				if seq%v.loseEvery != 0 {
					t.Errorf("NACK for %d, which was sent", seq)
				}
			}
			t.Logf("%d lost packets NACKed, %d receiver reports (%d echoing a sender report), %d transport-wide feedback packets; b received %d video packets",
				len(tally.nacked), tally.reports, tally.timed, tally.transports, b.count("a", "video"))
		})
	}
}
