package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// eventLog keeps every event a client is sent, from a goroutine the test
// owns.
type eventLog struct {
	mu     sync.Mutex
	events []client.Message
}

func collect(t *testing.T, c *client.Client) *eventLog {
	l := &eventLog{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case m := <-c.Events():
				l.mu.Lock()
				l.events = append(l.events, m)
				l.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return l
}

func (l *eventLog) all() []client.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]client.Message(nil), l.events...)
}

// first returns the first event of type typ, waiting up to d.
func (l *eventLog) first(t *testing.T, typ string, d time.Duration) client.Message {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range l.all() {
			if m.Type == typ {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event within %s", typ, d)
	return client.Message{}
}

// TestHiddenMonitorWatchesASocialCallUnseen: a security officer watches a
// live social call through the monitoring API and the WebSocket, receives
// both sides' media, mutes a participant and ends the call, each with a
// reason. The participants never see the monitor, are told neutrally about
// the mute and the end, and everything is in the audit log.
func TestHiddenMonitorWatchesASocialCallUnseen(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)
	logs := []*eventLog{collect(t, clients[0]), collect(t, clients[1])}
	since := lastAuditID(t, srv)
	subject := fmt.Sprintf("booking:%d", b.ID)
	sec := srv.Login(t, "security", "demo-security-pass")

	var wall struct {
		Calls []struct {
			BookingID    int64 `json:"bookingId"`
			Participants []struct {
				ID        string `json:"id"`
				Connected bool   `json:"connected"`
			} `json:"participants"`
			Recording string `json:"recording"`
		} `json:"calls"`
	}
	if st := srv.Do(t, http.MethodGet, "/api/v1/monitor/calls", sec, nil, &wall); st != http.StatusOK {
		t.Fatalf("monitoring wall: status %d", st)
	}
	listed := false
	for _, c := range wall.Calls {
		if c.BookingID != b.ID {
			continue
		}
		listed = true
		for _, p := range c.Participants {
			if !p.Connected {
				t.Errorf("participant %s shown disconnected on the wall", p.ID)
			}
		}
		if c.Recording != "recording" {
			t.Errorf("wall shows recording %q for a social call, want recording", c.Recording)
		}
	}
	if !listed {
		t.Fatal("the live social call is not on the monitoring wall")
	}

	var tok struct {
		Token string `json:"token"`
	}
	if st := srv.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/watch", b.ID), sec, nil, &tok); st != http.StatusOK {
		t.Fatalf("watch: status %d", st)
	}
	mon := dial(t, srv, tok.Token)
	w := mon.Welcome()
	if w.Participant.Role != "monitor" || w.Monitor == nil || w.Monitor.VideoOnly {
		t.Fatalf("monitor welcome: role %q, monitor %+v", w.Participant.Role, w.Monitor)
	}
	if len(w.Participants) != len(b.Participants) {
		t.Fatalf("monitor's welcome lists %d participants, want %d", len(w.Participants), len(b.Participants))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, p := range b.Participants {
			got := mon.Received(p.ID)
			ok = ok && got.Audio >= minPackets && got.Video >= minPackets
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor did not receive both sides: %+v / %+v",
				mon.Received(b.Participants[0].ID), mon.Received(b.Participants[1].ID))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A mute with a reason: the other participant stops hearing them at
	// once, the monitor does not, and everyone is told neutrally.
	muted, other := b.Participants[0], clients[1]
	act := map[string]string{"action": "mute", "participantId": muted.ID, "reason": "discussing another prisoner's case"}
	if st := srv.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID), sec, act, nil); st != http.StatusOK {
		t.Fatalf("mute: status %d", st)
	}
	for _, l := range logs {
		m := l.first(t, "moderation", 5*time.Second)
		if m.ParticipantID != muted.ID || !m.Muted || m.VideoPaused {
			t.Fatalf("moderation message %+v", m)
		}
	}
	time.Sleep(300 * time.Millisecond)
	heard, monHeard := other.Received(muted.ID).Audio, mon.Received(muted.ID).Audio
	time.Sleep(1500 * time.Millisecond)
	if d := other.Received(muted.ID).Audio - heard; d > 0 {
		t.Fatalf("%d audio packets of the muted participant reached the other", d)
	}
	if mon.Received(muted.ID).Audio <= monHeard {
		t.Fatal("the monitor stopped hearing the muted participant")
	}

	// Ending the call with a reason.
	end := map[string]string{"action": "end", "reason": "threats made during the call"}
	if st := srv.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID), sec, end, nil); st != http.StatusOK {
		t.Fatalf("end: status %d", st)
	}
	for _, l := range logs {
		if m := l.first(t, "ended", 5*time.Second); m.Reason != "staff" {
			t.Fatalf("ended reason %q, want staff", m.Reason)
		}
	}
	var after booking.Booking
	clerk := srv.Login(t, "clerk", "demo-clerk-pass")
	if st := srv.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/bookings/%d", b.ID), clerk, nil, &after); st != http.StatusOK || after.Status != booking.StatusTerminated {
		t.Fatalf("booking after staff end: status %d, %q", st, after.Status)
	}

	// The participants never learnt of the monitor.
	for i, l := range logs {
		for _, m := range l.all() {
			if strings.HasPrefix(m.ParticipantID, "monitor") || strings.HasPrefix(m.Participant.ID, "monitor") ||
				m.Participant.Role == "monitor" {
				t.Fatalf("participant %d was told about the monitor: %+v", i, m)
			}
		}
		for _, p := range clients[i].Welcome().Participants {
			if p.Role == "monitor" {
				t.Fatalf("participant %d's welcome lists a monitor", i)
			}
		}
	}
	waitAudit(t, srv, since, subject, "monitor.leave")
	es := auditSince(t, srv, since)
	for _, action := range []string{"monitor.token", "monitor.join", "staff.mute", "staff.end", "monitor.leave"} {
		if countAudit(es, action, subject) != 1 {
			t.Errorf("audit %s on %s: %d entries, want 1", action, subject, countAudit(es, action, subject))
		}
	}
}

// waitAudit waits until an entry with action on subject is written.
func waitAudit(t *testing.T, srv *testkit.Server, since int64, subject, action string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for countAudit(auditSince(t, srv, since), action, subject) == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("no %s audit entry on %s", action, subject)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
