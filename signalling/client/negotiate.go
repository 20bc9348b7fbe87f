package client

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// readLoop handles server messages until the socket closes.
func (c *Client) readLoop() {
	defer c.closeOnce.Do(func() { close(c.done) })
	for {
		var m Message
		if err := c.conn.ReadJSON(&m); err != nil {
			return
		}
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
		default:
			if m.Type == "state" && m.State == "live" {
				c.setLive()
			}
			select {
			case c.events <- m:
			default:
				c.log.Warn("event dropped", "type", m.Type)
			}
		}
	}
}

func (c *Client) newPC(target string) (*webrtc.PeerConnection, error) {
	cfg := webrtc.Configuration{ICEServers: c.welcome.ICEServers}
	if c.opts.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := c.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		if err := c.send(map[string]any{"type": "candidate", "target": target, "candidate": cand.ToJSON()}); err != nil {
			c.log.Debug("send candidate", "err", err)
		}
	})
	return pc, nil
}

// onOffer answers the server's subscriber offer, creating the subscriber
// connection on the first one.
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
	c.mu.Lock()
	pub := c.pub
	c.mu.Unlock()
	if pub == nil {
		return fmt.Errorf("answer without a publisher connection")
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	c.flush("pub", pub)
	return nil
}

func (c *Client) onCandidate(target string, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	pc := c.sub
	if target == "pub" {
		pc = c.pub
	}
	if pc == nil || pc.RemoteDescription() == nil {
		c.pending[target] = append(c.pending[target], cand)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if err := pc.AddICECandidate(cand); err != nil {
		c.log.Debug("add candidate", "err", err)
	}
}

func (c *Client) flush(target string, pc *webrtc.PeerConnection) {
	c.mu.Lock()
	cands := c.pending[target]
	delete(c.pending, target)
	c.mu.Unlock()
	for _, cand := range cands {
		if err := pc.AddICECandidate(cand); err != nil {
			c.log.Debug("add candidate", "err", err)
		}
	}
}

// onTrack counts the RTP packets of a received track by publisher.
func (c *Client) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	pid := t.StreamID()
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
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
