package signalling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/sfu"
)

// RoleMonitor is the role in a security officer's monitor token.
const RoleMonitor = "monitor"

// CodeLegalPrivilege refuses a monitor on a legal call.
const CodeLegalPrivilege = "legal_privilege"

// CodeForbidden refuses a monitor whose account may not watch this call.
const CodeForbidden = "forbidden"

// CodeMonitorPublish refuses an offer from a monitor.
const CodeMonitorPublish = "monitor_publish"

// watcher is a security officer watching a call as a hidden monitor: in no
// participant's list, never announced, publishing nothing.
type watcher struct {
	id     string // the token's participant id: monitor:<staff>:<random>
	grant  booking.MonitorGrant
	sess   *session
	media  *sfu.Participant // nil until the call is live
	joined time.Time
}

// monitorInfo is the welcome's extra for a monitor.
type monitorInfo struct {
	VideoOnly bool `json:"videoOnly"`
}

// joinMonitor admits a monitor token's holder, or refuses them and closes.
// The booking service decides (staff account, prison, call window, legal
// privilege, and audits a refusal); the media server enforces privilege
// again when the monitor's connection is made.
func (s *session) joinMonitor(ctx context.Context, claims auth.JoinClaims) {
	m := s.srv.m
	grant, err := s.srv.bookings.AdmitMonitor(ctx, claims)
	if err != nil {
		code, msg := CodeForbidden, "You may not watch this call."
		switch {
		case errors.Is(err, booking.ErrLegalPrivilege):
			code, msg = CodeLegalPrivilege, "Legal calls are privileged: they cannot be monitored or recorded."
		case errors.Is(err, booking.ErrNotFound):
			code, msg = CodeBookingNotFound, "This booking no longer exists."
		}
		m.Admissions.WithLabelValues(code).Inc()
		s.log.Info("monitor refused", "code", code, "booking", claims.BookingID, "err", err)
		s.fail(code, msg)
		return
	}
	b, aerr := s.srv.checkBooking(ctx, claims.BookingID)
	if aerr != nil {
		m.Admissions.WithLabelValues(aerr.Code).Inc()
		s.fail(aerr.Code, aerr.Message)
		return
	}
	r, err := s.srv.roomFor(b)
	if err != nil {
		m.Admissions.WithLabelValues(CodeInternal).Inc()
		s.fail(CodeInternal, "The server is not taking calls now.")
		return
	}
	w := &watcher{id: claims.ParticipantID, grant: grant, sess: s, joined: time.Now()}
	s.room = r
	s.watch = w
	s.participant = booking.Participant{ID: w.id, Name: grant.StaffName, Role: RoleMonitor}
	s.log = r.log.With("monitor", w.id, "staff", grant.StaffID)
	if aerr := r.addWatcher(w); aerr != nil {
		s.room, s.watch = nil, nil
		m.Admissions.WithLabelValues(aerr.Code).Inc()
		s.fail(aerr.Code, aerr.Message)
		return
	}
	m.Admissions.WithLabelValues("monitor").Inc()
	r.auditMonitor(ctx, w, "monitor.join", map[string]any{"monitor": w.id, "videoOnly": grant.VideoOnly})
}

// addWatcher puts w in the room and sends its welcome; a live call's
// media starts at once.
func (r *room) addWatcher(w *watcher) *AdmissionError {
	r.mu.Lock()
	if r.state == stateEnded {
		r.mu.Unlock()
		return refuse(CodeCallEnded, "This call has ended.", nil)
	}
	if old := r.watchers[w.id]; old != nil {
		r.mu.Unlock()
		return refuse(CodeAlreadyJoined, "This monitor link is already in use.", nil)
	}
	r.watchers[w.id] = w
	state := r.state
	others, _ := r.othersLocked(nil)
	msg := r.welcome(w.sess, state, others, false)
	msg.Monitor = &monitorInfo{VideoOnly: w.grant.VideoOnly}
	w.sess.send(msg)
	r.mu.Unlock()
	w.sess.log.Info("monitor admitted", "state", state, "video_only", w.grant.VideoOnly)
	if state == stateLive {
		r.startWatching(w)
	}
	return nil
}

// startWatching connects w to the media room as a hidden subscriber.
func (r *room) startWatching(w *watcher) {
	mp, err := r.media.JoinMonitor(w.id, w.sess)
	if err != nil {
		switch {
		case errors.Is(err, sfu.ErrLegalPrivilege):
			w.sess.fail(CodeLegalPrivilege, "Legal calls are privileged: they cannot be monitored or recorded.")
		case errors.Is(err, sfu.ErrClosed):
		default:
			w.sess.log.Warn("monitor media join failed", "err", err)
			w.sess.fail(CodeInternal, "The media server could not take the monitor.")
		}
		return
	}
	r.mu.Lock()
	if r.watchers[w.id] != w || w.media != nil {
		r.mu.Unlock()
		mp.Close()
		return
	}
	w.media = mp
	r.mu.Unlock()
}

// removeWatcher takes w out of the room and closes its media.
func (r *room) removeWatcher(w *watcher, why string) {
	r.mu.Lock()
	if r.watchers[w.id] != w {
		r.mu.Unlock()
		return
	}
	delete(r.watchers, w.id)
	mp := w.media
	w.media = nil
	r.mu.Unlock()
	if mp != nil {
		mp.Close()
	}
	w.sess.log.Info("monitor left", "why", why)
	r.auditMonitor(context.Background(), w, "monitor.leave",
		map[string]any{"monitor": w.id, "why": why, "seconds": int(time.Since(w.joined).Seconds())})
}

// watcherMedia returns w's media session while it is in the room.
func (r *room) watcherMedia(w *watcher) *sfu.Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watchers[w.id] != w {
		return nil
	}
	return w.media
}

// watchersLocked returns the monitors' sessions. The caller holds r.mu.
func (r *room) watchersLocked() []*session {
	ss := make([]*session, 0, len(r.watchers))
	for _, w := range r.watchers {
		ss = append(ss, w.sess)
	}
	return ss
}

// auditMonitor writes one monitoring entry to the audit log.
func (r *room) auditMonitor(ctx context.Context, w *watcher, action string, detail map[string]any) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	actor := fmt.Sprintf("staff:%d", w.grant.StaffID)
	if err := r.srv.bookings.Audit(ctx, actor, action, bookingSubject(r.booking.ID), detail); err != nil {
		r.log.Error("audit write failed", "action", action, "err", err)
	}
}

func bookingSubject(id int64) string { return fmt.Sprintf("booking:%d", id) }

// handleMonitor acts on a monitor's message: answers and candidates for
// its subscriber connection, quality, restart, ping and leave. It never
// publishes.
func (s *session) handleMonitor(msg inbound) (string, string) {
	r, w := s.room, s.watch
	switch msg.Type {
	case msgPing:
		s.send(pongMsg{Type: msgPong, ServerTime: s.srv.clock.Now().UTC()})
		return "", ""
	case msgLeave:
		s.end(EndLeft)
		r.removeWatcher(w, "left")
		return "", ""
	case msgOffer:
		return CodeMonitorPublish, "Monitors do not publish."
	}
	mp := r.watcherMedia(w)
	if mp == nil {
		switch msg.Type {
		case msgAnswer, msgCandidate, msgRestart, msgQuality:
			return CodeNotLive, "The call has not started yet."
		}
		return CodeUnknownType, "Unknown message type."
	}
	switch msg.Type {
	case msgAnswer:
		if msg.SDP == "" || len(msg.SDP) > int(s.srv.cfg.MaxMessage) {
			return CodeBadMessage, "sdp is required."
		}
		if err := mp.HandleAnswer(msg.SDP); err != nil {
			s.log.Info("negotiation failed", "type", msg.Type, "err", err)
			return CodeNegotiationFailed, "The session description could not be applied."
		}
	case msgCandidate:
		if sfu.Target(msg.Target) != sfu.Subscriber || msg.Candidate == nil {
			return CodeBadMessage, `a monitor's candidates are for target "sub".`
		}
		if err := mp.AddCandidate(sfu.Subscriber, *msg.Candidate); err != nil {
			return CodeNegotiationFailed, "The ICE candidate could not be added."
		}
	case msgRestart:
		mp.RestartICE()
	case msgQuality:
		if msg.ParticipantID == "" || !validLayer(msg.MaxLayer) {
			return CodeBadMessage, `quality needs participantId and maxLayer "q", "h", "f" or "none".`
		}
		setMaxLayer(s.log, mp, msg.ParticipantID, msg.MaxLayer)
	default:
		return CodeUnknownType, "Unknown message type."
	}
	return "", ""
}
