package sfu

import (
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
)

func TestTwoPeersExchangeMedia(t *testing.T) {
	s := newTestSFU(t)
	room, err := s.Room("r1")
	if err != nil {
		t.Fatal(err)
	}
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for _, p := range []*peer{a, b} {
		v := newVP8Source("video", "", 2, 3000)
		au := opusTrack("audio")
		p.publish(au, v.track)
		wg.Add(2)
		go v.run(stop, &wg)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var pkt rtp.Packet
			for seq := uint16(0); ; seq++ {
				select {
				case <-stop:
					return
				case <-tick.C:
					pkt.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}
					pkt.Payload = []byte{0xf8, 0xff, 0xfe}
					_ = au.WriteRTP(&pkt)
				}
			}
		}()
	}
	waitFor(t, 10*time.Second, "media both ways", func() bool {
		return a.count("b", "video") > 60 && b.count("a", "video") > 60 && a.count("b", "audio") > 30 && b.count("a", "audio") > 30
	})
}

// publishAV publishes synthetic Opus and VP8 from p until stop closes.
func publishAV(p *peer, stop <-chan struct{}, wg *sync.WaitGroup) *vp8Source {
	v := newVP8Source("video", "", 2, 3000)
	au := opusTrack("audio")
	p.publish(au, v.track)
	wg.Add(2)
	go v.run(stop, wg)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var pkt rtp.Packet
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				pkt.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}
				pkt.Payload = []byte{0xf8, 0xff, 0xfe}
				_ = au.WriteRTP(&pkt)
			}
		}
	}()
	return v
}

func TestLateJoinerReceivesExistingTracks(t *testing.T) {
	s := newTestSFU(t)
	room, err := s.Room("r1")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	a := joinPeer(t, room, "a")
	publishAV(a, stop, &wg)
	time.Sleep(time.Second)
	b := joinPeer(t, room, "b")
	publishAV(b, stop, &wg)
	waitFor(t, 10*time.Second, "media both ways", func() bool {
		return a.count("b", "video") > 60 && b.count("a", "video") > 60 && a.count("b", "audio") > 30 && b.count("a", "audio") > 30
	})
}

func TestOneUDPPortCarriesEveryConnection(t *testing.T) {
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
	room, err := s.Room("r1")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	publishAV(a, stop, &wg)
	publishAV(b, stop, &wg)
	waitFor(t, 10*time.Second, "media both ways", func() bool {
		return a.count("b", "video") > 60 && b.count("a", "video") > 60
	})
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
