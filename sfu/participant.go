package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
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
	bwe  cc.BandwidthEstimator // of the subscriber connection
	// fast is the publisher connection's receive fast path (fastpath.go);
	// nil when it is off.
	fast *fastPath
	// sockets are what packets to the participant leave by, whose sends
	// bursts hold (burst.go): the shared UDP port's, or with
	// Config.BatchOwnSockets its subscriber connection's; nil: none.
	sockets *socketSet

	// Set before the participant is in the room, then read only.
	hidden    bool // a monitor: subscribes only, in nobody's view
	videoOnly bool // a monitor of a sight-only legal call: never sent audio

	twccNegotiated atomic.Bool   // the subscriber sends transport-wide feedback
	remb           atomic.Int64  // the subscriber's last REMB, bit/s
	rembAt         atomic.Int64  // when it came, unix nanoseconds
	subConnectedAt atomic.Int64  // unix nanoseconds; 0 while not connected
	lossSeenAt     atomic.Int64  // last time loss above upgradeLoss was seen
	nacked         atomic.Uint64 // packets NACKed since the last sample

	// published is guarded by room.mu, so that a joiner and a new track
	// never miss each other.
	published []*upTrack

	mu          sync.Mutex
	tracks      map[string]*upTrack // published, by kind and client track id
	downs       map[*upTrack]*downTrack
	senders     map[*downTrack]*webrtc.RTPSender
	maxLayers   map[string]int // quality requests, by publisher id
	negotiating bool           // a subscriber offer is outstanding
	pending     bool           // something changed while it was
	restart     bool           // the next subscriber offer restarts ICE
	candidates  map[Target][]webrtc.ICECandidateInit
	holdCands   map[Target]bool // between setting and sending a local description
	heldCands   map[Target][]webrtc.ICECandidateInit
	closed      bool

	sampleMu sync.Mutex
	sampled  sampleState
	lossAvg  float64 // smoothed loss the estimator reports, under sampleMu

	allocMu sync.Mutex // one layer allocation at a time

	closeOnce sync.Once
	wg        sync.WaitGroup // forwarders and RTCP readers
}

func newParticipant(r *Room, id string, sig Signaller) (*Participant, error) {
	p := &Participant{
		id:         id,
		room:       r,
		log:        r.log.With("participant", id),
		tracks:     make(map[string]*upTrack),
		downs:      make(map[*upTrack]*downTrack),
		senders:    make(map[*downTrack]*webrtc.RTPSender),
		maxLayers:  make(map[string]int),
		candidates: make(map[Target][]webrtc.ICECandidateInit),
		holdCands:  make(map[Target]bool),
		heldCands:  make(map[Target][]webrtc.ICECandidateInit),
	}
	p.sig.Store(&signallerBox{sig})
	var err error
	api := r.sfu.apis.pub
	if !r.sfu.cfg.NoFastPath {
		p.fast = newFastPath(p.log, r.sfu.apis.shared)
		p.fast.onRefuse = r.sfu.media.RefusedStreams.Inc
		api = r.sfu.apis.publisher(p.fast)
	}
	if p.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, fmt.Errorf("publisher connection: %w", err)
	}
	switch {
	case r.sfu.apis.shared != nil:
		p.sockets = &r.sfu.apis.shared.sockets
	case r.sfu.cfg.BatchOwnSockets:
		p.sockets = &socketSet{}
	}
	if p.sub, p.bwe, err = r.sfu.apis.subscriber(p.sockets); err != nil {
		_ = p.pub.Close()
		return nil, err
	}
	p.watch(Publisher, p.pub)
	p.watch(Subscriber, p.sub)
	p.pub.OnTrack(p.onTrack)
	return p, nil
}

// watch trickles pc's candidates and logs its state.
func (p *Participant) watch(t Target, pc *webrtc.PeerConnection) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		p.mu.Lock()
		if p.holdCands[t] {
			// The description these belong to has not been sent yet.
			p.heldCands[t] = append(p.heldCands[t], c.ToJSON())
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.signaller().SendCandidate(t, c.ToJSON())
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "target", t, "state", s.String())
		if t == Subscriber && s != webrtc.PeerConnectionStateConnected {
			p.subConnectedAt.Store(0)
		}
		if t == Subscriber && s == webrtc.PeerConnectionStateConnected {
			p.subConnectedAt.Store(time.Now().UnixNano())
			// A subscriber can decode nothing until its first key frame.
			for _, d := range p.downTracks() {
				if _, target, _, _ := d.layerState(); target != layerPause {
					d.up.requestKeyframe(target, true)
				}
			}
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

// holdCandidates keeps connection t's new local candidates back until
// releaseCandidates, so that they never reach the client before the
// description (with its ICE credentials, after a restart) they belong to.
func (p *Participant) holdCandidates(t Target) {
	p.mu.Lock()
	p.holdCands[t] = true
	p.mu.Unlock()
}

func (p *Participant) releaseCandidates(t Target) {
	p.mu.Lock()
	held := p.heldCands[t]
	delete(p.heldCands, t)
	p.holdCands[t] = false
	p.mu.Unlock()
	for _, c := range held {
		p.signaller().SendCandidate(t, c)
	}
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
	if p.hidden {
		return ErrMonitorPublish
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	if err := p.pub.SetRemoteDescription(offer); err != nil {
		return fmt.Errorf("%w: publisher offer: %v", ErrNegotiation, err)
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: publisher answer: %v", ErrNegotiation, err)
	}
	p.holdCandidates(Publisher)
	if err := p.pub.SetLocalDescription(answer); err != nil {
		p.releaseCandidates(Publisher)
		return fmt.Errorf("%w: publisher local description: %v", ErrNegotiation, err)
	}
	if p.fast != nil {
		p.fast.screen.Store(repairRulesOf(p.pub))
	}
	p.flushCandidates(Publisher)
	p.signaller().SendAnswer(answer.SDP)
	p.releaseCandidates(Publisher)
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
		p.holdCandidates(Subscriber)
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		p.releaseCandidates(Subscriber)
		p.log.Warn("subscriber offer failed", "err", err)
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		return
	}
	p.signaller().SendOffer(offer.SDP)
	p.releaseCandidates(Subscriber)
}

// onTrack starts forwarding a track, or one simulcast layer of a track,
// the client published.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	key := remote.Kind().String() + "/" + remote.ID()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	t := p.tracks[key]
	isNew := t == nil
	if isNew {
		t = newUpTrack(p, remote, recv)
		p.tracks[key] = t
	}
	p.mu.Unlock()
	l, ok := t.addLayer(remote)
	if !ok {
		return
	}
	p.log.Info("track published", "kind", remote.Kind().String(), "codec", remote.Codec().MimeType,
		"ssrc", uint32(remote.SSRC()), "rid", remote.RID())
	p.wg.Add(2)
	go func() { defer p.wg.Done(); drainRTCP(recv, remote.RID()) }()
	go func() { defer p.wg.Done(); l.read() }()
	if !isNew {
		// Subscribers may be waiting for this layer.
		t.requestKeyframe(l.q, true)
		return
	}
	if err := p.room.publish(t); err != nil {
		p.log.Debug("track arrived after leaving", "err", err)
	}
}

// drainRTCP reads the publisher's RTCP for one layer so that the
// interceptors see sender reports, until the receiver stops.
func drainRTCP(recv *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, maxPacket)
	for {
		var err error
		if rid != "" {
			_, _, err = recv.ReadSimulcast(buf, rid)
		} else {
			_, _, err = recv.Read(buf)
		}
		if err != nil {
			return
		}
	}
}

// subscribe adds t to the subscriber connection. It reports whether
// anything changed.
func (p *Participant) subscribe(t *upTrack) bool {
	if !p.mayReceive(t) {
		p.log.Info("not subscribed: video only", "track", t.id)
		return false
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if _, ok := p.downs[t]; ok {
		p.mu.Unlock()
		return false
	}
	maxLayer, ok := p.maxLayers[t.owner.id]
	if !ok {
		maxLayer = layerF
	}
	d := newDownTrack(t, p, maxLayer)
	sender, err := p.sub.AddTrack(d)
	if err != nil {
		p.mu.Unlock()
		p.log.Warn("subscribe failed", "track", t.id, "err", err)
		return false
	}
	p.downs[t] = d
	p.senders[d] = sender
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.readFeedback(d, sender) }()
	p.mu.Unlock()
	// Under the room lock, so that a pause or mute by staff either sees
	// this subscription or is seen by it.
	r := p.room
	r.mu.Lock()
	withheld := r.withheldLocked(t, p)
	d.mu.Lock()
	d.withheld = withheld
	d.mu.Unlock()
	t.addDown(d)
	r.mu.Unlock()
	if t.kind == webrtc.RTPCodecTypeVideo {
		p.allocate(time.Now(), allocNew)
	}
	return true
}

// unsubscribe removes t from the subscriber connection. It reports whether
// anything changed.
func (p *Participant) unsubscribe(t *upTrack) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.downs[t]
	if !ok {
		return false
	}
	t.removeDown(d)
	sender := p.senders[d]
	delete(p.downs, t)
	delete(p.senders, d)
	if p.closed {
		return false
	}
	if err := p.sub.RemoveTrack(sender); err != nil {
		p.log.Debug("remove track", "err", err)
	}
	return true
}

// downTracks returns the participant's subscriptions.
func (p *Participant) downTracks() []*downTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	ds := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		ds = append(ds, d)
	}
	return ds
}

// SetMaxLayer records the most of publisher's video this participant
// wants: "q", "h", "f", or "none" for none at all.
func (p *Participant) SetMaxLayer(publisher, rid string) error {
	q := layerPause
	if rid != "none" {
		switch rid {
		case "q", "h", "f":
			q = qualityOf(rid)
		default:
			return fmt.Errorf("%w: quality %q", ErrBadLayer, rid)
		}
	}
	p.mu.Lock()
	p.maxLayers[publisher] = q
	var ds []*downTrack
	for t, d := range p.downs {
		if t.owner.id == publisher && t.kind == webrtc.RTPCodecTypeVideo {
			ds = append(ds, d)
		}
	}
	p.mu.Unlock()
	for _, d := range ds {
		d.setMaxLayer(q)
	}
	p.allocate(time.Now(), allocRequest)
	return nil
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
		for t, d := range p.downs {
			t.removeDown(d)
		}
		clear(p.downs)
		clear(p.senders)
		p.mu.Unlock()
		p.wg.Wait()
		p.room.sfu.media.Forget(p.room.id, p.id)
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
