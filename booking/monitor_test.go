package booking

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// TestBookingMonitoringFields: Recorded follows the call type and the
// prison's recordProbationCalls as they are now, OneWayVideo the
// prisoner's policy, Monitorable the call type and sight-only
// supervision; on both stores (the settings are read in each dialect's
// SQL).
func TestBookingMonitoringFields(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := k.newEnv(t, defaultNow())
			admin := e.staff("admin")
			social, legal, probation := e.liveCall(CallSocial), e.liveCall(CallLegal), e.liveCall(CallProbation)
			read := func(id int64) Booking {
				t.Helper()
				b, err := e.svc.Booking(e.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			for _, c := range []struct {
				b                     Booking
				recorded, monitorable bool
			}{{social, true, true}, {legal, false, false}, {probation, false, true}} {
				b := read(c.b.ID)
				if b.Recorded != c.recorded || b.Monitorable() != c.monitorable || b.OneWayVideo || b.SightOnly {
					t.Errorf("%s call: recorded %v monitorable %v oneWay %v sightOnly %v", b.CallType, b.Recorded,
						b.Monitorable(), b.OneWayVideo, b.SightOnly)
				}
			}
			set := Defaults()
			set.RecordProbationCalls = true
			if _, err := e.svc.SetPrisonSettings(e.ctx, admin, e.demo.PrisonID, set); err != nil {
				t.Fatal(err)
			}
			if !read(probation.ID).Recorded || read(legal.ID).Recorded || !read(social.ID).Recorded {
				t.Error("recordProbationCalls on: the probation call should be recorded, and only it besides social calls")
			}
			// The setting of another prison does not count.
			other, _ := e.otherPrison()
			otherCall := e.call(other, CallProbation, e.clock.Now(), 30)
			if read(otherCall.ID).Recorded {
				t.Error("a probation call of a prison that does not record them is recorded")
			}

			p, err := e.store.Prisoner(e.ctx, social.PrisonerID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.updatePrisoner(e.ctx, admin, p.ID, prisonerUpdate{Name: p.Name, Location: ptr(""),
				OneWayVideo: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			if !read(social.ID).OneWayVideo || read(legal.ID).OneWayVideo {
				t.Error("one-way video should follow the prisoner")
			}
			list, err := e.store.OpenBookings(e.ctx, e.demo.PrisonID, e.clock.Now())
			if err != nil || len(list) != 3 {
				t.Fatalf("open bookings %v %v", list, err)
			}
			for _, b := range list {
				if b.ID == social.ID && (!b.OneWayVideo || !b.Recorded) {
					t.Errorf("listed social call: %+v", b)
				}
			}
			// The audit log keeps the policy change.
			entries := e.auditSince(0)
			last := entries[len(entries)-1]
			before, after := decodeChange(t, last)
			if last.Action != "prisoner.update" || before["oneWayVideo"] != false || after["oneWayVideo"] != true {
				t.Errorf("audit %s %s", last.Action, last.Detail)
			}
		})
	}
}

// TestMonitorCallsList: the wall lists the prison's open, active,
// monitorable calls only, never a legal call without sight-only
// supervision, with the live state merged in; only security officers see
// it.
func TestMonitorCallsList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	now := e.clock.Now()
	social := e.liveCall(CallSocial)
	legal := e.liveCall(CallLegal)
	sightOnly := e.liveCall(CallLegal)
	if err := e.store.SetSightOnly(e.ctx, sightOnly.ID, true, "supervision ordered"); err != nil {
		t.Fatal(err)
	}
	waiting := e.call(e.demo.PrisonID, CallProbation, now.Add(8*time.Minute), 30) // room open, not started
	later := e.call(e.demo.PrisonID, CallSocial, now.Add(20*time.Minute), 30)     // room not open yet
	over := e.call(e.demo.PrisonID, CallSocial, now.Add(-40*time.Minute), 30)     // ended
	cancelled := e.liveCall(CallSocial)
	if err := e.store.SetBookingStatus(e.ctx, cancelled.ID, StatusCancelled, "ill"); err != nil {
		t.Fatal(err)
	}
	other, otherSecurity := e.otherPrison()
	elsewhere := e.call(other, CallSocial, now.Add(-5*time.Minute), 30)
	e.live.set(social.ID, LiveCall{Recording: LiveRecordingFailed, RecordingError: "disk full", Monitors: 1,
		Participants: []LiveParticipant{{ID: social.Participants[1].ID, Connected: true, Quality: "poor", Muted: true}}})

	var got monitorCallsResponse
	e.as(e.bearerOf("security"), http.MethodGet, "/api/v1/monitor/calls", nil).decode(t, http.StatusOK, &got)
	var ids []int64
	for _, c := range got.Calls {
		ids = append(ids, c.BookingID)
	}
	if want := []int64{social.ID, sightOnly.ID, waiting.ID}; !slices.Equal(ids, want) {
		t.Fatalf("listed %v, want %v (not legal %d, later %d, over %d, cancelled %d, elsewhere %d)", ids, want,
			legal.ID, later.ID, over.ID, cancelled.ID, elsewhere.ID)
	}
	c := got.Calls[0]
	p, _ := e.store.Prisoner(e.ctx, social.PrisonerID)
	if c.Reference != social.Reference || c.CallType != CallSocial || c.SecondsLeft < 24*60 || c.SecondsLeft > 25*60 ||
		c.Prisoner != (MonitorPrisoner{Name: p.Name, Number: p.Number}) || c.Recording != "failed" ||
		c.RecordingError != "disk full" || c.SightOnly || len(c.Participants) != 2 {
		t.Errorf("social call on the wall: %+v", c)
	}
	if pp := c.Participants[0]; pp.ID != social.Participants[0].ID || pp.Role != RolePrisoner || pp.Connected {
		t.Errorf("prisoner not connected: %+v", pp)
	}
	if pp := c.Participants[1]; !pp.Connected || pp.Quality != "poor" || !pp.Muted || pp.Name != social.Participants[1].Name {
		t.Errorf("visitor connected: %+v", pp)
	}
	if w := got.Calls[2]; w.Recording != "off" || w.Participants[0].Connected || !got.Calls[1].SightOnly {
		t.Errorf("calls not live: %+v %+v", w, got.Calls[1])
	}
	// The other prison's officer sees only theirs.
	tok, _ := e.session(otherSecurity)
	got = monitorCallsResponse{}
	e.as(tok, http.MethodGet, "/api/v1/monitor/calls", nil).decode(t, http.StatusOK, &got)
	if len(got.Calls) != 1 || got.Calls[0].BookingID != elsewhere.ID {
		t.Errorf("other prison's wall: %+v", got.Calls)
	}
	for _, who := range []string{"clerk", "admin", "probation"} {
		e.as(e.bearerOf(who), http.MethodGet, "/api/v1/monitor/calls", nil).wantProblem(t, http.StatusForbidden, "forbidden")
	}
}

// TestWatchCall: a security officer gets a two-minute monitor token for a
// monitorable call in progress, audited; a legal call is refused with
// legal_privilege and the attempt audited, whoever makes it; sight-only
// supervision admits a video-only monitor.
func TestWatchCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	sec := e.bearerOf("security")
	security := e.staff("security")
	social, legal := e.liveCall(CallSocial), e.liveCall(CallLegal)
	watch := func(token string, id int64) response {
		return e.as(token, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/watch", id), nil)
	}

	mark := e.lastAuditID()
	var mt MonitorToken
	watch(sec, social.ID).decode(t, http.StatusOK, &mt)
	if mt.WSURL != "/ws" || mt.VideoOnly || mt.Token == "" {
		t.Fatalf("token %+v", mt)
	}
	claims, err := e.signer.Verify(mt.Token)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Role != MonitorRole || claims.BookingID != social.ID ||
		!strings.HasPrefix(claims.ParticipantID, fmt.Sprintf("monitor:%d:", security.ID)) ||
		claims.ExpiresAt.Sub(claims.NotBefore) != MonitorTokenTTL {
		t.Errorf("claims %+v", claims)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"monitor.token"}) {
		t.Errorf("audited %v", got)
	}
	if g, err := e.svc.AdmitMonitor(e.ctx, claims); err != nil || g.StaffID != security.ID || g.VideoOnly ||
		g.StaffName != security.Name {
		t.Errorf("admit the monitor: %+v %v", g, err)
	}

	// A legal call: refused and audited, for every caller who tries; the
	// other prison's officer is told there is no such booking.
	_, otherSec := e.otherPrison()
	otherTok, _ := e.session(otherSec)
	for _, c := range []struct {
		token, code string
		status      int
	}{
		{sec, "legal_privilege", 403}, {e.bearerOf("clerk"), "legal_privilege", 403},
		{e.bearerOf("admin"), "legal_privilege", 403}, {otherTok, "not_found", 404},
	} {
		mark, before := e.lastAuditID(), e.counts()
		watch(c.token, legal.ID).wantProblem(t, c.status, c.code)
		entries := e.auditSince(mark)
		if len(entries) != 1 || entries[0].Action != "monitor.refused" || entries[0].Subject != bookingSubject(legal.ID) {
			t.Fatalf("refusal audited as %v", e.auditActions(mark))
		}
		var detail map[string]any
		_ = json.Unmarshal(entries[0].Detail, &detail)
		if detail["callType"] != "legal" || detail["via"] != "watch" {
			t.Errorf("refusal detail %s", entries[0].Detail)
		}
		if after := e.counts(); after.bookings != before.bookings || after.audit != before.audit+1 {
			t.Errorf("counts %+v -> %+v", before, after)
		}
	}

	// Sight-only supervision: video only.
	if _, err := e.svc.SetSightOnly(e.ctx, security, legal.ID, SightOnlyRequest{Enabled: ptr(true),
		Reason: "court-ordered supervision"}); err != nil {
		t.Fatal(err)
	}
	mt = MonitorToken{}
	watch(sec, legal.ID).decode(t, http.StatusOK, &mt)
	if !mt.VideoOnly {
		t.Error("a sight-only legal call must give video only")
	}
	claims, _ = e.signer.Verify(mt.Token)
	if g, err := e.svc.AdmitMonitor(e.ctx, claims); err != nil || !g.VideoOnly {
		t.Errorf("admit to a sight-only call: %+v %v", g, err)
	}

	// Not in progress, not a security officer, not visible.
	later := e.call(e.demo.PrisonID, CallSocial, e.clock.Now().Add(time.Hour), 30)
	before := e.counts()
	watch(sec, later.ID).wantProblem(t, http.StatusConflict, "call_not_open")
	watch(e.bearerOf("clerk"), social.ID).wantProblem(t, http.StatusForbidden, "forbidden")
	watch(otherTok, social.ID).wantProblem(t, http.StatusNotFound, "not_found")
	watch(sec, 999999).wantProblem(t, http.StatusNotFound, "not_found")
	watch(sec, 0).wantProblem(t, http.StatusBadRequest, "validation")
	if after := e.counts(); after != before {
		t.Errorf("refusals changed counts %+v -> %+v", before, after)
	}
}

// TestAdmitMonitor checks the monitor's claims again at join: every way
// a token could reach a legal call is refused and audited, and a token
// whose staff member lost the right, or for a call no longer open, is
// refused.
func TestAdmitMonitor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	security := e.staff("security")
	social, legal := e.liveCall(CallSocial), e.liveCall(CallLegal)
	now := e.clock.Now()
	claims := func(id int64, pid, role string) auth.JoinClaims {
		return auth.JoinClaims{BookingID: id, ParticipantID: pid, Role: role, NotBefore: now, ExpiresAt: now.Add(time.Minute)}
	}
	pid := fmt.Sprintf("monitor:%d:abc", security.ID)
	if _, err := e.svc.AdmitMonitor(e.ctx, claims(social.ID, pid, MonitorRole)); err != nil {
		t.Fatal(err)
	}
	// Crafted tokens for the legal call: as the officer, as a participant
	// id, as a clerk. Each is refused and audited.
	for _, c := range []auth.JoinClaims{
		claims(legal.ID, pid, MonitorRole),
		claims(legal.ID, fmt.Sprintf("monitor:%d:x", e.staff("clerk").ID), MonitorRole),
		claims(legal.ID, "monitor:999:x", MonitorRole),
	} {
		mark := e.lastAuditID()
		_, err := e.svc.AdmitMonitor(e.ctx, c)
		if !errors.Is(err, ErrLegalPrivilege) {
			t.Errorf("%+v: %v, want legal privilege", c, err)
		}
		if got := e.auditActions(mark); !slices.Equal(got, []string{"monitor.refused"}) {
			t.Errorf("%+v: audited %v", c, got)
		}
	}
	// A hidden role that is not the monitor's, or a malformed id.
	for _, c := range []auth.JoinClaims{
		claims(social.ID, pid, "hidden"), claims(social.ID, social.Participants[0].ID, MonitorRole),
		claims(social.ID, "monitor:0:x", MonitorRole), claims(social.ID, fmt.Sprintf("monitor:%d:", security.ID), MonitorRole),
		claims(social.ID, "monitor:x:y", MonitorRole),
	} {
		if _, err := e.svc.AdmitMonitor(e.ctx, c); !errors.Is(err, ErrForbidden) {
			t.Errorf("%+v: %v, want forbidden", c, err)
		}
	}
	if _, err := e.svc.AdmitMonitor(e.ctx, claims(999999, pid, MonitorRole)); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing booking: %v", err)
	}
	// Staff who may not: a clerk, an officer of another prison, a
	// disabled officer.
	_, otherSec := e.otherPrison()
	for _, st := range []Staff{e.staff("clerk"), otherSec} {
		if _, err := e.svc.AdmitMonitor(e.ctx, claims(social.ID, fmt.Sprintf("monitor:%d:x", st.ID), MonitorRole)); !errors.Is(err, ErrForbidden) {
			t.Errorf("staff %s: %v", st.Username, err)
		}
	}
	disabled := security
	disabled.Disabled = true
	if err := e.store.UpdateStaff(e.ctx, disabled); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AdmitMonitor(e.ctx, claims(social.ID, pid, MonitorRole)); !errors.Is(err, ErrForbidden) {
		t.Errorf("disabled officer: %v", err)
	}
	if err := e.store.UpdateStaff(e.ctx, security); err != nil {
		t.Fatal(err)
	}
	// The call ends.
	e.clock.Advance(30 * time.Minute)
	if _, err := e.svc.AdmitMonitor(e.ctx, claims(social.ID, pid, MonitorRole)); !errors.Is(err, ErrCallNotOpen) {
		t.Errorf("after the end: %v", err)
	}
}

// TestStaffActions: each action needs a valid reason and target, is
// recorded for the timeline and audited, and reaches the live call;
// ending the call terminates the booking and ends the call; refusals
// change nothing.
func TestStaffActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	sec := e.bearerOf("security")
	security := e.staff("security")
	b := e.liveCall(CallSocial)
	e.live.connectAll(b)
	visitor := b.Participants[1].ID
	path := fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID)
	staffActions := func() []StaffActionRecord {
		t.Helper()
		list, err := e.store.StaffActions(e.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// Refusals first: nothing changes, nothing reaches the call.
	other := e.liveCall(CallSocial) // not live
	legal := e.liveCall(CallLegal)
	before := e.counts()
	for _, c := range []struct {
		name   string
		path   string
		body   any
		token  string
		status int
		code   string
	}{
		{"no reason", path, StaffAction{Action: ActionMute, ParticipantID: visitor}, sec, 400, "validation"},
		{"short reason", path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: " ab "}, sec, 400, "validation"},
		{"long reason", path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: strings.Repeat("x", 501)}, sec, 400, "validation"},
		{"control characters", path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: "shouting\x00"}, sec, 400, "validation"},
		{"unknown action", path, StaffAction{Action: "kick", ParticipantID: visitor, Reason: "shouting"}, sec, 400, "validation"},
		{"no participant", path, StaffAction{Action: ActionPauseVideo, Reason: "shouting"}, sec, 400, "validation"},
		{"end with participant", path, StaffAction{Action: ActionEnd, ParticipantID: visitor, Reason: "shouting"}, sec, 400, "validation"},
		{"stranger", path, StaffAction{Action: ActionMute, ParticipantID: "0123456789abcdef", Reason: "shouting"}, sec, 400, "validation"},
		{"unknown field", path, `{"action":"mute","participantId":"x","reason":"shouting","staffId":1}`, sec, 400, "validation"},
		{"not json", path, `{"action":`, sec, 400, "validation"},
		{"clerk", path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: "shouting"}, e.bearerOf("clerk"), 403, "forbidden"},
		{"not connected", fmt.Sprintf("/api/v1/monitor/calls/%d/actions", other.ID),
			StaffAction{Action: ActionMute, ParticipantID: other.Participants[1].ID, Reason: "shouting"}, sec, 409, "call_not_live"},
		{"no booking", "/api/v1/monitor/calls/999999/actions", StaffAction{Action: ActionEnd, Reason: "shouting"}, sec, 404, "not_found"},
	} {
		res := e.as(c.token, http.MethodPost, c.path, c.body)
		if res.status != c.status {
			t.Errorf("%s: %d %s", c.name, res.status, res.body)
			continue
		}
		res.wantProblem(t, c.status, c.code)
	}
	if after := e.counts(); after != before || len(staffActions()) != 0 {
		t.Fatalf("refused actions changed counts %+v -> %+v", before, after)
	}
	mark := e.lastAuditID()
	e.as(sec, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", legal.ID),
		StaffAction{Action: ActionEnd, Reason: "suspicious"}).wantProblem(t, http.StatusForbidden, "legal_privilege")
	if got := e.auditActions(mark); !slices.Equal(got, []string{"monitor.refused"}) {
		t.Errorf("legal call action audited as %v", got)
	}
	if lb, _ := e.store.Booking(e.ctx, legal.ID); lb.Status != StatusBooked {
		t.Errorf("legal call status %s", lb.Status)
	}
	if mods, ends := e.live.log(); len(mods) != 0 || len(ends) != 0 {
		t.Fatalf("refusals reached the call: %v %v", mods, ends)
	}

	// Pause and mute: recorded, audited, applied.
	mark = e.lastAuditID()
	for _, act := range []string{ActionPauseVideo, ActionMute, ActionUnmute, ActionResumeVideo} {
		var ok okResponse
		e.as(sec, http.MethodPost, path, StaffAction{Action: act, ParticipantID: visitor, Reason: "  holding up a note  "}).
			decode(t, http.StatusOK, &ok)
		if !ok.OK {
			t.Fatalf("%s: not ok", act)
		}
		e.clock.Advance(time.Second)
	}
	mods, _ := e.live.log()
	if len(mods) != 4 || mods[0].act != (StaffAction{Action: ActionPauseVideo, ParticipantID: visitor,
		Reason: "holding up a note", StaffID: security.ID}) || mods[0].bookingID != b.ID {
		t.Fatalf("moderated %+v", mods)
	}
	if got := e.auditActions(mark); !slices.Equal(got, []string{"staff.pause_video", "staff.mute", "staff.unmute", "staff.resume_video"}) {
		t.Errorf("audited %v", got)
	}
	list := staffActions()
	if len(list) != 4 || list[0].Action != ActionPauseVideo || list[0].StaffName != security.Name ||
		list[0].Reason != "holding up a note" || list[0].ParticipantID != visitor || !list[1].At.After(list[0].At) {
		t.Errorf("timeline %+v", list)
	}

	// Moderation that fails after the audit: the failure is audited too.
	e.live.setFailure(errors.New("participant left"))
	mark = e.lastAuditID()
	e.as(sec, http.MethodPost, path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: "shouting"}).
		wantProblem(t, http.StatusConflict, "call_not_live")
	if got := e.auditActions(mark); !slices.Equal(got, []string{"staff.mute", "staff.action_failed"}) {
		t.Errorf("failed moderation audited as %v", got)
	}
	e.live.setFailure(errors.New("no such call"))
	e.as(sec, http.MethodPost, path, StaffAction{Action: ActionMute, ParticipantID: visitor, Reason: "shouting"}).
		wantProblem(t, http.StatusConflict, "call_not_live")
	e.live.setFailure(nil)

	// End: the booking is terminated with the reason, the call ends.
	mark = e.lastAuditID()
	e.as(sec, http.MethodPost, path, map[string]string{"action": "end", "reason": "threats to the visitor"}).
		decode(t, http.StatusOK, nil)
	ended, err := e.store.Booking(e.ctx, b.ID)
	if err != nil || ended.Status != StatusTerminated || ended.StatusReason != "threats to the visitor" {
		t.Fatalf("booking after end: %+v %v", ended, err)
	}
	if _, ends := e.live.log(); len(ends) != 1 || ends[0] != (ending{b.ID, "staff"}) {
		t.Errorf("ended %+v", ends)
	}
	entries := e.auditSince(mark)
	if len(entries) != 1 || entries[0].Action != "staff.end" || entries[0].Actor != staffActor(security) {
		t.Fatalf("end audited as %v", e.auditActions(mark))
	}
	var d struct {
		Reason string       `json:"reason"`
		Before outcomeState `json:"before"`
		After  outcomeState `json:"after"`
	}
	if err := json.Unmarshal(entries[0].Detail, &d); err != nil || d.Reason != "threats to the visitor" ||
		d.Before.Status != StatusBooked || d.After.Status != StatusTerminated {
		t.Errorf("end detail %s", entries[0].Detail)
	}
	// The call is no longer in progress.
	e.as(sec, http.MethodPost, path, StaffAction{Action: ActionEnd, Reason: "again"}).
		wantProblem(t, http.StatusConflict, "call_not_open")
}

// TestSightOnly: security officers and admins turn a legal call's
// sight-only supervision on and off with a reason, audited; other call
// types, finished bookings, other roles and bad input are refused with
// nothing changed.
func TestSightOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	legal, social := e.liveCall(CallLegal), e.liveCall(CallSocial)
	path := fmt.Sprintf("/api/v1/bookings/%d/sight-only", legal.ID)
	before := e.counts()
	for _, c := range []struct {
		name   string
		token  string
		path   string
		body   any
		status int
		code   string
	}{
		{"clerk", e.bearerOf("clerk"), path, SightOnlyRequest{Enabled: ptr(true), Reason: "ordered"}, 403, "forbidden"},
		{"probation", e.bearerOf("probation"), path, SightOnlyRequest{Enabled: ptr(true), Reason: "ordered"}, 404, "not_found"},
		{"social call", e.bearerOf("security"), fmt.Sprintf("/api/v1/bookings/%d/sight-only", social.ID),
			SightOnlyRequest{Enabled: ptr(true), Reason: "ordered"}, 422, "call_type_not_allowed"},
		{"no reason", e.bearerOf("security"), path, SightOnlyRequest{Enabled: ptr(true)}, 400, "validation"},
		{"no enabled", e.bearerOf("security"), path, map[string]string{"reason": "ordered"}, 400, "validation"},
		{"unknown field", e.bearerOf("security"), path, `{"enabled":true,"reason":"ordered","audio":true}`, 400, "validation"},
	} {
		res := e.as(c.token, http.MethodPut, c.path, c.body)
		if res.status != c.status {
			t.Errorf("%s: %d %s", c.name, res.status, res.body)
			continue
		}
		res.wantProblem(t, c.status, c.code)
	}
	if after := e.counts(); after != before || len(e.live.sightOnlyChanges()) != 0 {
		t.Fatalf("refusals changed counts %+v -> %+v, or the call", before, after)
	}

	mark := e.lastAuditID()
	var b Booking
	e.as(e.bearerOf("security"), http.MethodPut, path, SightOnlyRequest{Enabled: ptr(true), Reason: " court order 123 "}).
		decode(t, http.StatusOK, &b)
	if !b.SightOnly || b.SightOnlyReason != "court order 123" || !b.Monitorable() {
		t.Fatalf("after enabling: %+v", b)
	}
	b = Booking{}
	e.as(e.bearerOf("admin"), http.MethodPut, path, SightOnlyRequest{Enabled: ptr(false), Reason: "order lifted"}).
		decode(t, http.StatusOK, &b)
	if b.SightOnly || b.SightOnlyReason != "" || b.Monitorable() {
		t.Fatalf("after disabling: %+v", b)
	}
	// The running call followed each change.
	if got := e.live.sightOnlyChanges(); !slices.Equal(got, []sightOnlyChange{{legal.ID, true}, {legal.ID, false}}) {
		t.Errorf("the call was told %v", got)
	}
	entries := e.auditSince(mark)
	if len(entries) != 2 || entries[0].Action != "booking.sight_only" ||
		!strings.Contains(string(entries[0].Detail), `"after":{"sightOnly":true,"sightOnlyReason":"court order 123"}`) ||
		!strings.Contains(string(entries[1].Detail), `"reason":"order lifted"`) {
		t.Errorf("audited %v", entries)
	}
	// A finished booking keeps its state.
	if err := e.store.SetBookingStatus(e.ctx, legal.ID, StatusCompleted, "done"); err != nil {
		t.Fatal(err)
	}
	e.as(e.bearerOf("security"), http.MethodPut, path, SightOnlyRequest{Enabled: ptr(true), Reason: "too late"}).
		wantProblem(t, http.StatusConflict, "booking_not_active")
	// The database refuses sight-only on another call type.
	if err := e.store.SetSightOnly(e.ctx, social.ID, true, "x"); err == nil {
		t.Error("the store accepted sight-only on a social call")
	}
}

// TestServiceAudit: the audit entries other parts of Gatehouse write are
// checked and chained.
func TestServiceAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	mark := e.lastAuditID()
	if err := e.svc.Audit(e.ctx, "staff:2", "monitor.join", "booking:7", map[string]any{"participantId": "m"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]string{
		{"", "monitor.join", "booking:7"}, {"staff:2", "", "booking:7"}, {"staff:2", "monitor.join", ""},
		{"staff 2", "monitor.join", "booking:7"}, {"staff:2", "Monitor.Join", "booking:7"},
		{"staff:2", "monitor..join", "booking:7"}, {"staff:2", "monitor.join.", "booking:7"},
		{strings.Repeat("a", 65), "monitor.join", "booking:7"}, {"staff:2", "monitor.join", strings.Repeat("b", 129)},
		{"staff:2\n", "monitor.join", "booking:7"}, {"staff:2", "monitor.join", "\xff"},
	} {
		wantRefusal(t, e.svc.Audit(e.ctx, c[0], c[1], c[2], nil), ErrValidation)
	}
	if err := e.svc.Audit(e.ctx, "staff:2", "monitor.leave", "booking:7", func() {}); err == nil {
		t.Error("a detail that is not JSON was accepted")
	}
	entries := e.auditSince(mark)
	if len(entries) != 1 || entries[0].Actor != "staff:2" || string(entries[0].Detail) != `{"participantId":"m"}` {
		t.Fatalf("entries %+v", entries)
	}
	if n, err := VerifyAudit(e.ctx, e.store); err != nil || n != int(entries[0].ID) {
		t.Errorf("verify %d %v", n, err)
	}
}
