package signalling

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/sfu"
)

// Moderation errors.
var (
	// ErrNoCall is returned for a call that is not running on this server.
	ErrNoCall = errors.New("signalling: call not running")
	// ErrUnknownParticipant is returned for a participant not in the call.
	ErrUnknownParticipant = errors.New("signalling: no such participant in the call")
	// ErrBadAction is returned for a staff action signalling does not apply.
	ErrBadAction = errors.New("signalling: unknown staff action")
)

// Staff actions applied in the call (ending it goes through EndCall).
const (
	ActionPauseVideo  = "pause_video"
	ActionResumeVideo = "resume_video"
	ActionMute        = "mute"
	ActionUnmute      = "unmute"
)

// moderationMsg tells everyone in the call about staff moderation of one
// participant, in neutral words the client chooses.
type moderationMsg struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
	VideoPaused   bool   `json:"videoPaused"`
	Muted         bool   `json:"muted"`
}

const msgModeration = "moderation"

// mediaPolicy is what the media server may do with booking b's call:
// privilege, sight-only supervision, recording and one-way video.
func mediaPolicy(b booking.Booking) sfu.Policy {
	pol := sfu.Policy{
		Legal:     b.CallType == booking.CallLegal,
		SightOnly: b.CallType == booking.CallLegal && b.SightOnly,
		Record:    b.Recorded && b.CallType != booking.CallLegal,
		Subject:   bookingSubject(b.ID),
	}
	if b.OneWayVideo {
		for _, p := range b.Participants {
			if p.Role == booking.RolePrisoner {
				pol.OneWayVideo = append(pol.OneWayVideo, p.ID)
			}
		}
	}
	return pol
}

// roomOf returns booking id's running call.
func (s *Server) roomOf(id int64) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

// Moderate applies a staff action to a running call: pause or resume a
// participant's video, mute or unmute them. Everyone in the call is told
// (neutrally); the media server stops forwarding at once. Authorisation and
// the audit entry are the booking service's.
func (s *Server) Moderate(_ context.Context, bookingID int64, act booking.StaffAction) error {
	r := s.roomOf(bookingID)
	if r == nil {
		return fmt.Errorf("%w: booking %d", ErrNoCall, bookingID)
	}
	if _, ok := r.booking.Participant(act.ParticipantID); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownParticipant, act.ParticipantID)
	}
	r.mu.Lock()
	if r.state == stateEnded {
		r.mu.Unlock()
		return fmt.Errorf("%w: booking %d has ended", ErrNoCall, bookingID)
	}
	mod := r.moderation[act.ParticipantID]
	switch act.Action {
	case ActionPauseVideo:
		mod.VideoPaused = true
	case ActionResumeVideo:
		mod.VideoPaused = false
	case ActionMute:
		mod.Muted = true
	case ActionUnmute:
		mod.Muted = false
	default:
		r.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrBadAction, act.Action)
	}
	r.moderation[act.ParticipantID] = mod
	// The media room first, under the room lock, so that no later packet
	// escapes and no message precedes the change.
	r.media.Moderate(act.ParticipantID, mod)
	all := r.connectedLocked()
	r.mu.Unlock()
	r.log.Info("staff moderation", "participant", act.ParticipantID, "action", act.Action, "staff", act.StaffID)
	for _, o := range all {
		o.send(moderationMsg{Type: msgModeration, ParticipantID: act.ParticipantID,
			VideoPaused: mod.VideoPaused, Muted: mod.Muted})
	}
	return nil
}

// LiveCall describes booking id's running call for the monitoring wall:
// who is connected and how well, staff moderation, monitors and recording.
func (s *Server) LiveCall(id int64) (booking.LiveCall, bool) {
	r := s.roomOf(id)
	if r == nil {
		return booking.LiveCall{}, false
	}
	r.mu.Lock()
	if r.state == stateEnded {
		r.mu.Unlock()
		return booking.LiveCall{}, false
	}
	type entry struct {
		p     booking.Participant
		conn  bool
		media *sfu.Participant
		mod   sfu.Moderation
	}
	entries := make([]entry, 0, len(r.booking.Participants))
	for _, p := range r.booking.Participants {
		e := entry{p: p, mod: r.moderation[p.ID]}
		if m := r.members[p.ID]; m != nil {
			e.conn, e.media = m.sess != nil, m.media
		}
		entries = append(entries, e)
	}
	lc := booking.LiveCall{Monitors: len(r.watchers), Recording: "off"}
	r.mu.Unlock()
	for _, e := range entries {
		lp := booking.LiveParticipant{ID: e.p.ID, Role: e.p.Role, Name: e.p.Name, Connected: e.conn,
			VideoPaused: e.mod.VideoPaused, Muted: e.mod.Muted}
		if e.media != nil {
			lp.Quality = quality(e.media.Stats())
		}
		lc.Participants = append(lc.Participants, lp)
	}
	if r.media.Recording() {
		lc.Recording = "recording"
	}
	// A recording that failed, even one that never started, is an alarm.
	if err := r.media.RecordingError(); err != nil {
		lc.Recording, lc.RecordingError = "failed", err.Error()
	}
	return lc, true
}

// quality grades a participant's connection from the media server's
// figures: good, fair or poor.
func quality(st sfu.Stats) string {
	loss := max(st.Publish.Lost, st.Subscribe.Lost)
	switch {
	case loss > 0.08 || st.Subscribe.RTTMs > 800:
		return "poor"
	case loss > 0.02 || st.Subscribe.RTTMs > 300:
		return "fair"
	}
	return "good"
}

// EndPrivilege is the ended reason a monitor gets when sight-only
// supervision of a legal call is withdrawn while it watches.
const EndPrivilege = "privilege"

// SightOnlyChanged applies a change of a running legal call's "in sight, out
// of hearing" supervision: turned off, every monitor is disconnected at
// once (the media server drops their connections too); turned on, monitors
// may join from now on, for video only.
func (s *Server) SightOnlyChanged(bookingID int64, on bool) {
	r := s.roomOf(bookingID)
	if r == nil {
		return
	}
	if err := r.media.SetSightOnly(on); err != nil {
		r.log.Warn("sight-only change", "err", err)
		return
	}
	if on {
		return
	}
	r.mu.Lock()
	ws := make([]*watcher, 0, len(r.watchers))
	for _, w := range r.watchers {
		ws = append(ws, w)
	}
	r.mu.Unlock()
	for _, w := range ws {
		w.sess.end(EndPrivilege)
		r.removeWatcher(w, "sight-only supervision withdrawn")
	}
}
