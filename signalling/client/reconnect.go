package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// Reconnection (PROTOCOL.md, Reconnection), with Options.Reconnect:
//
//   - The socket drops (read error): run redials with backoff and joins with
//     the same token and resume: true, for at most Options.ReconnectTimeout.
//     On a welcome with resumed: true the client keeps both peer
//     connections: it ICE-restarts the publisher connection with a new offer
//     and answers the server's restart offer on the subscriber connection.
//   - A peer connection goes disconnected or failed while the socket is up:
//     the watchdog checks the socket with a ping; if it answers, the client
//     sends restart for the subscriber connection and ICE-restarts the
//     publisher's; if not, it drops the socket and the case above follows.
//   - The socket stays silent (no pong to the keep-alive pings) for
//     silenceLimit: it is dropped, since TCP may take minutes to notice a
//     network that is gone.
//   - The subscriber connection says connected, but no RTCP (the server's
//     sender reports, one a second per track) has come on it for
//     rtcpSilence: the path is dead although ICE has not noticed, and it
//     is restarted as if it had gone disconnected.
//
// Received counts carry on across all of this: the subscriber connection
// and its tracks are the same.

// defaultReconnectTimeout matches the server's reconnect grace.
const defaultReconnectTimeout = 20 * time.Second

// Redial pacing: doubling from redialFirst to redialMax, with up to a fifth
// of random jitter so that clients who lost one network do not redial in
// step.
const (
	redialFirst = 100 * time.Millisecond
	redialMax   = time.Second
	dialTimeout = 5 * time.Second
)

// Watchdog timing.
const (
	watchPeriod          = 500 * time.Millisecond
	keepalivePeriod      = 5 * time.Second
	silenceLimit         = 15 * time.Second
	probeWait            = 2 * time.Second
	disconnectedPatience = 2 * time.Second // ICE may come back by itself
	restartBackoff       = 3 * time.Second // before the next restart, doubling
	restartBackoffMax    = 8 * time.Second
	rtcpSilence          = 5 * time.Second // five missed sender reports
)

// backoff is the wait before restart number tries+1 of one trouble.
func backoff(tries int) time.Duration {
	return min(restartBackoff<<min(tries, 4), restartBackoffMax)
}

// run reads the socket and, with Options.Reconnect, replaces it when it
// drops, until the session is over. It closes done.
func (c *Client) run(conn *websocket.Conn) {
	defer c.closeOnce.Do(func() { close(c.done) })
	for {
		if c.readLoop(conn) || !c.opts.Reconnect {
			return
		}
		c.wmu.Lock()
		if c.conn == conn {
			c.conn = nil
		}
		c.wmu.Unlock()
		var ok bool
		if conn, ok = c.reconnect(); !ok {
			return
		}
	}
}

// reconnect redials and resumes until it succeeds, is refused, runs out of
// time or the client closes. It returns the new socket.
func (c *Client) reconnect() (*websocket.Conn, bool) {
	c.reconnecting.Store(true)
	defer c.reconnecting.Store(false)
	start := time.Now()
	deadline := start.Add(c.opts.ReconnectTimeout)
	c.log.Info("signalling connection lost; reconnecting")
	c.emit(Message{Type: EventReconnecting, Reason: "socket"})
	delay := redialFirst
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithDeadline(c.ctx, earliest(deadline, time.Now().Add(dialTimeout)))
		conn, w, err := c.dialJoin(ctx, true)
		cancel()
		var refused *RefusedError
		switch {
		case err == nil:
			if !c.install(conn, w) {
				return nil, false
			}
			c.log.Info("reconnected", "resumed", w.Resumed, "attempts", attempt, "after", time.Since(start))
			return conn, true
		case c.ctx.Err() != nil:
			return nil, false // closed
		case errors.As(err, &refused):
			c.emit(w) // the server's error message, as Events delivers any other
			c.giveUp("refused: " + refused.Code)
			return nil, false
		case time.Now().Add(delay).After(deadline):
			c.log.Info("reconnect gave up", "attempts", attempt, "err", err)
			c.giveUp("timeout")
			return nil, false
		}
		c.log.Debug("redial failed", "attempt", attempt, "err", err)
		t := time.NewTimer(delay + rand.N(delay/5+1))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil, false
		case <-t.C:
		}
		delay = min(2*delay, redialMax)
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// install makes conn, just welcomed with w, the client's socket and picks
// the media session up again. It reports false when the client cannot go
// on (closed meanwhile, or its media session was not kept).
func (c *Client) install(conn *websocket.Conn, w Message) bool {
	c.wmu.Lock()
	if c.closing.Load() {
		c.wmu.Unlock()
		_ = conn.Close()
		return false
	}
	c.conn = conn
	c.wmu.Unlock()
	c.lastRecv.Store(time.Now().UnixNano())
	c.mu.Lock()
	c.welcome = w
	pub, sub := c.pub, c.sub
	c.mu.Unlock()
	if w.Call.State == "live" {
		c.setLive()
	}
	if !w.Resumed && pub != nil {
		// The server started a new media session: a publisher cannot be
		// rebuilt here (its tracks belong to Publish). Leave cleanly so
		// that the application can join afresh.
		c.log.Warn("media session not resumed; leaving")
		_ = c.Leave()
		c.giveUp("not_resumed")
		return false
	}
	if !w.Resumed && sub != nil {
		// Receive-only: the server offers a new subscriber connection.
		c.mu.Lock()
		c.sub = nil
		delete(c.pending, "sub")
		c.mu.Unlock()
		_ = sub.Close()
	}
	if w.Resumed {
		if err := c.restartPublisher(); err != nil {
			c.log.Warn("publisher ICE restart", "err", err)
		}
	}
	ev := w
	ev.Type = EventReconnected
	c.emit(ev)
	return true
}

// giveUp ends the session: no more reconnecting, Done closes.
func (c *Client) giveUp(reason string) {
	c.final.Store(true)
	c.emit(Message{Type: EventReconnectFailed, Reason: reason})
	c.DropConnection()
}

// restartPublisher sends a publisher offer with new ICE credentials, rolling
// back an offer whose answer was lost. It does nothing without a publisher
// connection.
func (c *Client) restartPublisher() error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	pub := c.pub
	c.mu.Unlock()
	if pub == nil || pub.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return nil
	}
	if pub.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		if err := pub.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			return fmt.Errorf("roll back unanswered offer: %w", err)
		}
	}
	c.holdCandidates("pub")
	defer c.releaseCandidates("pub")
	offer, err := pub.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create restart offer: %w", err)
	}
	if err := pub.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set restart offer: %w", err)
	}
	return c.send(map[string]string{"type": "offer", "sdp": offer.SDP})
}

// DropConnection closes the signalling socket abruptly, without leave and
// without a close frame, as a lost network would: a test hook. With
// Options.Reconnect the client then redials and resumes; without, the
// session ends.
func (c *Client) DropConnection() {
	c.wmu.Lock()
	conn := c.conn
	c.wmu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// pokeWatch wakes the watchdog (a peer connection changed state).
func (c *Client) pokeWatch() {
	select {
	case c.pcChanged <- struct{}{}:
	default:
	}
}

// watch is the watchdog of Options.Reconnect: keep-alive pings, and ICE
// restarts when a peer connection is lost while the socket is up. It runs
// until done.
func (c *Client) watch() {
	tick := time.NewTicker(watchPeriod)
	defer tick.Stop()
	var troubleSince, lastTry, lastPing time.Time
	restarted, tries := false, 0
	connected := make(map[*webrtc.PeerConnection]bool) // seen connected once
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		case <-c.pcChanged:
		}
		if c.reconnecting.Load() || c.final.Load() {
			troubleSince = time.Time{}
			continue
		}
		now := time.Now()
		if now.Sub(lastPing) >= keepalivePeriod {
			lastPing = now
			_ = c.send(map[string]string{"type": "ping"})
		}
		if silent := now.Sub(time.Unix(0, c.lastRecv.Load())); silent > silenceLimit {
			c.log.Info("signalling socket silent; dropping it", "silent", silent)
			c.DropConnection()
			continue
		}
		targets, patience := c.mediaTrouble(connected)
		if len(targets) == 0 {
			if restarted {
				c.log.Info("media connections recovered")
				c.emit(Message{Type: EventReconnected, Reason: "media", Resumed: true})
			}
			troubleSince, restarted, tries = time.Time{}, false, 0
			continue
		}
		if troubleSince.IsZero() {
			troubleSince = now
		}
		if now.Sub(troubleSince) > c.opts.ReconnectTimeout {
			c.log.Warn("media connections did not recover; giving up", "targets", targets)
			c.giveUp("media")
			return
		}
		if now.Sub(troubleSince) < patience || (tries > 0 && now.Sub(lastTry) < backoff(tries-1)) {
			continue
		}
		lastTry = now
		tries++
		if c.recoverMedia(targets) {
			restarted = true
		}
	}
}

// mediaTrouble lists the peer connections that are not connected when they
// should be, and how long to give them before acting. connected records
// the connections seen connected: one of them connecting again is an ICE
// restart under way, whose checks may have run out while the network was
// still down, so it is restarted again after the backoff. A first
// connection still connecting is left alone, however long it takes (a
// relay over TLS on a slow machine): restarting would throw its checks
// away; ICE says failed when it gives up.
func (c *Client) mediaTrouble(connected map[*webrtc.PeerConnection]bool) ([]string, time.Duration) {
	c.mu.Lock()
	pcs := map[string]*webrtc.PeerConnection{"pub": c.pub, "sub": c.sub}
	c.mu.Unlock()
	for pc := range connected {
		if pc != pcs["pub"] && pc != pcs["sub"] {
			delete(connected, pc) // replaced
		}
	}
	var targets []string
	patience := time.Duration(0)
	for target, pc := range pcs {
		if pc == nil {
			continue
		}
		var wait time.Duration
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateConnected:
			connected[pc] = true
			if target != "sub" || !c.subSilent(time.Now()) {
				continue
			}
		case webrtc.PeerConnectionStateFailed:
			wait = 0
		case webrtc.PeerConnectionStateDisconnected:
			wait = disconnectedPatience
		case webrtc.PeerConnectionStateConnecting:
			if !connected[pc] {
				continue
			}
			wait = restartBackoff
		default:
			continue
		}
		if len(targets) == 0 || wait < patience {
			patience = wait
		}
		targets = append(targets, target)
	}
	return targets, patience
}

// subSilent reports whether the subscriber connection has carried no RTCP
// for rtcpSilence while it has tracks. It never is before the first RTCP,
// with no track received (alone in the call: nothing sends reports), nor
// within rtcpSilence of connecting.
func (c *Client) subSilent(now time.Time) bool {
	last := c.subRTCPAt.Load()
	if last == 0 || c.subReaders.Load() == 0 {
		return false
	}
	last = max(last, c.subUpAt.Load())
	return now.UnixNano()-last > int64(rtcpSilence)
}

// recoverMedia restarts ICE on targets if the socket answers a ping, and
// drops the socket (so that run resumes) if it does not. It reports whether
// it restarted anything.
func (c *Client) recoverMedia(targets []string) bool {
	before := c.lastRecv.Load()
	if err := c.send(map[string]string{"type": "ping"}); err != nil {
		return false // reconnecting already
	}
	t := time.NewTimer(probeWait)
	defer t.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for c.lastRecv.Load() == before {
		select {
		case <-c.done:
			return false
		case <-t.C:
			c.log.Info("signalling socket does not answer; reconnecting")
			c.DropConnection()
			return false
		case <-poll.C:
		}
	}
	c.log.Info("media connection lost; restarting ICE", "targets", targets, "sub_silent", c.subSilent(time.Now()))
	c.emit(Message{Type: EventReconnecting, Reason: "media"})
	for _, target := range targets {
		var err error
		if target == "sub" {
			err = c.send(map[string]string{"type": "restart", "target": "sub"})
		} else {
			err = c.restartPublisher()
		}
		if err != nil {
			c.log.Warn("ICE restart", "target", target, "err", err)
		}
	}
	return true
}
