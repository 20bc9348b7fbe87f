package signalling

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/sfu"
)

// endWarning is a warning sent before the end of a call.
type endWarning struct {
	before  time.Duration
	minutes int
}

// numWarnings is how many end warnings a call gets.
const numWarnings = 2

// endWarnings are the warnings of DOMAIN.md: 5 minutes and 1 minute before
// the end, in the order they come.
func endWarnings() [numWarnings]endWarning {
	return [numWarnings]endWarning{{5 * time.Minute, 5}, {time.Minute, 1}}
}

// room is one booked call's session state: who is connected, and where the
// call is in its life. Media lives in the sfu room of the same id.
type room struct {
	srv     *Server
	booking booking.Booking
	media   *sfu.Room
	log     *slog.Logger

	mu       sync.Mutex
	state    string
	sessions map[string]*session
	warned   [numWarnings]bool
}

func newRoom(s *Server, b booking.Booking, media *sfu.Room, now time.Time) *room {
	r := &room{
		srv:      s,
		booking:  b,
		media:    media,
		log:      s.log.With("room", strconv.FormatInt(b.ID, 10), "reference", b.Reference),
		state:    stateWaiting,
		sessions: make(map[string]*session),
	}
	if !now.Before(b.StartsAt) {
		r.state = stateLive
	}
	// A warning whose moment passed before anyone joined is not sent late:
	// the welcome carries the end time and clients count down to it.
	for i, w := range endWarnings() {
		r.warned[i] = !now.Before(b.EndsAt.Add(-w.before))
	}
	return r
}

// add admits s to the room, sends its welcome and starts its media if the
// call is live. It returns false once the room has ended. The welcome is
// queued under the room lock, so it is always the first message the client
// gets, before any state change or offer.
func (r *room) add(s *session) bool {
	r.mu.Lock()
	if r.state == stateEnded {
		r.mu.Unlock()
		return false
	}
	old := r.sessions[s.participant.ID]
	r.sessions[s.participant.ID] = s
	state := r.state
	others := make([]peerInfo, 0, len(r.sessions))
	var notify []*session
	for id, o := range r.sessions {
		if id != s.participant.ID {
			others = append(others, o.peer())
			notify = append(notify, o)
		}
	}
	s.send(r.welcome(s, state, others))
	r.mu.Unlock()

	s.log.Info("participant admitted", "state", state, "replacing", old != nil)
	if old != nil {
		old.end(EndReplaced)
		for _, o := range notify {
			o.send(participantLeftMsg{Type: msgParticipantLeft, ParticipantID: s.participant.ID})
		}
	}
	if state == stateLive {
		r.startMedia(s)
	}
	for _, o := range notify {
		o.send(participantJoinedMsg{Type: msgParticipantJoined, Participant: s.peer()})
	}
	return true
}

func (r *room) welcome(s *session, state string, others []peerInfo) welcomeMsg {
	b := r.booking
	servers, expires := s.issueICE()
	return welcomeMsg{
		Type:        msgWelcome,
		Version:     ProtocolVersion,
		Participant: s.peer(),
		Call: callInfo{
			BookingID: b.ID,
			Reference: b.Reference,
			CallType:  string(b.CallType),
			StartsAt:  b.StartsAt.UTC(),
			EndsAt:    b.EndsAt.UTC(),
			State:     state,
			Recorded:  b.CallType == booking.CallSocial,
		},
		Participants: others,
		ICEServers:   servers,
		ICEExpiresAt: expires,
		ServerTime:   r.srv.clock.Now().UTC(),
	}
}

// has reports whether participant pid is in the room.
func (r *room) has(pid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.sessions[pid]
	return ok
}

// remove takes s out of the room if it is still the participant's current
// session, and closes its media.
func (r *room) remove(s *session) {
	r.mu.Lock()
	current := r.sessions[s.participant.ID] == s
	var notify []*session
	if current {
		delete(r.sessions, s.participant.ID)
		for _, o := range r.sessions {
			notify = append(notify, o)
		}
	}
	r.mu.Unlock()
	s.closeMedia()
	if current && r.srv.cfg.ICEIssuer != nil {
		// Their relay allocations close with their call.
		r.srv.cfg.ICEIssuer.Revoke(s.participant.ID)
	}
	for _, o := range notify {
		o.send(participantLeftMsg{Type: msgParticipantLeft, ParticipantID: s.participant.ID})
	}
}

// startMedia gives s its peer connections in the sfu room.
func (r *room) startMedia(s *session) {
	mp, err := r.media.Join(s.participant.ID, s)
	if err != nil {
		s.log.Warn("media join failed", "err", err)
		s.fail(CodeInternal, "The media server could not take the call.")
		return
	}
	s.setMedia(mp)
}

func (r *room) snapshot() []*session {
	ss := make([]*session, 0, len(r.sessions))
	for _, s := range r.sessions {
		ss = append(ss, s)
	}
	return ss
}

// tick moves the call along its timeline: live at the start, warnings before
// the end, and the end itself.
func (r *room) tick(ctx context.Context, now time.Time) {
	b := r.booking
	if !now.Before(b.EndsAt) {
		r.end(ctx, EndTime)
		return
	}
	r.mu.Lock()
	var goLive []*session
	if r.state == stateWaiting && !now.Before(b.StartsAt) {
		r.state = stateLive
		goLive = r.snapshot()
	}
	var warn []int
	for i, w := range endWarnings() {
		if !r.warned[i] && r.state == stateLive && !now.Before(b.EndsAt.Add(-w.before)) {
			r.warned[i] = true
			warn = append(warn, w.minutes)
		}
	}
	all := r.snapshot()
	r.mu.Unlock()

	if goLive != nil {
		r.log.Info("call live", "participants", len(goLive))
		for _, s := range goLive {
			r.startMedia(s)
			s.send(stateMsg{Type: msgState, State: stateLive, StartsAt: b.StartsAt, EndsAt: b.EndsAt})
		}
	}
	// Only the last threshold crossed matters if several passed at once.
	if len(warn) > 0 {
		m := warn[len(warn)-1]
		r.log.Info("end warning", "minutes_left", m)
		for _, s := range all {
			s.send(warningMsg{Type: msgWarning, MinutesLeft: m, EndsAt: b.EndsAt})
		}
	}
	for _, s := range all {
		s.refreshICE(now)
	}
}

// end closes the call for everyone, with reason. When the booked time ran
// out the booking is recorded as completed.
func (r *room) end(ctx context.Context, reason string) {
	r.mu.Lock()
	if r.state == stateEnded {
		r.mu.Unlock()
		return
	}
	r.state = stateEnded
	all := r.snapshot()
	r.mu.Unlock()

	r.log.Info("call ended", "reason", reason, "participants", len(all))
	r.srv.m.CallsEnded.WithLabelValues(reason).Inc()
	for _, s := range all {
		s.end(reason)
	}
	r.media.Close()
	r.srv.removeRoom(r)
	if reason == EndTime {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.srv.bookings.RecordOutcome(ctx, r.booking.ID, booking.StatusCompleted, "call reached its end time"); err != nil {
			r.log.Warn("record outcome", "err", err)
		}
	}
}
