package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// auditLog collects what the SFU audits.
type auditLog struct {
	mu      sync.Mutex
	entries []auditEntry
}

type auditEntry struct {
	actor, action, subject string
	detail                 any
}

func (a *auditLog) Audit(_ context.Context, actor, action, subject string, detail any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, auditEntry{actor, action, subject, detail})
	return nil
}

// find returns the entries with action, by actor when actor is not empty.
func (a *auditLog) find(action, actor string) []auditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []auditEntry
	for _, e := range a.entries {
		if e.action == action && (actor == "" || e.actor == actor) {
			out = append(out, e)
		}
	}
	return out
}

// privilegedSFU returns an SFU that audits into log and records into a
// temporary directory it returns.
func privilegedSFU(t *testing.T) (*SFU, *auditLog, string) {
	t.Helper()
	log := &auditLog{}
	dir := t.TempDir()
	return newTestSFUWith(t, Config{Auditor: log, RecordingsDir: dir}), log, dir
}

// assertNoFiles fails if anything was written under dir.
func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("recordings directory has %d entries (first %q); want none", len(ents), ents[0].Name())
	}
}

// nullSignaller is a would-be monitor that counts what it is sent.
type nullSignaller struct {
	mu   sync.Mutex
	sent int
}

func (n *nullSignaller) bump()                                         { n.mu.Lock(); n.sent++; n.mu.Unlock() }
func (n *nullSignaller) SendAnswer(string)                             { n.bump() }
func (n *nullSignaller) SendOffer(string)                              { n.bump() }
func (n *nullSignaller) SendCandidate(Target, webrtc.ICECandidateInit) { n.bump() }
func (n *nullSignaller) Notify(any)                                    { n.bump() }

// twoPartyCall makes room id of s under pol and joins two peers, a and b,
// each publishing audio and video until the test ends.
func twoPartyCall(t *testing.T, s *SFU, id string, pol Policy, a, b string) (*Room, *peer, *peer) {
	t.Helper()
	room, err := s.Room(id, pol)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := joinPeer(t, room, a), joinPeer(t, room, b)
	l := newLoops()
	t.Cleanup(l.end) // registered last: the sources stop before the peers close
	publishAV(pa, l)
	publishAV(pb, l)
	return room, pa, pb
}

// TestLegalCallRefusesEveryMonitorAndRecorder tries each way into a legal
// call the sfu package offers, during a real call: a hidden monitor, a
// recorder asked for directly, a room made to record, and the same room
// asked for without its privilege. Each is refused, audited, gets no media
// and writes no file.
func TestLegalCallRefusesEveryMonitorAndRecorder(t *testing.T) {
	s, audit, dir := privilegedSFU(t)
	room, solicitor, prisoner := twoPartyCall(t, s, "7", Policy{Legal: true, Subject: "booking:7"}, "solicitor", "prisoner")
	waitFor(t, 10*time.Second, "the legal call's media", func() bool {
		return solicitor.count("prisoner", "audio") > 30 && prisoner.count("solicitor", "audio") > 30
	})

	// A hidden monitor, through the package's own API.
	var spy nullSignaller
	if _, err := room.JoinMonitor("staff:9", &spy); !errors.Is(err, ErrLegalPrivilege) {
		t.Fatalf("JoinMonitor on a legal call: %v, want ErrLegalPrivilege", err)
	}
	// A recorder, asked for directly.
	if err := room.StartRecording("staff:9"); !errors.Is(err, ErrLegalPrivilege) {
		t.Fatalf("StartRecording on a legal call: %v, want ErrLegalPrivilege", err)
	}
	// A new legal room whose policy asks for recording.
	if _, err := s.Room("8", Policy{Legal: true, Record: true, Subject: "booking:8"}); !errors.Is(err, ErrLegalPrivilege) {
		t.Fatalf("a legal room that records: %v, want ErrLegalPrivilege", err)
	}
	// The running legal room asked for again as an ordinary recorded call.
	if _, err := s.Room("7", Policy{Record: true}); !errors.Is(err, ErrPolicyConflict) {
		t.Fatalf("legal room asked for without privilege: %v, want ErrPolicyConflict", err)
	}

	monitorRefusals := audit.find("privilege.refused", "staff:9")
	if len(monitorRefusals) != 2 {
		t.Fatalf("audited refusals by staff:9: %d, want 2 (monitor, recorder)", len(monitorRefusals))
	}
	for _, e := range monitorRefusals {
		if e.subject != "booking:7" {
			t.Errorf("refusal audited on %q, want booking:7", e.subject)
		}
	}
	if n := len(audit.find("privilege.refused", systemActor)); n != 1 {
		t.Fatalf("audited refusals of the recording policy: %d, want 1", n)
	}
	time.Sleep(time.Second) // anything that leaked would arrive now
	spy.mu.Lock()
	sent := spy.sent
	spy.mu.Unlock()
	if sent != 0 {
		t.Fatalf("the refused monitor was sent %d messages", sent)
	}
	if ms := room.Monitors(); len(ms) != 0 {
		t.Fatalf("monitors in a legal room: %v", ms)
	}
	if room.Recording() {
		t.Fatal("legal room is recording")
	}
	assertNoFiles(t, dir)
	if got := s.media.PrivilegeRefusals.WithLabelValues("monitor"); got == nil {
		t.Fatal("no refusal metric")
	}
}

// TestHiddenMonitorReceivesBothSidesUnseen: a monitor of a social call gets
// both participants' audio and video, and nothing the participants are sent
// mentions it.
func TestHiddenMonitorReceivesBothSidesUnseen(t *testing.T) {
	s, _, _ := privilegedSFU(t)
	room, a, b := twoPartyCall(t, s, "21", Policy{Subject: "booking:21"}, "family", "prisoner")
	mon := joinMonitorPeer(t, room, "monitor:5:x1")
	waitFor(t, 10*time.Second, "the monitor to receive both sides", func() bool {
		return mon.count("family", "video") > 60 && mon.count("prisoner", "video") > 60 &&
			mon.count("family", "audio") > 30 && mon.count("prisoner", "audio") > 30
	})
	if got := room.Participants(); len(got) != 2 {
		t.Fatalf("participants %v, want the two callers only", got)
	}
	if err := mon.part.HandleOffer("v=0"); !errors.Is(err, ErrMonitorPublish) {
		t.Fatalf("monitor publishing: %v, want ErrMonitorPublish", err)
	}
	time.Sleep(5500 * time.Millisecond) // one stats report
	for _, p := range []*peer{a, b} {
		raw, err := json.Marshal(p.notes())
		if err != nil {
			t.Fatal(err)
		}
		if len(p.notes()) == 0 {
			t.Fatal("participant got no media events to check")
		}
		if strings.Contains(string(raw), "monitor") {
			t.Fatalf("a participant was told about the monitor: %s", raw)
		}
	}
	if n := a.sub.GetTransceivers(); len(n) != 2 {
		t.Fatalf("family subscribes to %d tracks, want 2 (the prisoner's)", len(n))
	}
}

// TestSightOnlyMonitorNeverGetsAudio: in sight, out of hearing on a legal
// call, the monitor receives video and no audio track is ever offered to it.
func TestSightOnlyMonitorNeverGetsAudio(t *testing.T) {
	s, _, dir := privilegedSFU(t)
	room, a, _ := twoPartyCall(t, s, "31", Policy{Legal: true, SightOnly: true, Subject: "booking:31"}, "solicitor", "prisoner")
	mon := joinMonitorPeer(t, room, "monitor:5:x2")
	waitFor(t, 10*time.Second, "the monitor's video", func() bool {
		return mon.count("solicitor", "video") > 60 && mon.count("prisoner", "video") > 60
	})
	time.Sleep(time.Second)
	if n := mon.count("solicitor", "audio") + mon.count("prisoner", "audio"); n != 0 {
		t.Fatalf("sight-only monitor received %d audio packets", n)
	}
	if sdp := mon.sub.RemoteDescription(); sdp == nil || strings.Contains(sdp.SDP, "m=audio") {
		t.Fatal("an audio section was offered to a sight-only monitor")
	}
	if a.count("prisoner", "audio") < 30 {
		t.Fatal("the participants stopped hearing each other")
	}
	// Withdrawing the permission disconnects the monitor.
	if err := room.SetSightOnly(false); err != nil {
		t.Fatal(err)
	}
	if ms := room.Monitors(); len(ms) != 0 {
		t.Fatalf("monitors after sight-only was withdrawn: %v", ms)
	}
	if room.Recording() {
		t.Fatal("a legal call records")
	}
	assertNoFiles(t, dir)
}

// TestModerationWithholdsFromParticipantsOnly: video paused and voice muted
// by staff stop reaching the other participant at once; the monitor keeps
// both; lifting it resumes the stream.
func TestModerationWithholdsFromParticipantsOnly(t *testing.T) {
	room, a, b := twoPartyCall(t, newTestSFU(t), "r1", Policy{}, "family", "prisoner")
	mon := joinMonitorPeer(t, room, "monitor:5:x3")
	waitFor(t, 10*time.Second, "media to everyone", func() bool {
		return b.count("family", "video") > 60 && b.count("family", "audio") > 30 && mon.count("family", "video") > 30
	})
	room.Moderate("family", Moderation{VideoPaused: true, Muted: true})
	time.Sleep(100 * time.Millisecond) // packets in flight on loopback
	video, audio := b.count("family", "video"), b.count("family", "audio")
	monVideo, monAudio := mon.count("family", "video"), mon.count("family", "audio")
	time.Sleep(1500 * time.Millisecond)
	if d := b.count("family", "video") - video; d > 0 {
		t.Fatalf("%d video packets reached the other participant after the pause", d)
	}
	if d := b.count("family", "audio") - audio; d > 0 {
		t.Fatalf("%d audio packets reached the other participant after the mute", d)
	}
	if mon.count("family", "video") <= monVideo || mon.count("family", "audio") <= monAudio {
		t.Fatal("the monitor stopped receiving the moderated participant")
	}
	if a.count("prisoner", "audio") < 30 {
		t.Fatal("the moderated participant stopped hearing the other")
	}

	room.Moderate("family", Moderation{})
	waitFor(t, 10*time.Second, "media to resume", func() bool {
		return b.count("family", "video") > video+30 && b.count("family", "audio") > audio+30
	})
	// The stream goes on where it stopped: one sequence number further.
	hs := b.headers("family", "audio")
	for i := 1; i < len(hs); i++ {
		if d := hs[i].SequenceNumber - hs[i-1].SequenceNumber; d != 1 && d < 0x8000 && d > 3 {
			t.Fatalf("audio sequence jumps by %d after the mute was lifted", d)
		}
	}
}

// TestOneWayVideoPolicy: the prisoner sees the visitor; the visitor hears
// the prisoner but never receives their video; a monitor gets it.
func TestOneWayVideoPolicy(t *testing.T) {
	s := newTestSFU(t)
	room, visitor, prisoner := twoPartyCall(t, s, "41", Policy{OneWayVideo: []string{"prisoner"}}, "visitor", "prisoner")
	mon := joinMonitorPeer(t, room, "monitor:5:x4")
	waitFor(t, 10*time.Second, "media", func() bool {
		return prisoner.count("visitor", "video") > 60 && visitor.count("prisoner", "audio") > 30 &&
			mon.count("prisoner", "video") > 60
	})
	if n := visitor.count("prisoner", "video"); n != 0 {
		t.Fatalf("the visitor received %d packets of the prisoner's video", n)
	}
}
