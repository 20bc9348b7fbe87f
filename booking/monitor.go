package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

// Live monitoring: security staff of a prison see its monitorable calls
// that are open now, watch them as hidden subscribers (the media server
// admits a monitor with a token from IssueMonitorToken, after AdmitMonitor)
// and act on them with a reason. Legal privilege: a legal call is not
// monitorable unless it has sight-only supervision, and then video only;
// every attempt at one that is not is refused and audited.

// MonitorRole is the role of a monitor's join token.
const MonitorRole = "monitor"

// MonitorTokenTTL is how long a monitor's join token lasts: enough to
// connect. The monitor stays as long as the call, or until it leaves.
const MonitorTokenTTL = 2 * time.Minute

// MonitorWSURL is the WebSocket path a monitor joins with its token.
const MonitorWSURL = "/ws"

// Staff actions on a live call (StaffAction.Action).
const (
	ActionPauseVideo  = "pause_video"
	ActionResumeVideo = "resume_video"
	ActionMute        = "mute"
	ActionUnmute      = "unmute"
	ActionEnd         = "end"
)

// Bounds of a staff reason (a staff action, sight-only supervision, a
// recording's hold), in characters once trimmed.
const (
	minStaffReasonLen = 3
	maxStaffReasonLen = MaxReasonLen
)

// LiveCalls is what the booking service needs of the calls in progress:
// signalling implements it. Set it with SetLiveCalls.
type LiveCalls interface {
	// LiveCall returns the live state of a booking's call, and false when
	// nobody has joined it (or it has ended).
	LiveCall(bookingID int64) (LiveCall, bool)
	// Moderate applies a staff action (pause_video, resume_video, mute,
	// unmute) to a participant of a live call. An error means it was not
	// applied (the call or the participant is not there).
	Moderate(ctx context.Context, bookingID int64, act StaffAction) error
	// SightOnlyChanged applies a change of a legal call's sight-only
	// supervision to the call if it is running: turned off, every monitor
	// is disconnected.
	SightOnlyChanged(bookingID int64, on bool)
}

// LiveCall is the live state of one call, as the monitoring wall shows it.
type LiveCall struct {
	// Participants are the call's participants (never its monitors).
	Participants []LiveParticipant `json:"participants"`
	// Monitors counts the hidden monitors watching.
	Monitors int `json:"monitors"`
	// Recording is "off", "recording" or "failed"; RecordingError says why
	// it failed.
	Recording      string `json:"recording"`
	RecordingError string `json:"recordingError"`
}

// Recording states of a live call (LiveCall.Recording).
const (
	LiveRecordingOff    = "off"
	LiveRecordingOn     = "recording"
	LiveRecordingFailed = "failed"
)

// LiveParticipant is one participant of a call as the wall shows it.
// Quality is "good", "fair", "poor" or "" (not known).
type LiveParticipant struct {
	ID          string `json:"id"`
	Role        Role   `json:"role"`
	Name        string `json:"name"`
	Connected   bool   `json:"connected"`
	Quality     string `json:"quality"`
	VideoPaused bool   `json:"videoPaused"`
	Muted       bool   `json:"muted"`
}

// StaffAction is an action a security officer takes on a live call, with
// the reason they must give: the body of POST
// /api/v1/monitor/calls/{id}/actions. ParticipantID names the participant
// paused or muted ("" to end the call). StaffID is set by the service.
type StaffAction struct {
	Action        string `json:"action"`
	ParticipantID string `json:"participantId"`
	Reason        string `json:"reason"`
	StaffID       int64  `json:"-"`
}

// MonitorGrant is what AdmitMonitor lets a monitor do.
type MonitorGrant struct {
	StaffID   int64
	StaffName string
	// VideoOnly: the call is a legal call under sight-only supervision;
	// the monitor must never receive its audio.
	VideoOnly bool
}

// MonitorToken is the answer of POST /api/v1/monitor/calls/{id}/watch:
// a join token for the monitor, the WebSocket to join with it, and whether
// the monitor gets video only.
type MonitorToken struct {
	Token     string `json:"token"`
	WSURL     string `json:"wsUrl"`
	VideoOnly bool   `json:"videoOnly"`
}

// MonitorCall is one call on the monitoring wall.
type MonitorCall struct {
	BookingID      int64             `json:"bookingId"`
	Reference      string            `json:"reference"`
	CallType       CallType          `json:"callType"`
	StartsAt       time.Time         `json:"startsAt"`
	EndsAt         time.Time         `json:"endsAt"`
	SecondsLeft    int64             `json:"secondsLeft"`
	Prisoner       MonitorPrisoner   `json:"prisoner"`
	Participants   []LiveParticipant `json:"participants"`
	Recording      string            `json:"recording"`
	RecordingError string            `json:"recordingError"`
	SightOnly      bool              `json:"sightOnly"`
	OneWayVideo    bool              `json:"oneWayVideo"`
}

// MonitorPrisoner names a call's prisoner on the wall.
type MonitorPrisoner struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// SetLiveCalls makes s read and moderate live calls through l. Call it while
// wiring, before serving requests.
func (s *Service) SetLiveCalls(l LiveCalls) { s.live = l }

// open reports whether b's room is open at now: active, from OpensAt
// until EndsAt.
func (b *Booking) open(now time.Time) bool {
	return b.Status.Active() && !now.Before(b.OpensAt()) && now.Before(b.EndsAt)
}

// checkStaffReason trims a staff reason and checks it: 3 to 500
// characters of text without control characters.
func checkStaffReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	n := utf8.RuneCountInString(reason)
	if !utf8.ValidString(reason) || n < minStaffReasonLen || n > maxStaffReasonLen {
		return "", refuse(ErrValidation, "reason must be %d to %d characters", minStaffReasonLen, maxStaffReasonLen)
	}
	if strings.ContainsFunc(reason, unicode.IsControl) {
		return "", refuse(ErrValidation, "reason must not contain control characters")
	}
	return reason, nil
}

// MonitorCalls lists the calls of actor's prison that security staff may
// watch now: active, room open, monitorable (so never a legal call without
// sight-only supervision), with their live state when signalling knows it.
// Only security officers may; others get ErrForbidden.
func (s *Service) MonitorCalls(ctx context.Context, actor Staff) ([]MonitorCall, error) {
	if actor.Role != StaffSecurity || actor.PrisonID == 0 {
		return nil, refuse(ErrForbidden, "only security officers of a prison may monitor its calls")
	}
	now := s.clock.Now()
	list, err := s.store.OpenBookings(ctx, actor.PrisonID, now)
	if err != nil {
		return nil, fmt.Errorf("monitor calls: %w", err)
	}
	out := []MonitorCall{}
	for _, b := range list {
		if !b.Monitorable() || !b.open(now) {
			continue
		}
		p, err := s.store.Prisoner(ctx, b.PrisonerID)
		if err != nil {
			return nil, fmt.Errorf("monitor calls: %w", err)
		}
		out = append(out, s.monitorCall(b, p, now))
	}
	return out, nil
}

// monitorCall presents b on the wall: its participants in booking order,
// with their live state where the call is live.
func (s *Service) monitorCall(b Booking, p Prisoner, now time.Time) MonitorCall {
	c := MonitorCall{BookingID: b.ID, Reference: b.Reference, CallType: b.CallType, StartsAt: b.StartsAt,
		EndsAt: b.EndsAt, SecondsLeft: int64(b.EndsAt.Sub(now) / time.Second),
		Prisoner: MonitorPrisoner{Name: p.Name, Number: p.Number}, Recording: LiveRecordingOff,
		SightOnly: b.SightOnly, OneWayVideo: b.OneWayVideo, Participants: []LiveParticipant{}}
	var live LiveCall
	if s.live != nil {
		if l, ok := s.live.LiveCall(b.ID); ok {
			live = l
			c.Recording, c.RecordingError = l.Recording, l.RecordingError
			if c.Recording == "" {
				c.Recording = LiveRecordingOff
			}
		}
	}
	for _, bp := range b.Participants {
		lp := LiveParticipant{ID: bp.ID, Role: bp.Role, Name: bp.Name}
		for _, l := range live.Participants {
			if l.ID == bp.ID {
				lp.Connected, lp.Quality, lp.VideoPaused, lp.Muted = l.Connected, l.Quality, l.VideoPaused, l.Muted
			}
		}
		c.Participants = append(c.Participants, lp)
	}
	return c
}

// monitorTarget reads booking id for actor to watch or act on (via says
// which: "watch", "actions"). A call that is not monitorable (a legal call
// without sight-only supervision) is refused with ErrLegalPrivilege, and
// the attempt audited as monitor.refused, whoever made it; then a booking
// actor cannot see wraps ErrNotFound, a caller who is not a security
// officer gets ErrForbidden and a call not open now ErrCallNotOpen.
func (s *Service) monitorTarget(ctx context.Context, actor Staff, id int64, via string) (Booking, error) {
	b, err := s.store.Booking(ctx, id)
	if err != nil {
		return Booking{}, fmt.Errorf("booking %d: %w", id, err)
	}
	if !b.Monitorable() {
		s.auditPrivilegeRefusal(ctx, staffActor(actor), "monitor.refused", b, via)
		if !actor.canSeeBooking(b) {
			return Booking{}, notFoundf("booking %d", id)
		}
		return Booking{}, refuse(ErrLegalPrivilege, "a legal call is privileged: it admits no monitor")
	}
	if !actor.canSeeBooking(b) {
		return Booking{}, notFoundf("booking %d", id)
	}
	if actor.Role != StaffSecurity {
		return Booking{}, refuse(ErrForbidden, "only security officers may monitor calls; a %s may not", actor.Role)
	}
	if !b.open(s.clock.Now()) {
		return Booking{}, refuse(ErrCallNotOpen, "the call is not in progress: its room opens %s before the start and closes at its end",
			RoomOpensBefore)
	}
	return b, nil
}

// auditPrivilegeRefusal writes an audit entry for a refused attempt on a
// privileged call. The attempt is refused whatever happens here; a failure
// to write the entry is logged as an error.
func (s *Service) auditPrivilegeRefusal(ctx context.Context, actor, action string, b Booking, via string) {
	err := s.Audit(ctx, actor, action, bookingSubject(b.ID), map[string]any{
		"bookingId": b.ID, "reference": b.Reference, "callType": b.CallType, "sightOnly": b.SightOnly, "via": via,
	})
	level := slog.LevelWarn
	if err != nil {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "privileged call: access refused", slog.Int64("booking_id", b.ID),
		slog.String("actor", actor), slog.String("action", action), slog.String("via", via),
		slog.Bool("audited", err == nil))
}

// IssueMonitorToken lets security officer actor watch booking id: it
// returns a join token (role monitor, participant "monitor:<staff
// id>:<random>", valid MonitorTokenTTL) and audits it as monitor.token.
// Refusals are monitorTarget's.
func (s *Service) IssueMonitorToken(ctx context.Context, actor Staff, id int64) (MonitorToken, error) {
	b, err := s.monitorTarget(ctx, actor, id, "watch")
	if err != nil {
		return MonitorToken{}, err
	}
	now := s.clock.Now()
	pid := fmt.Sprintf("%s:%d:%s", MonitorRole, actor.ID, newParticipantID())
	tok, err := s.signer.Issue(auth.JoinClaims{BookingID: b.ID, ParticipantID: pid, Role: MonitorRole,
		NotBefore: now, ExpiresAt: now.Add(MonitorTokenTTL)})
	if err != nil {
		return MonitorToken{}, fmt.Errorf("monitor token for booking %d: %w", id, err)
	}
	videoOnly := b.CallType == CallLegal
	if err := s.Audit(ctx, staffActor(actor), "monitor.token", bookingSubject(id), map[string]any{
		"bookingId": id, "reference": b.Reference, "participantId": pid, "videoOnly": videoOnly,
	}); err != nil {
		return MonitorToken{}, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "monitor token issued", slog.Int64("booking_id", id),
		slog.Int64("staff_id", actor.ID))
	return MonitorToken{Token: tok, WSURL: MonitorWSURL, VideoOnly: videoOnly}, nil
}

// monitorStaffID reads the staff id out of a monitor's participant id
// "monitor:<staff id>:<random>".
func monitorStaffID(pid string) (int64, bool) {
	rest, ok := strings.CutPrefix(pid, MonitorRole+":")
	if !ok {
		return 0, false
	}
	idText, random, ok := strings.Cut(rest, ":")
	if !ok || random == "" || !allDigits(idText) || len(idText) > 15 || idText[0] == '0' {
		return 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	return id, err == nil
}

// AdmitMonitor checks, when a monitor joins a call with its token's claims
// (already verified by the caller), everything IssueMonitorToken checked,
// as it is now: the call is monitorable, else an error wrapping
// ErrLegalPrivilege and an audit entry monitor.refused (whoever the token
// names); the staff account is enabled, a security officer's, at the
// booking's prison, else ErrForbidden; the call is open, else
// ErrCallNotOpen. A missing booking wraps ErrNotFound.
func (s *Service) AdmitMonitor(ctx context.Context, claims auth.JoinClaims) (MonitorGrant, error) {
	staffID, ok := monitorStaffID(claims.ParticipantID)
	if claims.Role != MonitorRole || !ok {
		return MonitorGrant{}, refuse(ErrForbidden, "not a monitor's token")
	}
	b, err := s.store.Booking(ctx, claims.BookingID)
	if err != nil {
		return MonitorGrant{}, fmt.Errorf("admit monitor: booking %d: %w", claims.BookingID, err)
	}
	actor := fmt.Sprintf("staff:%d", staffID)
	if !b.Monitorable() {
		s.auditPrivilegeRefusal(ctx, actor, "monitor.refused", b, "join")
		return MonitorGrant{}, fmt.Errorf("admit monitor to booking %d: %w", b.ID,
			refuse(ErrLegalPrivilege, "a legal call is privileged: it admits no monitor"))
	}
	st, err := s.store.StaffByID(ctx, staffID)
	if errors.Is(err, ErrNotFound) {
		return MonitorGrant{}, refuse(ErrForbidden, "the monitor's staff account does not exist")
	} else if err != nil {
		return MonitorGrant{}, fmt.Errorf("admit monitor: %w", err)
	}
	if st.Disabled || st.Role != StaffSecurity || st.PrisonID != b.PrisonID {
		return MonitorGrant{}, refuse(ErrForbidden, "staff %d may not monitor the calls of prison %d", st.ID, b.PrisonID)
	}
	if !b.open(s.clock.Now()) {
		return MonitorGrant{}, refuse(ErrCallNotOpen, "booking %d is not in progress", b.ID)
	}
	return MonitorGrant{StaffID: st.ID, StaffName: st.Name, VideoOnly: b.CallType == CallLegal}, nil
}

// Bounds of an audit entry's actor, action and subject, in bytes.
const (
	maxAuditActorLen   = 64
	maxAuditActionLen  = 64
	maxAuditSubjectLen = 128
)

// Audit appends one entry to the hash-chained audit log, for other parts of
// Gatehouse (signalling and the media server: monitor.join, monitor.leave,
// privilege.refused, ...). actor, action and subject must be 1 to 64, 64
// and 128 bytes of printable text; action is lower-case words joined by
// dots, e.g. "monitor.join". detail must encode as JSON.
func (s *Service) Audit(ctx context.Context, actor, action, subject string, detail any) error {
	for _, f := range []struct {
		name, val string
		max       int
	}{{"actor", actor, maxAuditActorLen}, {"action", action, maxAuditActionLen}, {"subject", subject, maxAuditSubjectLen}} {
		if f.val == "" || len(f.val) > f.max || !utf8.ValidString(f.val) ||
			strings.ContainsFunc(f.val, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return refuse(ErrValidation, "audit %s must be 1 to %d bytes of text without spaces", f.name, f.max)
		}
	}
	if !auditActionName(action) {
		return refuse(ErrValidation, "audit action %q must be lower-case words joined by dots", action)
	}
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error {
		return appendAudit(ctx, q, now, actor, action, subject, detail)
	})
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	return nil
}

// auditActionName reports whether a is lower-case words (a-z and _) joined
// by single dots.
func auditActionName(a string) bool {
	for w := range strings.SplitSeq(a, ".") {
		if w == "" {
			return false
		}
		for i := 0; i < len(w); i++ {
			if (w[i] < 'a' || w[i] > 'z') && w[i] != '_' {
				return false
			}
		}
	}
	return true
}

// StaffAction applies a security officer's action to booking id's call,
// with a reason: pause_video, resume_video, mute and unmute a participant of
// the live call (through LiveCalls.Moderate), or end the call (the booking's
// outcome becomes terminated with the reason, and the call ender ends it,
// if live, with reason "staff"). Each is recorded for the playback timeline
// and audited as staff.<action> before it takes effect. Refusals:
// monitorTarget's, ErrValidation (action, participant or reason), and
// ErrCallNotLive when the participant is not connected to the live call,
// or Moderate did not apply the action (audited as staff.action_failed).
func (s *Service) StaffAction(ctx context.Context, actor Staff, id int64, act StaffAction) error {
	switch act.Action {
	case ActionPauseVideo, ActionResumeVideo, ActionMute, ActionUnmute:
		if act.ParticipantID == "" || len(act.ParticipantID) > 64 {
			return refuse(ErrValidation, "participantId is required to %s", act.Action)
		}
	case ActionEnd:
		if act.ParticipantID != "" {
			return refuse(ErrValidation, "end ends the whole call: send no participantId")
		}
	default:
		return refuse(ErrValidation, "action must be pause_video, resume_video, mute, unmute or end")
	}
	reason, err := checkStaffReason(act.Reason)
	if err != nil {
		return err
	}
	act.Reason, act.StaffID = reason, actor.ID
	b, err := s.monitorTarget(ctx, actor, id, "actions")
	if err != nil {
		return err
	}
	if act.Action != ActionEnd {
		if _, ok := b.Participant(act.ParticipantID); !ok {
			return refuse(ErrValidation, "participantId %q is not a participant of this call", act.ParticipantID)
		}
		if !s.connected(id, act.ParticipantID) {
			return refuse(ErrCallNotLive, "that participant is not connected to the call now")
		}
	}
	now := s.clock.Now()
	err = s.store.InTx(ctx, func(q Queries) error {
		detail := map[string]any{"bookingId": id, "reference": b.Reference, "reason": reason}
		if act.ParticipantID != "" {
			detail["participantId"] = act.ParticipantID
		}
		if act.Action == ActionEnd {
			cur, err := q.Booking(ctx, id)
			if err != nil {
				return err
			}
			if err := q.SetBookingStatus(ctx, id, StatusTerminated, reason); err != nil {
				return err
			}
			detail["before"] = outcomeState{cur.Status, cur.StatusReason, cur.RebookOffered}
			detail["after"] = outcomeState{StatusTerminated, reason, cur.RebookOffered}
		}
		if _, err := q.AddStaffAction(ctx, StaffActionRecord{BookingID: id, At: now, StaffID: actor.ID,
			Action: act.Action, ParticipantID: act.ParticipantID, Reason: reason}); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(actor), "staff."+act.Action, bookingSubject(id), detail)
	})
	if err != nil {
		return wrapUnlessRefused(err, "staff "+act.Action)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "staff action on a call", slog.Int64("booking_id", id),
		slog.Int64("staff_id", actor.ID), slog.String("action", act.Action))
	if act.Action == ActionEnd {
		if s.ender != nil && s.ender.EndCall(ctx, id, "staff") {
			s.log.LogAttrs(ctx, slog.LevelInfo, "live call ended by staff", slog.Int64("booking_id", id))
		}
		return nil
	}
	if err := s.live.Moderate(ctx, id, act); err != nil {
		// Audited as taken but not applied (the participant or the call
		// went meanwhile): the log says so too.
		if aerr := s.Audit(ctx, staffActor(actor), "staff.action_failed", bookingSubject(id), map[string]any{
			"bookingId": id, "action": act.Action, "participantId": act.ParticipantID, "error": err.Error(),
		}); aerr != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "audit failed staff action", slog.String("error", aerr.Error()))
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "staff action not applied", slog.Int64("booking_id", id),
			slog.String("action", act.Action), slog.String("error", err.Error()))
		return refuse(ErrCallNotLive, "the %s was not applied: the participant or the call is no longer there", act.Action)
	}
	return nil
}

// connected reports whether participant pid is connected to booking id's
// live call.
func (s *Service) connected(id int64, pid string) bool {
	if s.live == nil {
		return false
	}
	l, ok := s.live.LiveCall(id)
	if !ok {
		return false
	}
	for _, p := range l.Participants {
		if p.ID == pid && p.Connected {
			return true
		}
	}
	return false
}

// SightOnlyRequest is the body of PUT /api/v1/bookings/{id}/sight-only.
type SightOnlyRequest struct {
	Enabled *bool  `json:"enabled"`
	Reason  string `json:"reason"`
}

// SetSightOnly turns a legal call's "in sight, out of hearing" supervision
// on or off, with a reason, for a security officer or an admin who can see
// the booking, while the booking is active; it is audited with the state
// before and after. Refusals: ErrValidation, ErrForbidden,
// ErrCallTypeNotAllowed (not a legal call), ErrNotActive; a booking actor
// cannot see wraps ErrNotFound. The running call follows (LiveCalls.
// SightOnlyChanged): turned off, its monitors are disconnected at once.
func (s *Service) SetSightOnly(ctx context.Context, actor Staff, id int64, req SightOnlyRequest) (Booking, error) {
	if req.Enabled == nil {
		return Booking{}, refuse(ErrValidation, "enabled (true or false) is required")
	}
	reason, err := checkStaffReason(req.Reason)
	if err != nil {
		return Booking{}, err
	}
	on := *req.Enabled
	now := s.clock.Now()
	var b Booking
	err = s.store.InTx(ctx, func(q Queries) error {
		cur, err := q.Booking(ctx, id)
		if err != nil {
			return err
		}
		if !actor.canSeeBooking(cur) {
			return notFoundf("booking %d", id)
		}
		if actor.Role != StaffSecurity && actor.Role != StaffAdmin {
			return refuse(ErrForbidden, "only security officers and admins may set sight-only supervision")
		}
		if cur.CallType != CallLegal {
			return refuse(ErrCallTypeNotAllowed, "sight-only supervision is for legal calls only; this is a %s call", cur.CallType)
		}
		if !cur.Status.Active() {
			return refuse(ErrNotActive, "booking %d is %s, not active", id, cur.Status)
		}
		stored := ""
		if on {
			stored = reason
		}
		if err := q.SetSightOnly(ctx, id, on, stored); err != nil {
			return err
		}
		type state struct {
			SightOnly       bool   `json:"sightOnly"`
			SightOnlyReason string `json:"sightOnlyReason"`
		}
		if err := appendAudit(ctx, q, now, staffActor(actor), "booking.sight_only", bookingSubject(id), map[string]any{
			"reference": cur.Reference, "reason": reason,
			"before": state{cur.SightOnly, cur.SightOnlyReason}, "after": state{on, stored},
		}); err != nil {
			return err
		}
		b, err = q.Booking(ctx, id)
		return err
	})
	if err != nil {
		return Booking{}, wrapUnlessRefused(err, "set sight-only supervision")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "sight-only supervision set", slog.Int64("booking_id", id),
		slog.Int64("staff_id", actor.ID), slog.Bool("enabled", on))
	if s.live != nil {
		// A running call follows at once: withdrawn, its monitors go.
		s.live.SightOnlyChanged(id, on)
	}
	return b, nil
}
