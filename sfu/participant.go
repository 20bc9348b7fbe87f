package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// maxPendingCandidates bounds the remote candidates held while a connection
// waits for its remote description.
const maxPendingCandidates = 64

// Participant is one client's two peer connections in a room.
type Participant struct {
	id   string
	room *Room
	sig  atomic.Pointer[signallerBox]
	log  *slog.Logger
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection

	// published is guarded by room.mu, so that a joiner and a new track
	// never miss each other.
	published []*forwardedTrack

	mu          sync.Mutex
	senders     map[*forwardedTrack]*webrtc.RTPSender
	negotiating bool // a subscriber offer is outstanding
	pending     bool // something changed while it was
	restart     bool // the next subscriber offer restarts ICE
	candidates  map[Target][]webrtc.ICECandidateInit
	closed      bool

	closeOnce sync.Once
	wg        sync.WaitGroup // forwarders and RTCP readers
}

func newParticipant(r *Room, id string, sig Signaller) (*Participant, error) {
	p := &Participant{
		id:         id,
		room:       r,
		log:        r.log.With("participant", id),
		senders:    make(map[*forwardedTrack]*webrtc.RTPSender),
		candidates: make(map[Target][]webrtc.ICECandidateInit),
	}
	p.sig.Store(&signallerBox{sig})
	var err error
	if p.pub, err = r.sfu.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, fmt.Errorf("publisher connection: %w", err)
	}
	if p.sub, err = r.sfu.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = p.pub.Close()
		return nil, fmt.Errorf("subscriber connection: %w", err)
	}
	p.watch(Publisher, p.pub)
	p.watch(Subscriber, p.sub)
	p.pub.OnTrack(p.onTrack)
	return p, nil
}

// watch trickles pc's candidates and logs its state.
func (p *Participant) watch(t Target, pc *webrtc.PeerConnection) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.signaller().SendCandidate(t, c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "target", t, "state", s.String())
		if t == Subscriber && s == webrtc.PeerConnectionStateConnected {
			// A subscriber can decode nothing until its first key frame.
			p.mu.Lock()
			for ft := range p.senders {
				ft.requestKeyframe(true)
			}
			p.mu.Unlock()
		}
	})
}

// signallerBox lets an interface value live in an atomic.Pointer.
type signallerBox struct{ Signaller }

func (p *Participant) signaller() Signaller { return p.sig.Load().Signaller }

// SetSignaller points the participant's negotiation at sig: a client that
// reconnected on a new socket resumes its media session through it.
func (p *Participant) SetSignaller(sig Signaller) { p.sig.Store(&signallerBox{sig}) }

// RestartICE sends a subscriber offer with new ICE credentials (after the
// client lost its network or asked with a restart message). The client
// restarts its publisher connection itself with a new offer.
func (p *Participant) RestartICE() {
	p.mu.Lock()
	p.restart = true
	stale := p.negotiating
	p.negotiating = false
	p.mu.Unlock()
	if stale && p.sub.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// The answer to the last offer was lost with the old socket.
		if err := p.sub.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			p.log.Debug("roll back unanswered offer", "err", err)
		}
	}
	p.negotiate()
}

// ID returns the participant id.
func (p *Participant) ID() string { return p.id }

func (p *Participant) conn(t Target) (*webrtc.PeerConnection, error) {
	switch t {
	case Publisher:
		return p.pub, nil
	case Subscriber:
		return p.sub, nil
	}
	return nil, ErrBadTarget
}

// HandleOffer applies the client's publisher offer and sends the answer.
func (p *Participant) HandleOffer(sdp string) error {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	if err := p.pub.SetRemoteDescription(offer); err != nil {
		return fmt.Errorf("%w: publisher offer: %v", ErrNegotiation, err)
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: publisher answer: %v", ErrNegotiation, err)
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("%w: publisher local description: %v", ErrNegotiation, err)
	}
	p.flushCandidates(Publisher)
	p.signaller().SendAnswer(answer.SDP)
	return nil
}

// HandleAnswer applies the client's answer to the last subscriber offer, and
// offers again if tracks changed in the meantime.
func (p *Participant) HandleAnswer(sdp string) error {
	if p.sub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("%w: no subscriber offer outstanding", ErrNegotiation)
	}
	answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}
	if err := p.sub.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("%w: subscriber answer: %v", ErrNegotiation, err)
	}
	p.flushCandidates(Subscriber)
	p.mu.Lock()
	p.negotiating = false
	again := p.pending
	p.pending = false
	p.mu.Unlock()
	if again {
		p.negotiate()
	}
	return nil
}

// AddCandidate adds a remote ICE candidate to connection t, holding it until
// that connection has a remote description.
func (p *Participant) AddCandidate(t Target, c webrtc.ICECandidateInit) error {
	pc, err := p.conn(t)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if pc.RemoteDescription() == nil {
		defer p.mu.Unlock()
		if len(p.candidates[t]) >= maxPendingCandidates {
			return fmt.Errorf("%w: too many early candidates", ErrNegotiation)
		}
		p.candidates[t] = append(p.candidates[t], c)
		return nil
	}
	p.mu.Unlock()
	if err := pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrNegotiation, err)
	}
	return nil
}

func (p *Participant) flushCandidates(t Target) {
	pc, _ := p.conn(t)
	p.mu.Lock()
	cs := p.candidates[t]
	delete(p.candidates, t)
	p.mu.Unlock()
	for _, c := range cs {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Debug("drop early candidate", "target", t, "err", err)
		}
	}
}

// negotiate sends a subscriber offer, or marks one as needed when an offer
// is already outstanding.
func (p *Participant) negotiate() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if p.negotiating {
		p.pending = true
		p.mu.Unlock()
		return
	}
	p.negotiating = true
	var opts *webrtc.OfferOptions
	if p.restart {
		opts = &webrtc.OfferOptions{ICERestart: true}
		p.restart = false
	}
	p.mu.Unlock()

	offer, err := p.sub.CreateOffer(opts)
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Warn("subscriber offer failed", "err", err)
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		return
	}
	p.signaller().SendOffer(offer.SDP)
}

// onTrack starts forwarding a track the client published.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	ft, err := newForwardedTrack(p, remote)
	if err != nil {
		p.log.Warn("cannot forward track", "kind", remote.Kind().String(), "err", err)
		return
	}
	p.log.Info("track published", "kind", remote.Kind().String(), "codec", remote.Codec().MimeType, "ssrc", uint32(remote.SSRC()))
	p.wg.Add(2)
	go func() { defer p.wg.Done(); drainRTCP(recv) }()
	go func() { defer p.wg.Done(); ft.forward(p.room.sfu.m) }()
	if err := p.room.publish(ft); err != nil {
		p.log.Debug("track arrived after leaving", "err", err)
	}
}

// subscribe adds ft to the subscriber connection. It reports whether
// anything changed.
func (p *Participant) subscribe(ft *forwardedTrack) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if _, ok := p.senders[ft]; ok {
		return false
	}
	sender, err := p.sub.AddTrack(ft.local)
	if err != nil {
		p.log.Warn("subscribe failed", "track", ft.local.ID(), "err", err)
		return false
	}
	p.senders[ft] = sender
	ft.subscribers.Add(1)
	p.wg.Add(1)
	go func() { defer p.wg.Done(); ft.readFeedback(sender) }()
	return true
}

// unsubscribe removes ft from the subscriber connection. It reports whether
// anything changed.
func (p *Participant) unsubscribe(ft *forwardedTrack) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	sender, ok := p.senders[ft]
	if !ok {
		return false
	}
	delete(p.senders, ft)
	ft.subscribers.Add(-1)
	if p.closed {
		return false
	}
	if err := p.sub.RemoveTrack(sender); err != nil {
		p.log.Debug("remove track", "err", err)
	}
	return true
}

// Close leaves the room and closes both connections. It waits for the
// participant's goroutines to finish.
func (p *Participant) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.room.leave(p)
		p.closePeers()
		p.mu.Lock()
		for ft := range p.senders {
			ft.subscribers.Add(-1)
		}
		clear(p.senders)
		p.mu.Unlock()
		p.wg.Wait()
		p.log.Info("participant left media room")
	})
}

func (p *Participant) closePeers() {
	if err := p.pub.Close(); err != nil {
		p.log.Debug("close publisher connection", "err", err)
	}
	if err := p.sub.Close(); err != nil {
		p.log.Debug("close subscriber connection", "err", err)
	}
}
