package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// maxPendingCandidates bounds the remote candidates held for a connection
// while they wait for the description they belong to.
const maxPendingCandidates = 64

// readLoop handles server messages on conn until it closes, and reports
// whether the session is over for good (ended, a fatal error, left, given
// up or closed) rather than merely disconnected.
func (c *Client) readLoop(conn *websocket.Conn) bool {
	defer conn.Close()
	for {
		var m Message
		if err := conn.ReadJSON(&m); err != nil {
			c.log.Debug("socket closed", "err", err)
			return c.final.Load() || c.closing.Load()
		}
		c.lastRecv.Store(time.Now().UnixNano())
		switch m.Type {
		case "offer":
			if err := c.onOffer(m.SDP); err != nil {
				c.log.Warn("subscriber offer", "err", err)
			}
		case "answer":
			if err := c.onAnswer(m.SDP); err != nil {
				c.log.Warn("publisher answer", "err", err)
			}
		case "candidate":
			if m.Candidate != nil {
				c.onCandidate(m.Target, *m.Candidate)
			}
		case "pong":
			// Keep-alive (reconnect.go): lastRecv is all it is for.
		default:
			if m.Type == "ended" || (m.Type == "error" && m.Fatal) {
				c.final.Store(true)
			}
			if m.Type == "state" && m.State == "live" {
				c.setLive()
			}
			c.emit(m)
		}
	}
}

// emit queues an event for Events, dropping it when the buffer is full.
func (c *Client) emit(m Message) {
	select {
	case c.events <- m:
	default:
		c.log.Warn("event dropped", "type", m.Type)
	}
}

func (c *Client) newPC(target string) (*webrtc.PeerConnection, error) {
	c.mu.Lock()
	cfg := webrtc.Configuration{ICEServers: c.welcome.ICEServers}
	c.mu.Unlock()
	if c.opts.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	api := c.api
	if target == "pub" {
		api = c.pubAPI
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		c.mu.Lock()
		if c.holding[target] {
			// A restart's candidates go after the description they
			// belong to, or the server would drop them as stale.
			c.held[target] = append(c.held[target], init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.sendCandidate(target, init)
	})
	// PublishMedia replaces this handler on its connection; the watchdog
	// polls states as well, so this only wakes it sooner.
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection state", "target", target, "state", s.String())
		if target == "sub" && s == webrtc.PeerConnectionStateConnected {
			c.subUpAt.Store(time.Now().UnixNano())
		}
		c.pokeWatch()
	})
	return pc, nil
}

func (c *Client) sendCandidate(target string, init webrtc.ICECandidateInit) {
	if err := c.send(map[string]any{"type": "candidate", "target": target, "candidate": init}); err != nil {
		c.log.Debug("send candidate", "err", err)
	}
}

// holdCandidates makes target's new local candidates wait until
// releaseCandidates, so that they follow the offer or answer being made.
func (c *Client) holdCandidates(target string) {
	c.mu.Lock()
	c.holding[target] = true
	c.mu.Unlock()
}

// releaseCandidates sends the candidates held for target and stops holding.
func (c *Client) releaseCandidates(target string) {
	c.mu.Lock()
	held := c.held[target]
	delete(c.held, target)
	c.holding[target] = false
	c.mu.Unlock()
	for _, init := range held {
		c.sendCandidate(target, init)
	}
}

// onOffer answers the server's subscriber offer, creating the subscriber
// connection on the first one. An offer with new ICE credentials (a
// restart) restarts ICE on the existing connection.
func (c *Client) onOffer(sdp string) error {
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub == nil {
		var err error
		if sub, err = c.newPC("sub"); err != nil {
			return err
		}
		sub.OnTrack(c.onTrack)
		c.mu.Lock()
		c.sub = sub
		c.mu.Unlock()
	}
	// An ICE restart gathers as soon as the offer is applied.
	c.holdCandidates("sub")
	defer c.releaseCandidates("sub")
	if err := sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	c.flush("sub", sub)
	answer, err := sub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := sub.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	return c.send(map[string]string{"type": "answer", "sdp": answer.SDP})
}

func (c *Client) onAnswer(sdp string) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	pub := c.pub
	c.mu.Unlock()
	if pub == nil {
		return fmt.Errorf("answer without a publisher connection")
	}
	if pub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("answer without an outstanding offer (state %s)", pub.SignalingState())
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	c.flush("pub", pub)
	return nil
}

// onCandidate adds a server candidate to its connection, or holds it until
// the description it belongs to is applied: before the first one, and
// during an ICE restart when the new credentials' candidates overtake the
// offer or answer that carries them.
func (c *Client) onCandidate(target string, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	pc := c.sub
	if target == "pub" {
		pc = c.pub
	}
	if pc == nil || !matchesRemote(pc, cand) {
		if q := c.pending[target]; len(q) >= maxPendingCandidates {
			c.pending[target] = q[1:] // the oldest is the stalest
		}
		c.pending[target] = append(c.pending[target], cand)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if err := pc.AddICECandidate(cand); err != nil {
		c.log.Debug("add candidate", "err", err)
	}
}

// matchesRemote reports whether cand can be added to pc now: pc has a remote
// description, with cand's ICE username fragment when cand names one.
func matchesRemote(pc *webrtc.PeerConnection, cand webrtc.ICECandidateInit) bool {
	rd := pc.RemoteDescription()
	if rd == nil {
		return false
	}
	ufrag := candidateUfrag(cand)
	if ufrag == "" {
		return true
	}
	for line := range strings.SplitSeq(rd.SDP, "\n") {
		if strings.TrimSpace(line) == "a=ice-ufrag:"+ufrag {
			return true
		}
	}
	return false
}

// candidateUfrag returns the ICE username fragment a candidate belongs to:
// usernameFragment, or the "ufrag" extension of the candidate line.
func candidateUfrag(cand webrtc.ICECandidateInit) string {
	if cand.UsernameFragment != nil && *cand.UsernameFragment != "" {
		return *cand.UsernameFragment
	}
	fields := strings.Fields(cand.Candidate)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "ufrag" {
			return fields[i+1]
		}
	}
	return ""
}

// flush adds the held remote candidates of target that belong to pc's
// current remote description. The others stay held (within
// maxPendingCandidates): a later description may be theirs.
func (c *Client) flush(target string, pc *webrtc.PeerConnection) {
	c.mu.Lock()
	var ready, keep []webrtc.ICECandidateInit
	for _, cand := range c.pending[target] {
		if matchesRemote(pc, cand) {
			ready = append(ready, cand)
		} else {
			keep = append(keep, cand)
		}
	}
	c.pending[target] = keep
	c.mu.Unlock()
	for _, cand := range ready {
		if err := pc.AddICECandidate(cand); err != nil {
			c.log.Debug("add candidate", "err", err)
		}
	}
}

// onTrack counts the RTP packets of a received track by publisher.
func (c *Client) onTrack(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	pid := t.StreamID()
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	// Reading the receiver's RTCP lets the interceptors see the server's
	// sender reports, so that receiver reports carry them back (the
	// server's round-trip time).
	c.wg.Add(2)
	c.subReaders.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.subReaders.Add(-1)
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
			c.subRTCPAt.Store(time.Now().UnixNano())
		}
	}()
	go func() {
		defer c.wg.Done()
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
				c.log.Debug("received track ended", "publisher", pid, "kind", t.Kind().String(), "ssrc", uint32(t.SSRC()), "err", err)
				return
			}
			if c.opts.OnRTP != nil {
				c.opts.OnRTP(pid, t.Kind(), pkt, time.Now())
			}
			c.mu.Lock()
			n := c.received[pid]
			if n == nil {
				n = &Counts{}
				c.received[pid] = n
			}
			if video {
				n.Video++
			} else {
				n.Audio++
			}
			c.mu.Unlock()
		}
	}()
}
