package signalling

import (
	"context"
	"errors"
	"log/slog"
	"maps"
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

// room is one booked call's session state: who holds a place in it, and
// where the call is in its life. Media lives in the sfu room of the same id.
type room struct {
	srv     *Server
	booking booking.Booking
	media   *sfu.Room
	log     *slog.Logger

	mu         sync.Mutex
	state      string
	members    map[string]*member        // by participant id
	watchers   map[string]*watcher       // hidden monitors, by monitor id
	moderation map[string]sfu.Moderation // staff's pauses and mutes, by participant id
	warned     [numWarnings]bool
}

// member is one participant's place in a call. It outlives the participant's
// WebSocket: when the socket drops without leave, the place and its media
// session are held for Config.ReconnectGrace so that a new connection can
// resume them (reconnect.go).
type member struct {
	info booking.Participant

	// op serialises the changes of this member's media session (start,
	// resume, close). Lock order: op before room.mu; never take op while
	// holding room.mu.
	op sync.Mutex

	// Guarded by room.mu; changed only with op held too.
	sess      *session         // the connected socket; nil while away
	media     *sfu.Participant // nil until the call is live
	awayUntil time.Time        // while away: when the place is given up

	// Guarded by room.mu.
	returns     []time.Time       // recent joins into the held place (rate limit)
	lastRestart time.Time         // last restart request honoured
	quality     map[string]string // publisher id -> max layer asked for
}

func (m *member) peer() peerInfo {
	return peerInfo{ID: m.info.ID, Name: m.info.Name, Role: string(m.info.Role)}
}

// peerLocked is m as the others see it, with any staff moderation. The
// caller holds r.mu.
func (r *room) peerLocked(m *member) peerInfo {
	p := m.peer()
	mod := r.moderation[m.info.ID]
	p.VideoPaused, p.Muted = mod.VideoPaused, mod.Muted
	return p
}

func newRoom(s *Server, b booking.Booking, media *sfu.Room, now time.Time) *room {
	r := &room{
		srv:        s,
		booking:    b,
		media:      media,
		log:        s.log.With("room", strconv.FormatInt(b.ID, 10), "reference", b.Reference),
		state:      stateWaiting,
		members:    make(map[string]*member),
		watchers:   make(map[string]*watcher),
		moderation: make(map[string]sfu.Moderation),
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

// lockPlace returns the member holding participant p's place, or a new one
// put in the room, with its op lock and r.mu both held; existing says
// whether the place was already held. It returns nil (holding nothing) once
// the room has ended.
func (r *room) lockPlace(p booking.Participant) (m *member, existing bool) {
	for {
		r.mu.Lock()
		if r.state == stateEnded {
			r.mu.Unlock()
			return nil, false
		}
		m = r.members[p.ID]
		if m == nil {
			m = &member{info: p}
			m.op.Lock() // new: nobody else can hold it yet
			r.members[p.ID] = m
			return m, false
		}
		r.mu.Unlock()
		m.op.Lock()
		r.mu.Lock()
		if r.state != stateEnded && r.members[p.ID] == m {
			return m, true
		}
		// The place was given up meanwhile: look again.
		r.mu.Unlock()
		m.op.Unlock()
	}
}

// admit places s in the room: in a new place, or back into the place held
// for its participant. With resume (the client kept its peer connections)
// a held media session is resumed: s takes it over and its ICE restarts;
// without, the old media session is closed and a new one started, as for a
// newcomer. An older connection still open is ended with reason replaced.
// The welcome is queued under the room lock, so it is always the first
// message the client gets, before any state change or offer.
func (r *room) admit(s *session, resume bool) *AdmissionError {
	m, existing := r.lockPlace(s.participant)
	if m == nil {
		return refuse(CodeCallEnded, "This call has ended.", nil)
	}
	defer m.op.Unlock()
	cfg := r.srv.cfg
	if existing && !m.allowReturn(time.Now(), cfg.MaxReturns) {
		r.mu.Unlock()
		return refuse(CodeTooManyReconnects, "You reconnected too often. Wait a minute, then join again.", nil)
	}
	old := m.sess
	wasAway := existing && old == nil
	m.sess = s
	m.awayUntil = time.Time{}
	s.member = m
	resumed := existing && resume && m.media != nil
	mp := m.media
	var oldMedia *sfu.Participant
	if existing && !resume {
		oldMedia, m.media = m.media, nil
	}
	state := r.state
	others, notify := r.othersLocked(m)
	s.send(r.welcome(s, state, others, resumed))
	r.mu.Unlock()

	mode := "new"
	switch {
	case existing && resume:
		mode = "resume"
		r.srv.m.Resumes.Inc()
	case existing:
		mode = "rejoin"
	}
	s.log.Info("participant admitted", "state", state, "mode", mode, "resumed_media", resumed,
		"was_away", wasAway, "replacing", old != nil)
	if old != nil {
		old.end(EndReplaced)
	}
	if oldMedia != nil {
		oldMedia.Close()
	}
	if resumed {
		mp.SetSignaller(s)
		mp.RestartICE()
	} else if state == stateLive {
		r.startMedia(m)
	}

	id := s.participant.ID
	for _, o := range notify {
		switch {
		case !existing:
			o.send(participantJoinedMsg{Type: msgParticipantJoined, Participant: m.peer()})
		case resume:
			if wasAway {
				o.send(participantStateMsg{Type: msgParticipantState, ParticipantID: id, State: peerConnected})
			}
		default:
			// A new connection took the place over with new media: to the
			// others it is the participant leaving and joining again.
			o.send(participantLeftMsg{Type: msgParticipantLeft, ParticipantID: id})
			o.send(participantJoinedMsg{Type: msgParticipantJoined, Participant: m.peer()})
		}
	}
	return nil
}

// othersLocked lists everyone but m with a place in the room, and the
// connected sessions among them. The caller holds r.mu.
func (r *room) othersLocked(m *member) ([]peerInfo, []*session) {
	others := make([]peerInfo, 0, len(r.members))
	var notify []*session
	for _, o := range r.members {
		if o == m {
			continue
		}
		p := r.peerLocked(o)
		if o.sess == nil {
			p.State = peerReconnecting
		} else {
			notify = append(notify, o.sess)
		}
		others = append(others, p)
	}
	// Monitors follow who comes and goes; nobody is told about them.
	return others, append(notify, r.watchersLocked()...)
}

func (r *room) welcome(s *session, state string, others []peerInfo, resumed bool) welcomeMsg {
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
			Recorded:  b.Recorded,
		},
		Participants: others,
		ICEServers:   servers,
		ICEExpiresAt: expires,
		ServerTime:   r.srv.clock.Now().UTC(),
		Resumed:      resumed,
	}
}

// has reports whether participant pid holds a place in the room (connected,
// or away within the reconnect grace).
func (r *room) has(pid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.members[pid]
	if !ok {
		_, ok = r.watchers[pid]
	}
	return ok
}

// mediaFor returns the media session of s's participant while s is their
// current connection, else nil.
func (r *room) mediaFor(s *session) *sfu.Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := s.member
	if m == nil || m.sess != s || r.members[m.info.ID] != m {
		return nil
	}
	return m.media
}

// leave ends s's participation at its own request: no grace.
func (r *room) leave(s *session) {
	s.end(EndLeft)
	m := s.member
	m.op.Lock()
	defer m.op.Unlock()
	if r.removePlace(m, func() bool { return m.sess == s }) {
		s.log.Info("participant left")
	}
}

// removePlace gives m's place up if it is still in the room and cond (run
// under r.mu; nil: always) holds: the others are told the participant left,
// the media session closes and relay credentials are revoked. The caller
// holds m.op. It reports whether the place was removed.
func (r *room) removePlace(m *member, cond func() bool) bool {
	r.mu.Lock()
	if r.members[m.info.ID] != m || (cond != nil && !cond()) {
		r.mu.Unlock()
		return false
	}
	delete(r.members, m.info.ID)
	mp := m.media
	m.media = nil
	m.sess = nil
	_, notify := r.othersLocked(m)
	r.mu.Unlock()
	if mp != nil {
		mp.Close()
	}
	if r.srv.cfg.ICEIssuer != nil {
		// Their relay allocations close with their place in the call.
		r.srv.cfg.ICEIssuer.Revoke(m.info.ID)
	}
	for _, o := range notify {
		o.send(participantLeftMsg{Type: msgParticipantLeft, ParticipantID: m.info.ID})
	}
	return true
}

// startMedia gives m's connected session its peer connections in the sfu
// room, if the call is live and m has none. The caller holds m.op.
func (r *room) startMedia(m *member) {
	r.mu.Lock()
	s := m.sess
	ok := r.state == stateLive && r.members[m.info.ID] == m && m.media == nil && s != nil
	r.mu.Unlock()
	if !ok {
		return
	}
	mp, err := r.media.Join(m.info.ID, s)
	if err != nil {
		if errors.Is(err, sfu.ErrClosed) {
			return // the call is ending
		}
		s.log.Warn("media join failed", "err", err)
		s.fail(CodeInternal, "The media server could not take the call.")
		return
	}
	r.mu.Lock()
	if r.state != stateLive || r.members[m.info.ID] != m {
		r.mu.Unlock()
		mp.Close()
		return
	}
	m.media = mp
	prefs := maps.Clone(m.quality)
	r.mu.Unlock()
	for pid, layer := range prefs {
		setMaxLayer(s.log, mp, pid, layer)
	}
}

// connectedLocked returns the connected sessions. The caller holds r.mu.
func (r *room) connectedLocked() []*session {
	ss := make([]*session, 0, len(r.members)+len(r.watchers))
	for _, m := range r.members {
		if m.sess != nil {
			ss = append(ss, m.sess)
		}
	}
	return append(ss, r.watchersLocked()...)
}

// tick moves the call along its timeline: live at the start, warnings before
// the end, places given up when their reconnect grace runs out, and the end
// itself.
func (r *room) tick(ctx context.Context, now time.Time) {
	b := r.booking
	if !now.Before(b.EndsAt) {
		r.end(ctx, EndTime)
		return
	}
	r.mu.Lock()
	var goLive []*member
	var watch []*watcher
	if r.state == stateWaiting && !now.Before(b.StartsAt) {
		r.state = stateLive
		goLive = slicesOf(r.members)
		for _, w := range r.watchers {
			watch = append(watch, w)
		}
	}
	var warn []int
	for i, w := range endWarnings() {
		if !r.warned[i] && r.state == stateLive && !now.Before(b.EndsAt.Add(-w.before)) {
			r.warned[i] = true
			warn = append(warn, w.minutes)
		}
	}
	all := r.connectedLocked()
	var expired []*member
	for _, m := range r.members {
		if m.graceOver(now) {
			expired = append(expired, m)
		}
	}
	r.mu.Unlock()

	if goLive != nil {
		r.log.Info("call live", "participants", len(goLive))
		for _, m := range goLive {
			m.op.Lock()
			r.startMedia(m)
			m.op.Unlock()
		}
		for _, w := range watch {
			r.startWatching(w)
		}
		for _, s := range all {
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
	for _, m := range expired {
		r.expire(m, now)
	}
}

// slicesOf returns the members of a map in no particular order.
func slicesOf(ms map[string]*member) []*member {
	out := make([]*member, 0, len(ms))
	for _, m := range ms {
		out = append(out, m)
	}
	return out
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
	all := r.connectedLocked()
	gone := slicesOf(r.members)
	clear(r.members)
	watchers := make([]*watcher, 0, len(r.watchers))
	for _, w := range r.watchers {
		watchers = append(watchers, w)
	}
	r.mu.Unlock()

	r.log.Info("call ended", "reason", reason, "participants", len(gone), "connected", len(all))
	r.srv.m.CallsEnded.WithLabelValues(reason).Inc()
	if reason == EndTime {
		// Recorded before anyone is told, so that a client which saw the
		// end finds the booking completed.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.srv.bookings.RecordOutcome(ctx, r.booking.ID, booking.StatusCompleted, "call reached its end time"); err != nil {
			r.log.Warn("record outcome", "err", err)
		}
	}
	for _, s := range all {
		s.end(reason)
	}
	for _, w := range watchers {
		r.removeWatcher(w, "call ended: "+reason)
	}
	r.media.Close()
	if r.srv.cfg.ICEIssuer != nil {
		for _, m := range gone {
			r.srv.cfg.ICEIssuer.Revoke(m.info.ID)
		}
	}
	r.srv.removeRoom(r)
}
