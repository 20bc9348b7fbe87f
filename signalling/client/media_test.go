package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/loadtest/media"
	"github.com/gatehouse/gatehouse/loadtest/rxstats"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// receiver keeps rxstats streams of everything one client receives.
type receiver struct {
	mu      sync.Mutex
	c       *client.Client
	clip    *media.Clip
	streams map[uint32]*rxstats.Stream
	audio   map[string]uint64 // audio packets by publisher
}

func (r *receiver) onRTP(_ string, kind webrtc.RTPCodecType, pkt *rtp.Packet, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == webrtc.RTPCodecTypeAudio {
		r.audio["any"]++
		return
	}
	s := r.streams[pkt.SSRC]
	if s == nil {
		s = rxstats.NewStream(rxstats.Options{Video: true, LayerName: r.clip.LayerName})
		r.streams[pkt.SSRC] = s
	}
	if s.CaptureTimeID() == 0 && r.c != nil {
		s.SetCaptureTimeID(r.c.ReceivedExtensionID(webrtc.RTPCodecTypeVideo, rtcconf.AbsCaptureTimeURI))
	}
	s.Packet(pkt, at)
}

// frames returns the decodable frames and audio packets received so far.
func (r *receiver) frames() (frames, audio uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.streams {
		frames += s.Stats().Frames
	}
	return frames, r.audio["any"]
}

func (r *receiver) ssrcs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint32
	for ssrc := range r.streams {
		out = append(out, ssrc)
	}
	return out
}

func TestPublishMediaSimulcastAndPlain(t *testing.T) {
	clip, err := media.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recv := make([]*receiver, 2)
	clients := make([]*client.Client, 2)
	for i, p := range b.Participants {
		recv[i] = &receiver{clip: clip, streams: map[uint32]*rxstats.Stream{}, audio: map[string]uint64{}}
		c, err := client.Dial(ctx, client.Options{URL: srv.WSURL, Token: testkit.TokenFromURL(t, p.JoinURL),
			LoopbackOnly: true, OnRTP: recv[i].onRTP})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		recv[i].mu.Lock()
		recv[i].c = c
		recv[i].mu.Unlock()
		clients[i] = c
	}
	// The prisoner publishes three simulcast layers, the visitor only the
	// full one.
	pubs := make([]*client.Publisher, 2)
	for i, c := range clients {
		opts := client.PublishOptions{Layers: clip.Layers, Audio: clip.Audio, Simulcast: i == 0}
		if pubs[i], err = c.PublishMedia(ctx, opts); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if _, err := clients[0].PublishMedia(ctx, client.PublishOptions{Audio: clip.Audio}); err != client.ErrAlreadyPublishing {
		t.Errorf("second PublishMedia: %v, want ErrAlreadyPublishing", err)
	}
	for i, r := range recv {
		for {
			frames, audio := r.frames()
			if frames >= 30 && audio >= 50 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("client %d received %d decodable frames and %d audio packets", i, frames, audio)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	st := pubs[0].Stats()
	if len(st) != 4 || st[0].RID != "q" || st[1].RID != "h" || st[2].RID != "f" || st[3].RID != "audio" {
		t.Fatalf("simulcast publisher stats %+v", st)
	}
	for _, l := range st {
		if l.Packets == 0 || l.Frames == 0 || l.Failures != 0 {
			t.Errorf("layer %s: %+v", l.RID, l)
		}
	}
	if st := pubs[1].Stats(); len(st) != 2 || st[0].RID != "" || st[0].Packets == 0 {
		t.Errorf("plain publisher stats %+v", st)
	}

	// A key frame request from the receiver reaches the publisher, which
	// answers with a key frame.
	for _, ssrc := range recv[1].ssrcs() {
		if err := clients[1].RequestKeyframe(ssrc); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var plis uint64
		for _, l := range pubs[0].Stats() {
			plis += l.PLIs
		}
		if plis > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no PLI reached the publisher")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Pausing layers stops them.
	pubs[0].SetActiveLayers([]string{"q"})
	time.Sleep(200 * time.Millisecond)
	before := pubs[0].Stats()
	time.Sleep(300 * time.Millisecond)
	after := pubs[0].Stats()
	if after[0].Packets == before[0].Packets || !after[1].Paused || after[1].Packets != before[1].Packets || after[2].Packets != before[2].Packets {
		t.Errorf("after SetActiveLayers(q): before %+v after %+v", before, after)
	}
}
