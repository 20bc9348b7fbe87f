package sfu

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/recording"
)

// publishSimulcast publishes three VP8 layers (q, h, f: 500, 1500 and 3000
// bytes a frame) from p until stop closes, answering key-frame requests.
// The held layers are offered but silent until their source is released.
func publishSimulcast(t *testing.T, p *peer, l *loops, held ...int) []*vp8Source {
	t.Helper()
	srcs := []*vp8Source{
		newVP8Source("cam", "q", layerQ, 500),
		newVP8Source("cam", "h", layerH, 1500),
		newVP8Source("cam", "f", layerF, 3000),
	}
	for _, q := range held {
		srcs[q].held.Store(true)
	}
	senders := p.publishWith(func(pc *webrtc.PeerConnection) (*webrtc.RTPSender, error) {
		tv, err := pc.AddTransceiverFromTrack(srcs[0].track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		for _, s := range srcs[1:] {
			if err := tv.Sender().AddEncoding(s.track); err != nil {
				return nil, err
			}
		}
		return tv.Sender(), nil
	})
	var mid string
	for _, tv := range p.pub.GetTransceivers() {
		if tv.Sender() == senders[0] {
			mid = tv.Mid()
		}
	}
	for _, s := range srcs {
		s.tagSimulcast(senders[0], mid)
	}
	for _, s := range srcs {
		s.start(l)
		p.wg.Add(1) // stops when the publisher connection closes
		go func() {
			defer p.wg.Done()
			for {
				pkts, _, err := senders[0].ReadSimulcastRTCP(s.track.RID())
				if err != nil {
					return
				}
				for range pkts {
					s.requestKeyframe()
				}
			}
		}()
	}
	return srcs
}

// layersOf returns the layer (the last payload byte) of each video packet
// p received from publisher since index from.
func (p *peer) layersOf(publisher string, from int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	ls := p.lastBytes[publisher]
	if from > len(ls) {
		return nil
	}
	return append([]byte(nil), ls[from:]...)
}

// waitLayers waits for a layers message to publisher p asking for exactly
// the rids given.
func waitLayers(t *testing.T, p *peer, rids ...string) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("layers %v to the publisher", rids), func() bool {
		for _, e := range p.notes() {
			if m, ok := e.(layersMsg); ok && slices.Equal(m.Active, rids) {
				return true
			}
		}
		return false
	})
}

func TestSimulcastFollowsQualityRequestsAndPausesUnwatchedLayers(t *testing.T) {
	room := testRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	publishSimulcast(t, a, l)

	// The subscriber gets a layer, and only one at a time.
	waitFor(t, 10*time.Second, "video at b", func() bool { return b.count("a", "video") > 30 })

	if err := b.part.SetMaxLayer("a", "q"); err != nil {
		t.Fatal(err)
	}
	from := len(b.layersOf("a", 0))
	waitFor(t, 5*time.Second, "only q at b", func() bool {
		ls := b.layersOf("a", from)
		return len(ls) > 60 && !slices.ContainsFunc(ls[len(ls)-30:], func(q byte) bool { return q != layerQ })
	})
	// Nobody watches h or f now: after the grace the publisher is told
	// to send q only.
	waitLayers(t, a, "q")

	if err := b.part.SetMaxLayer("a", "h"); err != nil {
		t.Fatal(err)
	}
	from = len(b.layersOf("a", 0))
	waitFor(t, 5*time.Second, "h at b", func() bool {
		ls := b.layersOf("a", from)
		return len(ls) > 30 && ls[len(ls)-1] == layerH
	})
	if err := b.part.SetMaxLayer("a", "none"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	n := b.count("a", "video")
	time.Sleep(500 * time.Millisecond)
	if got := b.count("a", "video"); got != n {
		t.Errorf("video kept coming after a request for none: %d -> %d packets", n, got)
	}
	if err := b.part.SetMaxLayer("a", "xl"); err == nil {
		t.Error("an unknown quality was accepted")
	}

	// Across all of it the subscriber saw one stream: one SSRC, sequence
	// numbers without a gap (loopback loses nothing).
	hs := b.headers("a", "video")
	for i := 1; i < len(hs); i++ {
		if hs[i].SSRC != hs[0].SSRC {
			t.Fatalf("SSRC changed at packet %d", i)
		}
		if hs[i].SequenceNumber != hs[i-1].SequenceNumber+1 {
			t.Errorf("sequence jumped %d -> %d at packet %d", hs[i-1].SequenceNumber, hs[i].SequenceNumber, i)
		}
	}
	t.Logf("b received %d video packets on one SSRC", len(hs))
}

// TestSimulcastResumesALayerNotYetSent: a layer the publisher offers but
// has not sent (a browser starts its top encoding only once its uplink
// estimate covers it) can still be chosen for a subscriber who wants it
// and whose link carries it: the publisher is asked for it, and the
// subscriber moves to it on its first key frame.
func TestSimulcastResumesALayerNotYetSent(t *testing.T) {
	room := testRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	srcs := publishSimulcast(t, a, l, layerF)
	if err := b.part.SetMaxLayer("a", "f"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "f asked of the publisher", func() bool {
		for _, e := range a.notes() {
			if m, ok := e.(layersMsg); ok && slices.Contains(m.Active, "f") {
				return true
			}
		}
		return false
	})
	if n := b.layersOf("a", 0); slices.Contains(n, layerF) {
		t.Fatal("f reached the subscriber before it was sent")
	}
	srcs[layerF].held.Store(false)
	waitFor(t, 10*time.Second, "f at b", func() bool {
		ls := b.layersOf("a", 0)
		return len(ls) > 0 && ls[len(ls)-1] == layerF
	})
}

func TestActiveSpeakerFromAudioLevels(t *testing.T) {
	room := testRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	for _, pr := range []struct {
		p    *peer
		dBov byte
	}{{a, 20}, {b, 110}} { // a talks, b is near silent
		au := opusTrack("audio")
		senders := pr.p.publish(au)
		var id uint8
		for _, e := range senders[0].GetParameters().HeaderExtensions {
			if e.URI == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" {
				id = uint8(e.ID)
			}
		}
		if id == 0 {
			t.Fatal("audio level extension not negotiated")
		}
		startOpus(au, l, id, pr.dBov)
	}
	waitFor(t, 5*time.Second, "a as the active speaker at b", func() bool {
		for _, e := range b.notes() {
			if m, ok := e.(speakersMsg); ok && len(m.Speakers) == 1 && m.Speakers[0].ParticipantID == "a" {
				return true
			}
		}
		return false
	})
	// Level bytes reach the subscriber under its own extension id.
	waitFor(t, 5*time.Second, "audio at b with levels", func() bool {
		for _, h := range b.headers("a", "audio") {
			if h.Extension && len(h.Extensions) > 0 {
				return true
			}
		}
		return false
	})
}

func TestStatsReachTheClient(t *testing.T) {
	room := testRoom(t)
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	publishAV(a, l)
	publishAV(b, l)
	waitFor(t, 8*time.Second, "a stats message at b with both directions", func() bool {
		for _, e := range b.notes() {
			if m, ok := e.(statsMsg); ok && m.Publish.Bitrate > 100_000 && m.Subscribe.Bitrate > 100_000 && m.Layers["a"] == "f" {
				t.Logf("stats at b: %+v", m.Stats)
				return true
			}
		}
		return false
	})
}

// TestRecordingFollowsTheViewersLayer: a recorded simulcast track is
// recorded at the highest layer a participant is given, so recording asks
// the publisher for no layer nobody watches; the recorder moves with the
// viewer, and the file it writes is one stream of frames.
func TestRecordingFollowsTheViewersLayer(t *testing.T) {
	s, _, dir := privilegedSFU(t)
	room, err := s.Room("rec", Policy{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	l := newLoops()
	defer l.end()
	a := joinPeer(t, room, "a")
	b := joinPeer(t, room, "b")
	publishSimulcast(t, a, l)
	waitFor(t, 10*time.Second, "video at b", func() bool { return b.count("a", "video") > 30 })
	var video *upTrack
	waitFor(t, 5*time.Second, "a recorded video track", func() bool {
		_, tracks := room.snapshot()
		for _, tr := range tracks {
			if tr.kind == webrtc.RTPCodecTypeVideo && tr.rec.Load() != nil {
				video = tr
			}
		}
		return video != nil
	})
	recorded := func(want int) func() bool {
		return func() bool {
			cur, target := video.rec.Load().layers()
			return cur == want && target == want
		}
	}
	if err := b.part.SetMaxLayer("a", "q"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the recorder on q", recorded(layerQ))
	waitLayers(t, a, "q") // while recording
	if err := b.part.SetMaxLayer("a", "h"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the recorder on h with the viewer", recorded(layerH))
	b.close()
	a.close()
	room.Close()
	files, err := filepath.Glob(filepath.Join(dir, "rec", "*video*.webm"))
	if err != nil || len(files) != 1 {
		t.Fatalf("video recordings %v (%v), want one", files, err)
	}
	fi, err := recording.Inspect(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Frames < 30 || fi.Keyframes < 2 || len(fi.Problems) > 0 {
		t.Errorf("recorded video: %d frames, %d key frames, problems %v; want a stream across the switches", fi.Frames, fi.Keyframes, fi.Problems)
	}
	t.Logf("recorded %d frames, %d key frames, %v", fi.Frames, fi.Keyframes, fi.Duration)
}
