package signalling

import (
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/sfu"
)

// Reconnection (PROTOCOL.md, Reconnection): a participant whose socket
// closes without leave keeps their place and their media session for
// Config.ReconnectGrace. The others see participantState reconnecting. A
// join with the same token and resume: true within the grace resumes: the
// new socket takes the media session over (sfu.Participant.SetSignaller),
// the welcome says resumed: true, and the server restarts the subscriber
// connection's ICE while the client restarts the publisher's. When the
// grace runs out the place is given up as if the participant had left.

// returnWindow is the period over which Config.MaxReturns is counted.
const returnWindow = time.Minute

// allowReturn records a join into m's held place at now and reports whether
// it is within max per returnWindow. The caller holds room.mu.
func (m *member) allowReturn(now time.Time, max int) bool {
	keep := m.returns[:0]
	for _, t := range m.returns {
		if now.Sub(t) < returnWindow {
			keep = append(keep, t)
		}
	}
	m.returns = keep
	if len(m.returns) >= max {
		return false
	}
	m.returns = append(m.returns, now)
	return true
}

// graceOver reports whether m is away and its grace ended by now. The
// caller holds room.mu.
func (m *member) graceOver(now time.Time) bool {
	return m.sess == nil && !m.awayUntil.IsZero() && !now.Before(m.awayUntil)
}

// detach handles s's socket closing. If s was its participant's connection
// and did not end on purpose (leave, a fatal error, the call's end), the
// place and media session are held for the reconnect grace and the others
// are told the participant is reconnecting; otherwise the place is given up.
func (r *room) detach(s *session) {
	m := s.member
	m.op.Lock()
	defer m.op.Unlock()
	if s.isFinal() {
		r.removePlace(m, func() bool { return m.sess == s })
		return
	}
	grace := r.srv.cfg.ReconnectGrace
	r.mu.Lock()
	if r.state == stateEnded || r.members[m.info.ID] != m || m.sess != s {
		r.mu.Unlock()
		return
	}
	m.sess = nil
	m.awayUntil = r.srv.clock.Now().Add(grace)
	mp := m.media
	_, notify := r.othersLocked(m)
	r.mu.Unlock()

	if mp != nil {
		// Nothing sent while away could arrive; the resume renegotiates.
		mp.SetSignaller(discardSignaller{})
	}
	s.log.Info("connection lost; holding the place", "grace", grace)
	for _, o := range notify {
		o.send(participantStateMsg{Type: msgParticipantState, ParticipantID: m.info.ID, State: peerReconnecting})
	}
}

// expire gives up m's place if it is still away with its grace over at now.
func (r *room) expire(m *member, now time.Time) {
	m.op.Lock()
	defer m.op.Unlock()
	if r.removePlace(m, func() bool { return m.graceOver(now) }) {
		r.srv.m.ReconnectGraceExpired.Inc()
		r.log.Info("reconnect grace over; place given up", "participant", m.info.ID)
	}
}

// restart handles a restart request from s: a subscriber ICE restart, at
// most once per Config.RestartInterval. It returns an error code and detail
// for a refusal.
func (r *room) restart(s *session) (string, string) {
	r.mu.Lock()
	m := s.member
	if m.sess != s || m.media == nil {
		r.mu.Unlock()
		return CodeNotLive, "There is no media connection to restart yet."
	}
	now := time.Now()
	if !m.lastRestart.IsZero() && now.Sub(m.lastRestart) < r.srv.cfg.RestartInterval {
		r.mu.Unlock()
		return CodeRateLimited, "Restarts are limited to one a second; try again shortly."
	}
	m.lastRestart = now
	mp := m.media
	r.mu.Unlock()
	s.log.Info("subscriber ICE restart requested")
	mp.RestartICE()
	return "", ""
}

// setQuality records the most of publisher pid's video that s's participant
// wants and passes it to the media session (now, or when it starts). It
// returns an error code and detail for a refusal.
func (r *room) setQuality(s *session, pid, layer string) (string, string) {
	if !validLayer(layer) {
		return CodeBadMessage, `maxLayer must be "q", "h", "f" or "none".`
	}
	if _, ok := r.booking.Participant(pid); !ok || pid == s.participant.ID {
		return CodeBadMessage, "participantId must name another participant of this call."
	}
	r.mu.Lock()
	m := s.member
	if m.sess != s {
		r.mu.Unlock()
		return "", "" // replaced meanwhile: the new connection asks for itself
	}
	if m.quality == nil {
		m.quality = make(map[string]string)
	}
	// Bounded: keys are participants of the booking.
	m.quality[pid] = layer
	mp := m.media
	r.mu.Unlock()
	if mp != nil {
		setMaxLayer(s.log, mp, pid, layer)
	}
	return "", ""
}

// layerLimiter is the media server's side of quality requests: the most of
// one publisher's video (a simulcast rid, or "none") that a subscriber
// receives. It is asserted rather than called directly so that signalling
// builds against a media server without simulcast.
type layerLimiter interface {
	SetMaxLayer(publisherID, rid string) error
}

// setMaxLayer passes a quality request to the media session, when the media
// server takes them.
func setMaxLayer(log *slog.Logger, mp *sfu.Participant, publisherID, layer string) {
	l, ok := any(mp).(layerLimiter)
	if !ok {
		log.Debug("media server takes no quality requests")
		return
	}
	if err := l.SetMaxLayer(publisherID, layer); err != nil {
		log.Info("quality request refused", "publisher", publisherID, "max_layer", layer, "err", err)
	}
}

// discardSignaller stands in for the socket of a participant who is away:
// nothing can reach them until they resume, and the resume renegotiates.
type discardSignaller struct{}

func (discardSignaller) SendAnswer(string)                                 {}
func (discardSignaller) SendOffer(string)                                  {}
func (discardSignaller) SendCandidate(sfu.Target, webrtc.ICECandidateInit) {}
func (discardSignaller) Notify(any)                                        {}
