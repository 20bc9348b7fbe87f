package sfu

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// newTestSFU returns an SFU on loopback, closed when the test ends.
func newTestSFU(t testing.TB) *SFU {
	t.Helper()
	return newTestSFUWith(t, Config{})
}

// newTestSFUWith is newTestSFU with cfg (LoopbackOnly is always set).
func newTestSFUWith(t testing.TB, cfg Config) *SFU {
	t.Helper()
	cfg.LoopbackOnly = true
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg, log, metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// testRoom returns room "r1" of a fresh loopback SFU.
func testRoom(t testing.TB) *Room {
	t.Helper()
	room, err := newTestSFU(t).Room("r1", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return room
}

// loops owns a test's media sources: end stops them and waits for them.
type loops struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func newLoops() *loops { return &loops{stop: make(chan struct{})} }

func (l *loops) end() {
	close(l.stop)
	l.wg.Wait()
}

// peer is a test client: a Pion publisher and subscriber connection
// negotiated with a Participant directly, without signalling.
type peer struct {
	t         testing.TB
	closeOnce sync.Once
	api       *webrtc.API
	part      *Participant
	pub       *webrtc.PeerConnection
	sub       *webrtc.PeerConnection

	msgs chan func()
	done chan struct{}
	wg   sync.WaitGroup

	mu        sync.Mutex
	received  map[string][]rtp.Header // by publisher id and kind: "id/video"
	lastBytes map[string][]byte       // last payload byte of each video packet, by publisher
	events    []any
}

func newPeerAPI(t testing.TB) *webrtc.API {
	me, err := rtcconf.NewMediaEngine()
	if err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	rtcconf.RestrictToLoopback(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// joinPeer joins room as id. The peer's negotiation runs on its own
// goroutine, fed by the participant's Signaller calls.
func joinPeer(t testing.TB, room *Room, id string) *peer {
	t.Helper()
	return joinPeerAs(t, id, room.Join)
}

// joinMonitorPeer joins room as hidden monitor id.
func joinMonitorPeer(t testing.TB, room *Room, id string) *peer {
	t.Helper()
	return joinPeerAs(t, id, room.JoinMonitor)
}

// joinPeerAs joins with join (a room's Join or JoinMonitor).
func joinPeerAs(t testing.TB, id string, join func(string, Signaller) (*Participant, error)) *peer {
	t.Helper()
	p := &peer{t: t, api: newPeerAPI(t), msgs: make(chan func(), 256), done: make(chan struct{}), received: make(map[string][]rtp.Header), lastBytes: make(map[string][]byte)}
	var err error
	if p.sub, err = p.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	p.sub.OnTrack(p.onTrack)
	part, err := join(id, p)
	if err != nil {
		t.Fatal(err)
	}
	p.part = part
	// The loop starts only now: what Join sends (a monitor's first offer)
	// waits in msgs, and its answer goes to p.part, which is set.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case f := <-p.msgs:
				f()
			case <-p.done:
				return
			}
		}
	}()
	p.sub.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = part.AddCandidate(Subscriber, c.ToJSON())
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *peer) do(f func()) {
	select {
	case p.msgs <- f:
	case <-p.done:
	}
}

// SendAnswer, SendOffer, SendCandidate and Notify implement Signaller.
func (p *peer) SendAnswer(sdp string) {
	p.do(func() {
		if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
			p.t.Errorf("publisher answer: %v", err)
		}
	})
}

func (p *peer) SendOffer(sdp string) {
	p.do(func() {
		if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			p.t.Logf("subscriber offer: %v", err) // closing
			return
		}
		ans, err := p.sub.CreateAnswer(nil)
		if err == nil {
			err = p.sub.SetLocalDescription(ans)
		}
		if err != nil {
			p.t.Logf("subscriber answer: %v", err) // closing
			return
		}
		p.wg.Add(1) // the message loop holds the group open, so Add cannot race Wait
		go func() {
			defer p.wg.Done()
			if err := p.part.HandleAnswer(ans.SDP); err != nil {
				select {
				case <-p.done: // closing: the participant may be gone
				default:
					p.t.Errorf("handle answer: %v", err)
				}
			}
		}()
	})
}

func (p *peer) SendCandidate(target Target, c webrtc.ICECandidateInit) {
	p.do(func() {
		pc := p.sub
		if target == Publisher {
			pc = p.pub
		}
		if err := pc.AddICECandidate(c); err != nil {
			p.t.Logf("candidate: %v", err)
		}
	})
}

func (p *peer) Notify(msg any) {
	p.mu.Lock()
	p.events = append(p.events, msg)
	p.mu.Unlock()
}

// notes returns the media events the participant was sent.
func (p *peer) notes() []any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]any(nil), p.events...)
}

// publish offers the publisher connection with tracks.
func (p *peer) publish(tracks ...webrtc.TrackLocal) []*webrtc.RTPSender {
	p.t.Helper()
	var senders []*webrtc.RTPSender
	return p.publishWith(func(pc *webrtc.PeerConnection) (*webrtc.RTPSender, error) {
		for _, tr := range tracks {
			tv, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return nil, err
			}
			senders = append(senders, tv.Sender())
		}
		return nil, nil
	}, &senders)
}

// publishWith offers a publisher connection set up by add; the senders it
// returns (or appends to extra) are returned.
func (p *peer) publishWith(add func(*webrtc.PeerConnection) (*webrtc.RTPSender, error), extra ...*[]*webrtc.RTPSender) []*webrtc.RTPSender {
	p.t.Helper()
	var err error
	if p.pub, err = p.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		p.t.Fatal(err)
	}
	p.pub.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = p.part.AddCandidate(Publisher, c.ToJSON())
		}
	})
	var senders []*webrtc.RTPSender
	s, err := add(p.pub)
	if err != nil {
		p.t.Fatal(err)
	}
	if s != nil {
		senders = append(senders, s)
	}
	for _, e := range extra {
		senders = append(senders, *e...)
	}
	offer, err := p.pub.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.pub.SetLocalDescription(offer); err != nil {
		p.t.Fatal(err)
	}
	if err := p.part.HandleOffer(offer.SDP); err != nil {
		p.t.Fatal(err)
	}
	return senders
}

func (p *peer) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := tr.StreamID() + "/" + tr.Kind().String()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.received[key] = append(p.received[key], pkt.Header)
			if tr.Kind() == webrtc.RTPCodecTypeVideo && len(pkt.Payload) > 0 {
				p.lastBytes[tr.StreamID()] = append(p.lastBytes[tr.StreamID()], pkt.Payload[len(pkt.Payload)-1])
			}
			p.mu.Unlock()
		}
	}()
}

// count returns how many packets arrived from publisher's kind.
func (p *peer) count(publisher, kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.received[publisher+"/"+kind])
}

// headers returns a copy of the headers received from publisher's kind.
func (p *peer) headers(publisher, kind string) []rtp.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Header(nil), p.received[publisher+"/"+kind]...)
}

// close leaves the room and closes the peer's connections; it may be
// called again (tests that close early; the clean-up).
func (p *peer) close() { p.closeOnce.Do(p.closeNow) }

func (p *peer) closeNow() {
	// done first: closing the participant fails answers still in flight,
	// and those failures are expected from here on.
	close(p.done)
	p.part.Close()
	if p.pub != nil {
		_ = p.pub.Close()
	}
	_ = p.sub.Close()
	p.wg.Wait()
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
