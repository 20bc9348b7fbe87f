package sfu

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
)

// Over real sockets, the publishers' media is decrypted and forwarded by
// the receive fast path (fastpath.go), not Pion's goroutines.
func TestTwoPeersExchangeMedia(t *testing.T) {
	room := testRoom(t)
	a, b := exchangeAV(t, room, 200)
	waitFor(t, 10*time.Second, "audio both ways", func() bool {
		return a.count("b", "audio") > 100 && b.count("a", "audio") > 100
	})
	checkFastPath(t, room)
}

// exchangeAV joins a and b to room, has both publish audio and video until
// the test ends, and waits until each has received more than video video
// packets from the other.
func exchangeAV(t *testing.T, room *Room, video int) (a, b *peer) {
	t.Helper()
	a = joinPeer(t, room, "a")
	b = joinPeer(t, room, "b")
	l := newLoops()
	t.Cleanup(l.end) // before the peers close
	publishAV(a, l)
	publishAV(b, l)
	waitFor(t, 10*time.Second, "video both ways", func() bool {
		return a.count("b", "video") > video && b.count("a", "video") > video
	})
	return a, b
}

// publishAV publishes synthetic Opus and VP8 from p until l ends.
func publishAV(p *peer, l *loops) *vp8Source {
	v := newVP8Source("video", "", 2, 3000)
	au := opusTrack("audio")
	p.publish(au, v.track)
	v.start(l)
	startOpus(au, l, 0, 0)
	return v
}

func TestLateJoinerReceivesExistingTracks(t *testing.T) {
	room := testRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	publishAV(a, l)
	time.Sleep(time.Second)
	b := joinPeer(t, room, "b")
	publishAV(b, l)
	waitFor(t, 10*time.Second, "media both ways", func() bool {
		return a.count("b", "video") > 60 && b.count("a", "video") > 60 && a.count("b", "audio") > 30 && b.count("a", "audio") > 30
	})
}

// sharedPortRoom returns room "r1" of a loopback SFU carrying every
// connection on one UDP port, and the port.
func sharedPortRoom(t *testing.T) (*Room, int) {
	t.Helper()
	ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := ln.LocalAddr().(*net.UDPAddr).Port
	_ = ln.Close()
	s, err := New(Config{LoopbackOnly: true, UDPPort: port}, slog.New(slog.DiscardHandler), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	room, err := s.Room("r1", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return room, port
}

func TestOneUDPPortCarriesEveryConnection(t *testing.T) {
	room, port := sharedPortRoom(t)
	a, b := exchangeAV(t, room, 200)
	// The port's reader routes each stream's packets to its publisher's
	// fast path.
	checkFastPath(t, room)
	// Every candidate the server offered is on that port.
	for _, p := range []*peer{a, b} {
		for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
			pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				t.Fatalf("no selected pair: %v", err)
			}
			if int(pair.Remote.Port) != port {
				t.Errorf("media went through server port %d, want %d", pair.Remote.Port, port)
			}
		}
	}
}
