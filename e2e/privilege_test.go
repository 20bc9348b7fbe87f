package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/sfu"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// apiProblem sends a JSON request and returns the status and, for an
// error, the problem's code.
func apiProblem(t *testing.T, srv *testkit.Server, method, path, token string, body any) (int, string) {
	t.Helper()
	st, p := srv.DoProblem(t, method, path, token, body)
	return st, p.Code
}

// auditSince returns the audit entries written after entry id after.
func auditSince(t *testing.T, srv *testkit.Server, after int64) []booking.AuditEntry {
	t.Helper()
	es, err := srv.App.AuditEntries(context.Background(), after, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// lastAuditID returns the id of the newest audit entry.
func lastAuditID(t *testing.T, srv *testkit.Server) int64 {
	t.Helper()
	es := auditSince(t, srv, 0)
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].ID
}

// countAudit counts entries with action on subject.
func countAudit(es []booking.AuditEntry, action, subject string) int {
	n := 0
	for _, e := range es {
		if e.Action == action && e.Subject == subject {
			n++
		}
	}
	return n
}

// staffID returns the id of the demo staff member with username.
func staffID(t *testing.T, srv *testkit.Server, adminToken, username string) int64 {
	t.Helper()
	var list []struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	if st := srv.Do(t, http.MethodGet, "/api/v1/staff", adminToken, nil, &list); st != http.StatusOK {
		t.Fatalf("list staff: status %d", st)
	}
	for _, s := range list {
		if s.Username == username {
			return s.ID
		}
	}
	t.Fatalf("no staff %q", username)
	return 0
}

// dialRefused dials with token and returns the refusal's code; a monitor
// that got in fails the test.
func dialRefused(t *testing.T, srv *testkit.Server, token string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: srv.WSURL, Token: token, LoopbackOnly: true})
	if err == nil {
		c.Close()
		t.Fatal("a monitor was admitted to a legal call")
	}
	var re *client.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("dial: %v, want a refusal", err)
	}
	return re.Code
}

// TestLegalCallRefusesMonitorsByEveryPath runs a real legal call and tries
// every way a monitor or recorder could reach it: the monitoring API, the
// WebSocket with a security officer's real monitor token, join tokens
// crafted with the hidden role, and the sfu package's own API. Each is
// refused and audited; no monitor gets in, no packet reaches one, and no
// recording file exists.
func TestLegalCallRefusesMonitorsByEveryPath(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemo(t, start, booking.CallLegal, 1)
	srv.Clock.Set(start.Add(time.Second))
	clients := make([]*client.Client, len(b.Participants))
	for i, p := range b.Participants {
		clients[i] = dial(t, srv, testkit.TokenFromURL(t, p.JoinURL))
	}
	for _, c := range clients {
		publish(t, c)
	}
	waitMedia(t, b, clients, nil)
	subject := fmt.Sprintf("booking:%d", b.ID)
	since := lastAuditID(t, srv)

	sec := srv.Login(t, "security", "demo-security-pass")
	admin := srv.Login(t, "admin", "demo-admin-pass")
	secID := staffID(t, srv, admin, "security")

	// 1. The monitoring API: not listed, not watchable, no actions.
	var wall struct {
		Calls []struct {
			BookingID int64 `json:"bookingId"`
		} `json:"calls"`
	}
	if st := srv.Do(t, http.MethodGet, "/api/v1/monitor/calls", sec, nil, &wall); st != http.StatusOK {
		t.Fatalf("monitor calls: status %d", st)
	}
	for _, c := range wall.Calls {
		if c.BookingID == b.ID {
			t.Fatal("the legal call is listed on the monitoring wall")
		}
	}
	watch := fmt.Sprintf("/api/v1/monitor/calls/%d/watch", b.ID)
	if st, code := apiProblem(t, srv, http.MethodPost, watch, sec, nil); st != http.StatusForbidden || code != "legal_privilege" {
		t.Fatalf("watch a legal call: %d %q, want 403 legal_privilege", st, code)
	}
	act := map[string]string{"action": "mute", "participantId": b.Participants[0].ID, "reason": "trying to listen in"}
	if st, code := apiProblem(t, srv, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID), sec, act); st != http.StatusForbidden || code != "legal_privilege" {
		t.Fatalf("moderate a legal call: %d %q, want 403 legal_privilege", st, code)
	}

	// 2. The WebSocket with a security officer's real monitor token, issued
	// while sight-only supervision was allowed and used after it was
	// withdrawn: the join is refused and no audio can ever flow.
	sight := fmt.Sprintf("/api/v1/bookings/%d/sight-only", b.ID)
	if st := srv.Do(t, http.MethodPut, sight, sec, map[string]any{"enabled": true, "reason": "escort present, sight only"}, nil); st != http.StatusOK {
		t.Fatalf("enable sight-only: status %d", st)
	}
	var tok struct {
		Token     string `json:"token"`
		VideoOnly bool   `json:"videoOnly"`
	}
	if st := srv.Do(t, http.MethodPost, watch, sec, nil, &tok); st != http.StatusOK || !tok.VideoOnly {
		t.Fatalf("watch under sight-only: status %d, videoOnly %v", st, tok.VideoOnly)
	}
	// While it is on, the monitor sees both sides and hears nothing.
	mon := dial(t, srv, tok.Token)
	if w := mon.Welcome(); w.Monitor == nil || !w.Monitor.VideoOnly {
		t.Fatalf("sight-only monitor's welcome: %+v", w.Monitor)
	}
	deadline := time.Now().Add(20 * time.Second)
	for mon.Received(b.Participants[0].ID).Video < minPackets || mon.Received(b.Participants[1].ID).Video < minPackets {
		if time.Now().After(deadline) {
			t.Fatal("the sight-only monitor receives no video")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := srv.Do(t, http.MethodPut, sight, sec, map[string]any{"enabled": false, "reason": "escort left the room"}, nil); st != http.StatusOK {
		t.Fatalf("disable sight-only: status %d", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ended, err := mon.Next(ctx, "ended")
	if err != nil || ended.Reason != "privilege" {
		t.Fatalf("monitor after sight-only was withdrawn: %v, reason %q", err, ended.Reason)
	}
	for _, p := range b.Participants {
		if n := mon.Received(p.ID).Audio; n != 0 {
			t.Fatalf("the sight-only monitor received %d audio packets from %s", n, p.Name)
		}
	}
	if code := dialRefused(t, srv, tok.Token); code != "legal_privilege" {
		t.Fatalf("officer's monitor token on a legal call: %q, want legal_privilege", code)
	}

	// 3. Tokens crafted with the hidden role (signed with the real key).
	signer := srv.Signer(t)
	now := srv.Clock.Now()
	for _, c := range []auth.JoinClaims{
		{BookingID: b.ID, ParticipantID: fmt.Sprintf("monitor:%d:crafted", secID), Role: "monitor"},
		{BookingID: b.ID, ParticipantID: b.Participants[0].ID, Role: "monitor"},
	} {
		c.NotBefore, c.ExpiresAt = now.Add(-time.Minute), now.Add(time.Hour)
		forged, err := signer.Issue(c)
		if err != nil {
			t.Fatal(err)
		}
		code := dialRefused(t, srv, forged)
		if code != "legal_privilege" && code != "forbidden" {
			t.Fatalf("crafted monitor token %q: %q, want legal_privilege or forbidden", c.ParticipantID, code)
		}
	}
	for _, role := range []string{"hidden", "security", "recorder"} {
		forged, err := signer.Issue(auth.JoinClaims{BookingID: b.ID, ParticipantID: "x-" + role, Role: role,
			NotBefore: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if code := dialRefused(t, srv, forged); code != "token_invalid" {
			t.Fatalf("crafted %s token: %q, want token_invalid", role, code)
		}
	}

	// 4. The sfu package's own API, called directly in the running process.
	room, err := srv.App.Media().Room(fmt.Sprint(b.ID), sfu.Policy{Legal: true})
	if err != nil {
		t.Fatalf("the running legal room: %v", err)
	}
	if _, err := room.JoinMonitor(fmt.Sprintf("monitor:%d:direct", secID), discard{}); !errors.Is(err, sfu.ErrLegalPrivilege) {
		t.Fatalf("sfu JoinMonitor: %v, want ErrLegalPrivilege", err)
	}
	if err := room.StartRecording(fmt.Sprintf("staff:%d", secID)); !errors.Is(err, sfu.ErrLegalPrivilege) {
		t.Fatalf("sfu StartRecording: %v, want ErrLegalPrivilege", err)
	}

	// Every refusal is in the audit log, and the log still verifies.
	es := auditSince(t, srv, since)
	if n := countAudit(es, "monitor.refused", subject); n < 4 {
		t.Fatalf("monitor.refused entries: %d, want at least 4 (watch, action, real token, crafted token)", n)
	}
	if n := countAudit(es, "privilege.refused", subject); n != 2 {
		t.Fatalf("privilege.refused entries from the media server: %d, want 2", n)
	}
	// Nothing got in, nothing was sent, nothing was written.
	if ms := room.Monitors(); len(ms) != 0 {
		t.Fatalf("monitors in the legal room: %v", ms)
	}
	if room.Recording() {
		t.Fatal("the legal call is being recorded")
	}
	if _, err := os.Stat(filepath.Join(srv.App.RecordingsDir(), fmt.Sprint(b.ID))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a recording directory exists for the legal call: %v", err)
	}
	base := map[[2]int]client.Counts{}
	for i, c := range clients {
		for j, p := range b.Participants {
			if i != j {
				base[[2]int{i, j}] = c.Received(p.ID)
			}
		}
	}
	waitMedia(t, b, clients, base) // the call itself carries on
}

// discard is a Signaller that drops everything.
type discard struct{}

func (discard) SendAnswer(string)                                 {}
func (discard) SendOffer(string)                                  {}
func (discard) SendCandidate(sfu.Target, webrtc.ICECandidateInit) {}
func (discard) Notify(any)                                        {}
