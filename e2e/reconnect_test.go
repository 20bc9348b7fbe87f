package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// Reconnection (signalling/PROTOCOL.md, Reconnection) with real Pion clients:
// a dropped socket resumes into the same call with ICE restarts, a 10 s
// network cut of both signalling and media recovers, a place is given up
// when the grace runs out, and nothing resumes after the end time.

// recoveryWindow is how long after a resume media is counted, and
// minVideoAfter how many video packets must arrive in it each way.
const (
	recoveryWindow = 2 * time.Second
	minVideoAfter  = 40
)

// joinLiveWith is joinLive with each participant's client options from
// opts (URL and Token are filled in).
func joinLiveWith(t *testing.T, srv *testkit.Server, visitors int, opts func(i int) client.Options) (booking.Booking, []*client.Client) {
	t.Helper()
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, visitors)
	srv.Clock.Set(start.Add(time.Second))
	clients := make([]*client.Client, len(b.Participants))
	for i, p := range b.Participants {
		o := opts(i)
		o.URL, o.Token = srv.WSURL, testkit.TokenFromURL(t, p.JoinURL)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, o)
		cancel()
		if err != nil {
			t.Fatalf("dial %s: %v", p.Name, err)
		}
		t.Cleanup(c.Close)
		clients[i] = c
	}
	for _, c := range clients {
		publish(t, c)
	}
	return b, clients
}

// await waits up to timeout for an event of c matching typ (and ok, when
// not nil) and returns it with the events that came before it.
func await(t *testing.T, c *client.Client, timeout time.Duration, typ string, ok func(client.Message) bool) (client.Message, []client.Message) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var before []client.Message
	for {
		select {
		case m := <-c.Events():
			if m.Type == typ && (ok == nil || ok(m)) {
				return m, before
			}
			before = append(before, m)
		case <-deadline.C:
			t.Fatalf("no %s event within %v (saw %v)", typ, timeout, types(before))
			return client.Message{}, nil
		}
	}
}

func types(ms []client.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
		if m.State != "" {
			out[i] += ":" + m.State
		}
		if m.Reason != "" {
			out[i] += ":" + m.Reason
		}
	}
	return out
}

// drain discards the events c has delivered so far.
func drain(cs ...*client.Client) {
	for _, c := range cs {
		for len(c.Events()) > 0 {
			<-c.Events()
		}
	}
}

// stateOf matches a participantState message about pid in state st.
func stateOf(pid, st string) func(client.Message) bool {
	return func(m client.Message) bool { return m.ParticipantID == pid && m.State == st }
}

// forbid fails if any of ms is a message that would mean the participant
// left or joined anew instead of resuming.
func forbid(t *testing.T, who string, ms []client.Message) {
	t.Helper()
	for _, m := range ms {
		if m.Type == "participantLeft" || m.Type == "participantJoined" {
			t.Fatalf("%s saw %s for %s: the call did not survive the reconnection", who, m.Type, m.ParticipantID)
		}
	}
}

// countAfter waits window and returns the video and audio packets each of
// a and b received from the other in it.
func countAfter(b booking.Booking, x, y *client.Client, window time.Duration) (xy, yx client.Counts) {
	x0, y0 := x.Received(b.Participants[1].ID), y.Received(b.Participants[0].ID)
	time.Sleep(window)
	x1, y1 := x.Received(b.Participants[1].ID), y.Received(b.Participants[0].ID)
	return client.Counts{Audio: x1.Audio - x0.Audio, Video: x1.Video - x0.Video},
		client.Counts{Audio: y1.Audio - y0.Audio, Video: y1.Video - y0.Video}
}

// requireFlow checks that media flows both ways between clients 0 and 1
// within a recoveryWindow, retrying windows until deadline (the first
// window may start before ICE has finished restarting). It returns the
// first window's counts.
func requireFlow(t *testing.T, b booking.Booking, clients []*client.Client, deadline time.Duration) (first [2]client.Counts) {
	t.Helper()
	end := time.Now().Add(deadline)
	for i := 0; ; i++ {
		got0, got1 := countAfter(b, clients[0], clients[1], recoveryWindow)
		if i == 0 {
			first = [2]client.Counts{got0, got1}
		}
		t.Logf("in %v: %s received %d video, %d audio packets; %s received %d video, %d audio", recoveryWindow,
			b.Participants[0].Name, got0.Video, got0.Audio, b.Participants[1].Name, got1.Video, got1.Audio)
		if got0.Video >= minVideoAfter && got1.Video >= minVideoAfter && got0.Audio > 0 && got1.Audio > 0 {
			return first
		}
		if time.Now().After(end) {
			t.Fatalf("media did not flow again both ways within %v", deadline)
		}
	}
}

func TestReconnectResumesAfterSocketDrop(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLiveWith(t, srv, 1, func(int) client.Options {
		return client.Options{LoopbackOnly: true, Reconnect: true}
	})
	waitMedia(t, b, clients, nil)
	a, other := clients[1], clients[0]
	aID := b.Participants[1].ID

	drain(clients...)
	dropped := time.Now()
	a.DropConnection()
	_, seen := await(t, other, 5*time.Second, "participantState", stateOf(aID, "reconnecting"))
	forbid(t, "the prisoner", seen)
	ev, _ := await(t, a, 5*time.Second, client.EventReconnected, nil)
	resumedIn := time.Since(dropped)
	if !ev.Resumed {
		t.Fatalf("welcome after the drop did not resume the media session: %+v", ev)
	}
	_, seen = await(t, other, 5*time.Second, "participantState", stateOf(aID, "connected"))
	forbid(t, "the prisoner", seen)
	t.Logf("resumed %v after the drop", resumedIn)

	first := requireFlow(t, b, clients, 10*time.Second)
	if first[0].Video < minVideoAfter || first[1].Video < minVideoAfter {
		t.Logf("note: the first %v after the resume carried %d and %d video packets", recoveryWindow, first[0].Video, first[1].Video)
	}
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 1 {
		t.Errorf("resumes_total = %v, want 1", n)
	}
}

// TestReconnectAfterTenSecondNetworkCut cuts one visitor off completely,
// signalling and media, for 10 seconds, and requires the call to recover
// with a resume (no new join). Media runs over a simulated network (vnet)
// so that it can be cut; the WebSocket runs on loopback through the
// visitor's simulated host, which refuses new connections during the cut.
// Two ways the socket meets the cut:
//
//   - dropped: it closes at the moment of the cut (the server sees it at
//     once and tells the others the visitor is reconnecting);
//   - stalled: nothing closes and nothing passes, as TCP through an outage;
//     the client finds out by itself (its peer connections go disconnected,
//     its ping is not answered) and the server learns of it only when the
//     client's close or its resume arrive after the cut.
func TestReconnectAfterTenSecondNetworkCut(t *testing.T) {
	for _, mode := range []string{"dropped", "stalled"} {
		t.Run(mode, func(t *testing.T) { testNetworkCut(t, mode == "dropped") })
	}
}

// simCall books a visit with one visitor and joins both participants with
// Options.Reconnect, each from a host of its own on a simulated network
// (the server's media on a third), and waits for media both ways. With
// netDial the signalling socket goes through the host too, so that cutting
// the host stalls it.
func simCall(t *testing.T, netDial bool) (*testkit.Server, booking.Booking, []*client.Client, []*simHost) {
	t.Helper()
	sim := newSimNet(t)
	sfuHost := sim.addHost(t, "sfu", linkOptions{})
	srv := testkit.StartWith(t, func(c *app.Config) {
		c.ICELoopbackOnly = false // candidates are vnet addresses
		c.MediaNet = sfuHost.Net
	})
	var hosts []*simHost
	b, clients := joinLiveWith(t, srv, 1, func(i int) client.Options {
		h := sim.addHost(t, "participant", linkOptions{})
		hosts = append(hosts, h)
		o := client.Options{Net: h.Net, Reconnect: true, Log: testLog(t, h.Name)}
		if netDial {
			o.NetDial = h.DialContext
		}
		return o
	})
	waitMedia(t, b, clients, nil)
	return srv, b, clients, hosts
}

func testNetworkCut(t *testing.T, drop bool) {
	const cut = 10 * time.Second
	srv, b, clients, hosts := simCall(t, true)
	a, other := clients[1], clients[0]
	aID := b.Participants[1].ID

	drain(clients...)
	if drop {
		a.DropConnection() // first, or the cut would hold the close back
	}
	hosts[1].SetCut(true)
	cutAt := time.Now()
	if drop {
		_, seen := await(t, other, 5*time.Second, "participantState", stateOf(aID, "reconnecting"))
		forbid(t, "the prisoner", seen)
	}

	// Nothing gets through while the network is down.
	time.Sleep(time.Second)
	during := other.Received(aID)
	time.Sleep(cut - time.Since(cutAt))
	if got := other.Received(aID); got.Video-during.Video > 5 {
		t.Fatalf("%d video packets arrived through the cut", got.Video-during.Video)
	}
	hosts[1].SetCut(false)
	restored := time.Now()

	ev, aSeen := await(t, a, 15*time.Second, client.EventReconnected, func(m client.Message) bool { return m.Reason != "media" })
	if !ev.Resumed {
		t.Fatalf("welcome after the cut did not resume the media session: %+v (events %v)", ev, types(aSeen))
	}
	t.Logf("resumed %v after the network came back (%v after the cut; events %v)", time.Since(restored), time.Since(cutAt), types(aSeen))
	if drop {
		_, seen := await(t, other, 5*time.Second, "participantState", stateOf(aID, "connected"))
		forbid(t, "the prisoner", seen)
	}

	requireFlow(t, b, clients, 15*time.Second)
	var seen []client.Message
	for len(other.Events()) > 0 {
		seen = append(seen, <-other.Events())
	}
	forbid(t, "the prisoner", seen)
	if n := len(seen); n > 0 && !drop {
		// The server may have seen the stalled socket close when the cut
		// ended, just before the resume: then it said so, and took it back.
		if last := seen[n-1]; last.Type != "participantState" || last.State != "connected" {
			t.Errorf("the prisoner's last news of the visitor is %v, want connected", types(seen))
		}
	}
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 1 {
		t.Errorf("resumes_total = %v, want 1 (one resume, no new join)", n)
	}
	if n := metricValue(t, srv, `gatehouse_signalling_admissions_total{result="admitted"}`); n != 3 {
		t.Errorf("admissions = %v, want 3 (two joins and the resume)", n)
	}
}

// TestMediaPathLossRecoversWithICERestart cuts only the media path of one
// visitor: the socket stays up, the client sees its peer connections go
// disconnected and restarts ICE through signalling (restart for the
// subscriber connection, an ICE-restart offer for the publisher's).
func TestMediaPathLossRecoversWithICERestart(t *testing.T) {
	srv, b, clients, hosts := simCall(t, false)
	a := clients[1]

	drain(clients...)
	hosts[1].SetCut(true)
	ev, _ := await(t, a, 15*time.Second, client.EventReconnecting, nil)
	if ev.Reason != "media" {
		t.Fatalf("reconnecting because of %q, want media (the socket is up)", ev.Reason)
	}
	time.Sleep(2 * time.Second)
	hosts[1].SetCut(false)
	restored := time.Now()
	_, seen := await(t, a, 15*time.Second, client.EventReconnected, func(m client.Message) bool { return m.Reason == "media" })
	for _, m := range seen {
		if m.Type == client.EventReconnecting && m.Reason == "socket" {
			t.Fatal("the socket was dropped; only the media path was cut")
		}
	}
	t.Logf("media connections back %v after the network", time.Since(restored))
	requireFlow(t, b, clients, 10*time.Second)
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 0 {
		t.Errorf("resumes_total = %v, want 0: the socket never dropped", n)
	}
}

// TestSilentSubscriberConnectionRestarts silences one visitor's media
// connections without touching ICE: STUN still passes, so both ends go on
// saying connected, but no RTP or RTCP arrives. The client must notice
// that its subscriber connection carries no sender reports and restart its
// ICE, which moves the media to new ports that are not silenced.
func TestSilentSubscriberConnectionRestarts(t *testing.T) {
	srv, b, clients, hosts := simCall(t, true)
	a := clients[1]
	time.Sleep(2 * time.Second) // the first sender reports (one a second) have come

	drain(clients...)
	silenced := time.Now()
	dropped := hosts[1].SilenceMedia()
	ev, seen := await(t, a, 15*time.Second, client.EventReconnecting, nil)
	if ev.Reason != "media" {
		t.Fatalf("reconnecting because of %q, want media (events %v)", ev.Reason, types(seen))
	}
	t.Logf("the client restarted %v after its media went silent (%d packets dropped)", time.Since(silenced), dropped())
	if dropped() == 0 {
		t.Fatal("the silencer dropped nothing")
	}
	requireFlow(t, b, clients, 15*time.Second)
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 0 {
		t.Errorf("resumes_total = %v, want 0: the socket never dropped", n)
	}
}

func TestReconnectGraceExpiryGivesThePlaceUp(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1) // no Reconnect: the visitor never comes back
	waitMedia(t, b, clients, nil)
	a, other := clients[1], clients[0]
	aID := b.Participants[1].ID

	drain(clients...)
	a.DropConnection()
	await(t, other, 5*time.Second, "participantState", stateOf(aID, "reconnecting"))
	// The grace (20 s) runs on the call's clock.
	time.Sleep(500 * time.Millisecond)
	if m := metricValue(t, srv, "gatehouse_signalling_reconnect_grace_expired_total"); m != 0 {
		t.Fatalf("grace expired after half a second")
	}
	srv.Clock.Advance(21 * time.Second)
	left, _ := await(t, other, 5*time.Second, "participantLeft", nil)
	if left.ParticipantID != aID {
		t.Fatalf("participantLeft names %q, want %q", left.ParticipantID, aID)
	}
	if n := metricValue(t, srv, "gatehouse_signalling_reconnect_grace_expired_total"); n != 1 {
		t.Errorf("reconnect_grace_expired_total = %v, want 1", n)
	}
	// Coming back now is a new join: nothing is resumed.
	again := dialOpts(t, srv, client.Options{Token: testkit.TokenFromURL(t, b.Participants[1].JoinURL), LoopbackOnly: true, Reconnect: true})
	if again.Welcome().Resumed {
		t.Fatal("a join after the grace resumed a session that was given up")
	}
	joined, _ := await(t, other, 5*time.Second, "participantJoined", nil)
	if joined.Participant.ID != aID {
		t.Fatalf("participantJoined names %q, want %q", joined.Participant.ID, aID)
	}
}

func TestResumeAfterTheEndTimeIsRefused(t *testing.T) {
	srv := testkit.Start(t)
	var open atomic.Bool
	gate := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !open.Load() {
			return nil, errors.New("network down")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	open.Store(true)
	b, clients := joinLiveWith(t, srv, 1, func(int) client.Options {
		return client.Options{LoopbackOnly: true, Reconnect: true, NetDial: gate}
	})
	waitMedia(t, b, clients, nil)
	a, other := clients[1], clients[0]

	drain(clients...)
	open.Store(false)
	a.DropConnection()
	await(t, other, 5*time.Second, "participantState", stateOf(b.Participants[1].ID, "reconnecting"))
	srv.Clock.Set(b.EndsAt.Add(100 * time.Millisecond))
	if e, _ := await(t, other, 5*time.Second, "ended", nil); e.Reason != "time" {
		t.Fatalf("ended with %q, want time", e.Reason)
	}
	open.Store(true)
	refusal, _ := await(t, a, 10*time.Second, "error", nil)
	switch refusal.Code {
	case "call_ended", "token_expired", "booking_cancelled":
	default:
		t.Fatalf("resume after the end refused with %q, want call_ended (or the token's or booking's end)", refusal.Code)
	}
	if !refusal.Fatal {
		t.Fatalf("refusal %+v is not fatal", refusal)
	}
	failed, _ := await(t, a, 5*time.Second, client.EventReconnectFailed, nil)
	t.Logf("resume after the end refused: %s (%s)", refusal.Code, failed.Reason)
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client still running after its resume was refused")
	}
}

// TestReconnectLimits checks the bounds: restart only for the subscriber
// connection and at most once a second, quality requests validated, and
// at most 10 returns to a held place a minute.
func TestReconnectLimits(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	token := testkit.TokenFromURL(t, b.Participants[1].JoinURL)
	conn := rawSocket(t, srv)
	send := func(v any) {
		t.Helper()
		data, _ := json.Marshal(v)
		if err := conn.WriteMessage(websocket.TextMessage, data); err != nil {
			t.Fatal(err)
		}
	}
	// reply reads until a message that is not negotiation.
	next := func() reply {
		t.Helper()
		for {
			r := readReply(t, conn)
			if r.Type != "offer" && r.Type != "candidate" {
				return r
			}
		}
	}
	send(map[string]any{"type": "join", "version": 1, "token": token})
	if r := next(); r.Type != "welcome" {
		t.Fatalf("join got %+v", r)
	}
	for _, bad := range []map[string]any{
		{"type": "restart", "target": "pub"},
		{"type": "quality", "participantId": b.Participants[0].ID, "maxLayer": "x"},
		{"type": "quality", "participantId": "nobody", "maxLayer": "q"},
		{"type": "quality", "participantId": b.Participants[1].ID, "maxLayer": "q"},
	} {
		send(bad)
		if r := next(); r.Type != "error" || r.Code != "bad_message" || r.Fatal {
			t.Fatalf("%v got %+v, want a non-fatal bad_message", bad, r)
		}
	}
	send(map[string]any{"type": "quality", "participantId": b.Participants[0].ID, "maxLayer": "q"})
	send(map[string]any{"type": "restart", "target": "sub"})
	send(map[string]any{"type": "restart", "target": "sub"})
	if r := next(); r.Type != "error" || r.Code != "rate_limited" {
		t.Fatalf("a second restart at once got %+v, want rate_limited", r)
	}

	// Ten returns to the held place in a minute are fine, the eleventh is
	// refused; the place itself is kept.
	for i := 1; i <= 11; i++ {
		c, err := client.Dial(context.Background(), client.Options{URL: srv.WSURL, Token: token, LoopbackOnly: true})
		if i <= 10 {
			if err != nil {
				t.Fatalf("return %d refused: %v", i, err)
			}
			c.Close()
			continue
		}
		assertRefused(t, err, "too_many_reconnects")
	}
}

// testLog is a client's log, printed if the test fails (testkit.Log).
func testLog(t *testing.T, name string) *slog.Logger {
	return testkit.Log(t, "client", name)
}

// dialOpts is dial with options (URL filled in).
func dialOpts(t *testing.T, srv *testkit.Server, o client.Options) *client.Client {
	t.Helper()
	o.URL = srv.WSURL
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestReconnectingClientsLeaveNoGoroutines is the leak check of
// TestNoGoroutineOutlivesAStoppedServer with clients that reconnect: a
// resume, a redial that is never answered, then Close and shutdown must
// leave nothing running (watchdogs, redial loops, held places, track
// readers).
func TestReconnectingClientsLeaveNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := testkit.Start(t)
		var down atomic.Bool
		gate := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if down.Load() {
				return nil, errors.New("network down")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		b, clients := joinLiveWith(t, srv, 1, func(int) client.Options {
			return client.Options{LoopbackOnly: true, Reconnect: true, NetDial: gate}
		})
		waitMedia(t, b, clients, nil)
		drain(clients...)
		clients[1].DropConnection()
		await(t, clients[1], 5*time.Second, client.EventReconnected, nil)
		// Now one that is still redialling when it is closed.
		down.Store(true)
		clients[0].DropConnection()
		await(t, clients[0], 5*time.Second, client.EventReconnecting, nil)
		for _, c := range clients {
			c.Close()
		}
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after stopping:\n%s", before, now, interesting(string(buf[:n])))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// halfOpenDialer dials connections whose Close ends them for the client
// only: the server is never told (a network gone silently, a half-open TCP
// connection). The real connections close when the test ends.
func halfOpenDialer(t *testing.T) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		return &halfOpen{Conn: c}, nil
	}
}

type halfOpen struct{ net.Conn }

// Close fails the client's reads and writes at once and leaves the
// connection open.
func (h *halfOpen) Close() error { return h.Conn.SetDeadline(time.Now()) }

// TestResumeReplacesAConnectionTheServerStillHolds: the client gives its
// socket up without the server knowing (the server would find out by its
// ping timeout, 45 s later) and resumes on a new one. The server takes the
// media session over to the new socket, ends the old one with replaced,
// and the others notice nothing.
func TestResumeReplacesAConnectionTheServerStillHolds(t *testing.T) {
	srv := testkit.Start(t)
	dialer := halfOpenDialer(t)
	b, clients := joinLiveWith(t, srv, 1, func(int) client.Options {
		return client.Options{LoopbackOnly: true, Reconnect: true, NetDial: dialer}
	})
	waitMedia(t, b, clients, nil)
	a, other := clients[1], clients[0]

	drain(clients...)
	a.DropConnection()
	ev, _ := await(t, a, 5*time.Second, client.EventReconnected, nil)
	if !ev.Resumed {
		t.Fatalf("resume over a connection the server still holds did not resume: %+v", ev)
	}
	requireFlow(t, b, clients, 10*time.Second)
	for len(other.Events()) > 0 {
		if m := <-other.Events(); m.Type == "participantState" || m.Type == "participantLeft" || m.Type == "participantJoined" {
			t.Fatalf("the prisoner saw %s %s: nothing changed for them", m.Type, m.State)
		}
	}
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 1 {
		t.Errorf("resumes_total = %v, want 1", n)
	}
}
