package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// The monitoring wall (web/static/monitor.html) in a real browser: a
// security officer of the demo prison signs in, sees the social visit in
// progress, watches it as a hidden subscriber (both participants' video
// decoding and playing), mutes the visitor with a reason, ends the call with
// another, then plays the call's recording with both actions on its
// timeline; watches a legal call under video-only supervision without any
// sound; and sees a failed recording as an alarm. The join page's side of
// moderation is tested here too. The participants are Go clients publishing the loadtest clip
// (real VP8 simulcast and Opus), so the only browser is the wall.

// wallTile is one participant's picture in a watched call.
type wallTile struct {
	ParticipantID string  `json:"participantId"`
	Name          string  `json:"name"`
	VideoWidth    int     `json:"videoWidth"`
	VideoHeight   int     `json:"videoHeight"`
	CurrentTime   float64 `json:"currentTime"`
	Audio         bool    `json:"audio"`
	Note          string  `json:"note"`
}

// wallWatch is a watched call as the page's test hook describes it.
type wallWatch struct {
	State     string     `json:"state"`
	Detail    string     `json:"detail"`
	VideoOnly bool       `json:"videoOnly"`
	Tiles     []wallTile `json:"tiles"`
}

// monitorCall is one call of GET /api/v1/monitor/calls.
type monitorCall struct {
	BookingID    int64 `json:"bookingId"`
	Participants []struct {
		ID          string `json:"id"`
		Connected   bool   `json:"connected"`
		Muted       bool   `json:"muted"`
		VideoPaused bool   `json:"videoPaused"`
	} `json:"participants"`
	Recording string `json:"recording"`
}

// TestMonitoringWallWatchesMutesAndEndsACall: the social visit is on the
// wall, recorded; watching it plays both participants with sound; a mute
// with a reason reaches the participants and the API; ending it with a
// reason ends it for everyone as "staff" and terminates the booking; nobody
// in the call ever hears of the monitor; the recording then plays in step
// with both actions marked where they happened.
func TestMonitoringWallWatchesMutesAndEndsACall(t *testing.T) {
	exe := chromium(t)
	srv, b := liveVisit(t)
	prisoner, visitor := b.Participants[0], b.Participants[1]

	// Both participants join and publish real media.
	published := time.Now()
	events := publishAll(t, srv, b)

	tab := browser(t, exe)
	card := signInToWall(t, srv, tab, b)
	text := evalIn[string](t, tab, fmt.Sprintf(`document.querySelector('%s').innerText`, card))
	for _, want := range []string{prisoner.Name, visitor.Name, "Social visit", b.Reference, "Time left"} {
		if !strings.Contains(text, want) {
			t.Errorf("the wall's card does not show %q:\n%s", want, text)
		}
	}

	wallPoll(t, tab, 10*time.Second, "the wall shows the call being recorded",
		fmt.Sprintf(`!!document.querySelector('%s .rec-state[data-state="recording"]')`, card))

	// Watch: both pictures decode and play, with sound.
	w := watchPlaying(t, tab, b, card)
	for _, tile := range w.Tiles {
		if w.VideoOnly || !tile.Audio {
			t.Errorf("%s: a social call is watched with sound; videoOnly %v, audio %v", tile.Name, w.VideoOnly, tile.Audio)
		}
	}

	// Mute the visitor, with a reason.
	muteButton := fmt.Sprintf(`%s [data-participant=%q] button[data-action="mute"]`, card, visitor.ID)
	staffStep(t, tab, "mute the visitor with a reason", 20*time.Second,
		chromedp.Click(chromedp.CSS(muteButton)),
		chromedp.WaitVisible(chromedp.ID("reason-dialog")),
		chromedp.SendKeys(chromedp.ID("reason-text"), "Test of muting: raised voice"),
		chromedp.Click(chromedp.ID("reason-confirm")),
		chromedp.WaitNotVisible(chromedp.ID("reason-dialog")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`%s [data-participant=%q] button[data-action="unmute"]`, card, visitor.ID))),
	)
	if status := evalIn[string](t, tab, `document.getElementById('status').textContent`); !strings.Contains(status, visitor.Name+" is muted") {
		t.Errorf("the page says %q after muting, want %q", status, visitor.Name+" is muted.")
	}
	// The participants are told, neutrally, and the API says so.
	for i, ev := range events {
		m := ev.next(t, "moderation", 10*time.Second)
		if m.ParticipantID != visitor.ID {
			t.Errorf("%s: moderation names %q, want the visitor %q", b.Participants[i].Name, m.ParticipantID, visitor.ID)
		}
	}
	security := srv.Login(t, "security", "demo-security-pass")
	var listed struct {
		Calls []monitorCall `json:"calls"`
	}
	if st := srv.Do(t, http.MethodGet, "/api/v1/monitor/calls", security, nil, &listed); st != http.StatusOK {
		t.Fatalf("GET /api/v1/monitor/calls: status %d", st)
	}
	muted := false
	for _, c := range listed.Calls {
		for _, p := range c.Participants {
			if c.BookingID == b.ID && p.ID == visitor.ID {
				muted = p.Muted
			}
		}
	}
	if !muted {
		t.Errorf("after the mute the API does not list the visitor as muted: %+v", listed.Calls)
	}
	wallPoll(t, tab, 10*time.Second, "the wall shows the visitor muted by staff", fmt.Sprintf(
		`(document.querySelector('%s [data-participant=%q] .person-mod')?.textContent || '').includes('Muted by staff')`, card, visitor.ID))

	// Let the call run a while, so that its recording has something to play.
	if d := time.Until(published.Add(callMedia)); d > 0 {
		time.Sleep(d)
	}

	// End the call, with a reason: the participants are told it was staff.
	staffStep(t, tab, "end the call with a reason", 20*time.Second,
		chromedp.Click(chromedp.CSS(card+` .wall-actions button.button-danger`)),
		chromedp.WaitVisible(chromedp.ID("reason-dialog")),
		chromedp.SendKeys(chromedp.ID("reason-text"), "Test of ending a call"),
		chromedp.Click(chromedp.ID("reason-confirm")),
		chromedp.WaitNotVisible(chromedp.ID("reason-dialog")),
	)
	for i, ev := range events {
		if m := ev.next(t, "ended", 10*time.Second); m.Reason != "staff" {
			t.Errorf("%s: ended with reason %q, want staff", b.Participants[i].Name, m.Reason)
		}
	}
	wallPoll(t, tab, 15*time.Second, "the call leaves the wall", fmt.Sprintf(`!document.querySelector('%s')`, card))
	got, err := srv.App.Bookings.Booking(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != booking.StatusTerminated {
		t.Errorf("booking status %q after staff ended the call, want %q", got.Status, booking.StatusTerminated)
	}

	// Nobody in the call ever heard of the monitor.
	for i, ev := range events {
		for _, p := range ev.welcome.Participants {
			if isMonitor(p) {
				t.Errorf("%s's welcome lists a monitor: %+v", b.Participants[i].Name, p)
			}
		}
		for _, m := range ev.all() {
			if (m.Type == "participantJoined" && isMonitor(m.Participant)) || strings.HasPrefix(m.ParticipantID, "monitor:") {
				t.Errorf("%s was told of the monitor: %+v", b.Participants[i].Name, m)
			}
		}
	}

	wallPlayback(t, srv, tab, b, visitor.Name)
}

// isMonitor says whether a peer a participant was told of is a monitor.
func isMonitor(p client.Peer) bool {
	return p.Role == "monitor" || strings.HasPrefix(p.ID, "monitor:")
}

// TestMonitoringWallWatchesALegalCallVideoOnly: a legal call is on the wall
// only with video-only supervision ("in sight, out of hearing"), and then
// the wall shows its pictures and has nothing to play its sound with.
func TestMonitoringWallWatchesALegalCallVideoOnly(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemo(t, start, booking.CallLegal, 1)
	security := srv.Login(t, "security", "demo-security-pass")
	body := map[string]any{"enabled": true, "reason": "Court order for supervision in sight, out of hearing"}
	if st := srv.Do(t, http.MethodPut, fmt.Sprintf("/api/v1/bookings/%d/sight-only", b.ID), security, body, nil); st != http.StatusOK {
		t.Fatalf("set sight-only: status %d", st)
	}
	srv.Clock.Set(start.Add(time.Second))
	publishAll(t, srv, b)

	tab := browser(t, exe)
	card := signInToWall(t, srv, tab, b)
	if text := evalIn[string](t, tab, fmt.Sprintf(`document.querySelector('%s').innerText`, card)); !strings.Contains(text, "In sight, out of hearing: video only") ||
		!strings.Contains(text, "Legal call") || !strings.Contains(text, "Not recorded") {
		t.Errorf("the wall's card does not say it is a legal call, not recorded, watched video only:\n%s", text)
	}
	w := watchPlaying(t, tab, b, card)
	if !w.VideoOnly {
		t.Errorf("the legal call is not watched video only: %+v", w)
	}
	for _, tile := range w.Tiles {
		if tile.Audio {
			t.Errorf("%s: the wall plays sound of a legal call", tile.Name)
		}
	}
	if n := evalIn[int](t, tab, fmt.Sprintf(`document.querySelectorAll('%s audio').length`, card)); n != 0 {
		t.Errorf("the legal call's card has %d audio elements, want none", n)
	}
	state := evalIn[string](t, tab, fmt.Sprintf(`document.querySelector('%s .watch-state').textContent`, card))
	if !strings.Contains(state, "In sight, out of hearing: video only") {
		t.Errorf("while watching the wall says %q, want it to say video only", state)
	}

	// Supervision withdrawn: the watch ends at once, saying why, and the
	// call leaves the wall.
	body["enabled"], body["reason"] = false, "Court order lifted"
	security = srv.Login(t, "security", "demo-security-pass") // the first session expired with the clock's move
	if st := srv.Do(t, http.MethodPut, fmt.Sprintf("/api/v1/bookings/%d/sight-only", b.ID), security, body, nil); st != http.StatusOK {
		t.Fatalf("withdraw sight-only: status %d", st)
	}
	wallPoll(t, tab, 10*time.Second, "the wall stops watching the privileged call and says why",
		`document.getElementById('status').textContent.includes('privileged again and cannot be monitored')`)
	wallPoll(t, tab, 10*time.Second, "the privileged call leaves the wall", fmt.Sprintf(`!document.querySelector('%s')`, card))
}

// liveVisit starts a server and books a social visit of the demo prisoner
// and one visitor whose call is live now on the server's clock.
func liveVisit(t *testing.T) (*testkit.Server, booking.Booking) {
	t.Helper()
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	return srv, b
}

// publishAll connects every participant of b as a Go client publishing the
// loadtest clip (VP8 simulcast and Opus) and follows their calls.
func publishAll(t *testing.T, srv *testkit.Server, b booking.Booking) []*callEvents {
	t.Helper()
	clip := loadClip(t)
	events := make([]*callEvents, len(b.Participants))
	for i, p := range b.Participants {
		c := dial(t, srv, testkit.TokenFromURL(t, p.JoinURL))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		pub, err := c.PublishMedia(ctx, client.PublishOptions{Layers: clip.Layers, Audio: clip.Audio, Simulcast: true})
		cancel()
		if err != nil {
			t.Fatalf("%s: publish: %v", p.Name, err)
		}
		events[i] = followCall(t, p.Name, c, pub)
	}
	return events
}

// signInToWall opens the monitoring wall, signs in as the demo security
// officer and waits until b's call is on the wall with every participant
// connected. It returns the CSS selector of the call's card.
func signInToWall(t *testing.T, srv *testkit.Server, tab context.Context, b booking.Booking) string {
	t.Helper()
	staffStep(t, tab, "open /monitor", 20*time.Second,
		chromedp.Navigate(srv.URL+"/monitor"),
		chromedp.WaitVisible(chromedp.ID("login-view")),
		chromedp.WaitEnabled(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	card := fmt.Sprintf(`[data-booking="%d"]`, b.ID)
	staffStep(t, tab, "sign in as the security officer and see the call on the wall", 30*time.Second,
		chromedp.SendKeys(chromedp.ID("username"), "security"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-security-pass"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("live-view")),
		chromedp.WaitVisible(chromedp.CSS(card)),
	)
	wallPoll(t, tab, 20*time.Second, "every participant listed as connected", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('%s .person')];
		return rows.length === %d && rows.every((r) => r.querySelector('.person-conn').dataset.connected === 'true');
	})()`, card, len(b.Participants)))
	return card
}

// watchPlaying presses the card's Watch button and waits until every
// participant's video is decoded (videoWidth > 0) and playing (currentTime
// advancing by at least 0.5 s over 1.5 s). It returns the watch as the page
// describes it then.
func watchPlaying(t *testing.T, tab context.Context, b booking.Booking, card string) *wallWatch {
	t.Helper()
	staffStep(t, tab, "watch the call", 10*time.Second,
		chromedp.Click(chromedp.CSS(card+` .wall-actions button.button-primary`)),
	)
	watchExpr := fmt.Sprintf(`window.gatehouseMonitor.watching()[%d] || null`, b.ID)
	want := len(b.Participants)
	var first *wallWatch
	deadline := time.Now().Add(40 * time.Second)
	for {
		w := evalIn[*wallWatch](t, tab, watchExpr)
		playing := 0
		if w != nil {
			for _, tile := range w.Tiles {
				if tile.VideoWidth > 0 && tile.CurrentTime > 0 {
					playing++
				}
			}
		}
		if playing == want {
			first = w
			break
		}
		if w != nil && (w.State == "failed" || w.State == "ended") {
			t.Fatalf("watching stopped: %s (%s)", w.State, w.Detail)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wall did not play every participant's video: %+v\npage: %s", w, wallState(tab, card))
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	later := evalIn[*wallWatch](t, tab, watchExpr)
	if later == nil || later.State != "watching" {
		t.Fatalf("watch state after playing: %+v", later)
	}
	if len(later.Tiles) != want {
		t.Errorf("the wall shows %d pictures, want %d: %+v", len(later.Tiles), want, later.Tiles)
	}
	for _, a := range first.Tiles {
		for _, c := range later.Tiles {
			if a.ParticipantID != c.ParticipantID {
				continue
			}
			t.Logf("%s: %dx%d, currentTime %.2f s then %.2f s, audio %v", c.Name, c.VideoWidth, c.VideoHeight, a.CurrentTime, c.CurrentTime, c.Audio)
			if c.CurrentTime-a.CurrentTime < 0.5 {
				t.Errorf("%s's video is not playing: currentTime %.2f s, 1.5 s later %.2f s", c.Name, a.CurrentTime, c.CurrentTime)
			}
		}
	}
	return later
}

// callEvents follows one Go participant's call: it applies the server's
// simulcast layer choices to its publisher (as the web client does) and
// keeps every other message for the test.
type callEvents struct {
	name    string
	welcome client.Message
	ch      chan client.Message
	seen    []client.Message
}

func followCall(t *testing.T, name string, c *client.Client, pub *client.Publisher) *callEvents {
	ev := &callEvents{name: name, welcome: c.Welcome(), ch: make(chan client.Message, 1024)}
	stop, done := make(chan struct{}), make(chan struct{})
	keep := func(m client.Message) {
		if m.Type == "layers" {
			pub.SetActiveLayers(m.Active)
			return
		}
		select {
		case ev.ch <- m:
		default:
		}
	}
	go func() {
		defer close(done)
		for {
			select {
			case m := <-c.Events():
				keep(m)
			case <-c.Done():
				for {
					select {
					case m := <-c.Events():
						keep(m)
					default:
						return
					}
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return ev
}

// next waits for the next message of type typ, keeping the others seen.
func (ev *callEvents) next(t *testing.T, typ string, within time.Duration) client.Message {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m := <-ev.ch:
			ev.seen = append(ev.seen, m)
			if m.Type == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("%s: no %s message within %v (saw %d others)", ev.name, typ, within, len(ev.seen))
			return client.Message{}
		}
	}
}

// all returns every message seen so far, and those still queued.
func (ev *callEvents) all() []client.Message {
	for {
		select {
		case m := <-ev.ch:
			ev.seen = append(ev.seen, m)
		default:
			return ev.seen
		}
	}
}

// wallPoll waits until a JavaScript condition holds on the wall, reporting
// the page's state if it does not.
func wallPoll(t *testing.T, tab context.Context, within time.Duration, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !evalIn[bool](t, tab, cond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v\npage: %s", what, within, wallState(tab, ""))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wallState describes the wall's visible messages for failure reports.
func wallState(tab context.Context, card string) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	js := fmt.Sprintf(`JSON.stringify({
		status: document.getElementById('status')?.textContent,
		liveError: document.getElementById('live-error')?.textContent,
		loginError: document.getElementById('login-error')?.textContent,
		calls: window.gatehouseMonitor ? window.gatehouseMonitor.calls() : null,
		watching: window.gatehouseMonitor ? window.gatehouseMonitor.watching() : null,
		card: %q ? document.querySelector(%q)?.innerText : '',
	})`, card, card)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	return s
}

// callMedia is how long the watched call carries media before staff end
// it, so that its recording has a few seconds to play.
const callMedia = 10 * time.Second

// wallPlayback opens the finished call's recording from the wall's list of
// recordings and plays it: every file's element plays in step with the
// shared timeline, and the staff actions (the visitor's mute, the end) are
// marked on it; choosing the mute's mark moves the whole recording there.
func wallPlayback(t *testing.T, srv *testkit.Server, tab context.Context, b booking.Booking, muted string) {
	t.Helper()
	id, started := completeRecording(t, srv, b.ID)
	// The list is by the day the recording started; show that day and the
	// booking's (the same unless the test's clock is moved).
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	from, to := started.In(london).Format(time.DateOnly), b.StartsAt.In(london).Format(time.DateOnly)
	if to < from {
		from, to = to, from
	}

	row := fmt.Sprintf(`#recordings-body tr[data-recording="%d"]`, id)
	staffStep(t, tab, "list the day's recordings and open the call's", 20*time.Second,
		chromedp.Click(chromedp.ID("tab-recordings")),
		chromedp.WaitVisible(chromedp.ID("recordings-filter")),
		staffChoose("recordings-from", from),
		staffChoose("recordings-to", to),
		chromedp.Click(chromedp.CSS(`#recordings-filter button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+` a`)),
		chromedp.WaitVisible(chromedp.ID("player")),
	)
	markers := evalIn[[]string](t, tab, `[...document.querySelectorAll('#player-markers button')].map((b) => b.getAttribute('aria-label'))`)
	// Where on the timeline (per cent) each mark is: the mute came a few
	// seconds before the end, which ended the recording.
	at := evalIn[[]float64](t, tab, `[...document.querySelectorAll('#player-markers button')].map((b) => parseFloat(b.style.left))`)
	if len(at) != 2 || at[0] <= 0 || at[0] >= 95 || at[1] < at[0] || at[1] > 100 {
		t.Errorf("the staff actions are not where they happened in the recording: marks at %v%% of it", at)
	}
	actions := evalIn[string](t, tab, `document.getElementById('recording-actions').innerText`)
	t.Logf("timeline marks: %q", markers)
	if len(markers) != 2 || !strings.Contains(actions, "Muted "+muted) || !strings.Contains(actions, "Test of muting: raised voice") ||
		!strings.Contains(actions, "Ended the call") {
		t.Errorf("the recording's staff actions are not both marked: marks %q, list:\n%s", markers, actions)
	}

	before := readPlayback(t, tab)
	t.Logf("recording: %.1f s, %d files", before.LengthMs/1000, len(before.Elements))
	if len(before.Elements) != 4 {
		t.Errorf("the player has %d files, want 4 (audio and video of both participants): %+v", len(before.Elements), before.Elements)
	}
	if before.LengthMs < 5000 {
		t.Fatalf("the recording lasts %.1f s, want most of the %v call", before.LengthMs/1000, callMedia)
	}
	staffStep(t, tab, "play", 5*time.Second, chromedp.Click(chromedp.ID("player-play")))
	time.Sleep(3 * time.Second)
	p := readPlayback(t, tab)
	t.Logf("after 3 s: position %.2f s, stalled %v, %d corrections", p.PositionMs/1000, p.Stalled, p.Corrections)
	if !p.Playing || p.PositionMs < 1500 {
		t.Errorf("playing %v at %.2f s 3 s after Play, want playing past 1.5 s", p.Playing, p.PositionMs/1000)
	}
	for _, e := range p.Elements {
		if e.Expected == nil {
			t.Logf("%s: not on the timeline here", e.Name)
			continue
		}
		t.Logf("%s: at %.2f s, timeline says %.2f s, paused %v, readyState %d, width %d",
			e.Name, e.CurrentTime, *e.Expected, e.Paused, e.ReadyState, e.VideoWidth)
		if e.Paused || e.CurrentTime < 0.5 {
			t.Errorf("%s is not playing (at %.2f s, paused %v)", e.Name, e.CurrentTime, e.Paused)
		}
		if d := e.CurrentTime - *e.Expected; d > 0.5 || d < -0.5 {
			t.Errorf("%s is %.2f s away from the shared timeline", e.Name, d)
		}
		if e.Kind == "video" && e.VideoWidth == 0 {
			t.Errorf("%s: no picture decoded", e.Name)
		}
	}

	// The mute's mark moves the whole recording to the mute.
	staffStep(t, tab, "choose the mute's mark", 5*time.Second,
		chromedp.Click(chromedp.CSS(`#player-markers button:first-child`)))
	p = readPlayback(t, tab)
	if mute := at[0] / 100 * p.LengthMs; p.PositionMs-mute < -500 || p.PositionMs-mute > 1500 {
		t.Errorf("after choosing the mute's mark (at %.2f s) the recording is at %.2f s", mute/1000, p.PositionMs/1000)
	}
}

// completeRecording waits until the booking's recording is complete and
// returns its id and start.
func completeRecording(t *testing.T, srv *testkit.Server, bookingID int64) (int64, time.Time) {
	t.Helper()
	security := srv.Login(t, "security", "demo-security-pass")
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Without dates: the 31 days up to the server's today.
		var list struct {
			Recordings []struct {
				ID        int64     `json:"id"`
				BookingID int64     `json:"bookingId"`
				Status    string    `json:"status"`
				StartedAt time.Time `json:"startedAt"`
			} `json:"recordings"`
		}
		if st := srv.Do(t, http.MethodGet, "/api/v1/recordings", security, nil, &list); st != http.StatusOK {
			t.Fatalf("list recordings: status %d", st)
		}
		for _, r := range list.Recordings {
			if r.BookingID == bookingID && r.Status == "complete" {
				return r.ID, r.StartedAt
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call's recording is not complete: %+v", list.Recordings)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// playback is the recording player's state, from the page's test hook.
type playback struct {
	Playing     bool    `json:"playing"`
	Stalled     bool    `json:"stalled"`
	PositionMs  float64 `json:"positionMs"`
	LengthMs    float64 `json:"lengthMs"`
	Corrections int     `json:"corrections"`
	Elements    []struct {
		Name        string   `json:"name"`
		Kind        string   `json:"kind"`
		CurrentTime float64  `json:"currentTime"`
		Expected    *float64 `json:"expected"`
		Paused      bool     `json:"paused"`
		ReadyState  int      `json:"readyState"`
		VideoWidth  int      `json:"videoWidth"`
	} `json:"elements"`
}

func readPlayback(t *testing.T, tab context.Context) playback {
	t.Helper()
	return evalIn[playback](t, tab, `window.gatehouseMonitor.playback()`)
}

// TestJoinPageShowsStaffModeration: a visitor in Chromium is told before
// joining and during the call that the call is recorded and may be
// monitored; when staff pause the prisoner's video and mute them (the
// prisoner is a Go client), the visitor's page shows it neutrally on the
// prisoner's picture and says it; when staff end the call, the page says
// prison staff ended it.
func TestJoinPageShowsStaffModeration(t *testing.T) {
	exe := chromium(t)
	srv, b := liveVisit(t)
	prisoner, visitor := b.Participants[0], b.Participants[1]
	const notice = "This call is recorded and may be monitored by prison staff."

	tab := browser(t, exe)
	staffStep(t, tab, "open the visitor's join link", 20*time.Second,
		chromedp.Navigate(visitor.JoinURL),
		chromedp.WaitEnabled(chromedp.ID("join")),
	)
	if got := evalIn[string](t, tab, `document.getElementById('recording-notice').textContent`); got != notice {
		t.Errorf("before joining the page says %q, want %q", got, notice)
	}
	staffStep(t, tab, "join", 10*time.Second, chromedp.Click(chromedp.ID("join")))
	pollIn(t, tab, 20*time.Second, `window.gatehouse.state() === 'live'`, "the visitor's call is live")
	if got := evalIn[string](t, tab, `document.getElementById('call-recorded').hidden ? '' : document.getElementById('call-recorded').textContent`); got != notice {
		t.Errorf("in the call the page says %q, want %q", got, notice)
	}
	only := b
	only.Participants = []booking.Participant{prisoner}
	publishAll(t, srv, only)
	tile := fmt.Sprintf(`#tiles .tile[data-participant=%q]`, prisoner.ID)
	pollIn(t, tab, 20*time.Second, fmt.Sprintf(`!!document.querySelector('%s') && document.querySelector('%s video').videoWidth > 0`, tile, tile),
		"the prisoner's picture shows")

	security := srv.Login(t, "security", "demo-security-pass")
	act := func(action, pid string) {
		t.Helper()
		body := map[string]string{"action": action, "participantId": pid, "reason": "Test of what participants are told"}
		if st := srv.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID), security, body, nil); st != http.StatusOK {
			t.Fatalf("%s: status %d", action, st)
		}
	}
	act("pause_video", prisoner.ID)
	pollIn(t, tab, 10*time.Second, fmt.Sprintf(`(document.querySelector('%s .tile-note')?.textContent || '') === 'Video paused by staff'
		&& document.querySelector('%s').classList.contains('no-video')`, tile, tile), "the prisoner's picture says paused by staff")
	if got := evalIn[string](t, tab, `document.getElementById('status').textContent`); got != prisoner.Name+"'s video was paused by staff." {
		t.Errorf("the page announces %q after the pause", got)
	}
	act("mute", prisoner.ID)
	pollIn(t, tab, 10*time.Second, fmt.Sprintf(`(document.querySelector('%s .tile-note')?.textContent || '') === 'Video paused and muted by staff'`, tile),
		"the prisoner's picture says muted by staff")
	if got := evalIn[string](t, tab, `document.getElementById('status').textContent`); got != prisoner.Name+" was muted by staff." {
		t.Errorf("the page announces %q after the mute", got)
	}
	act("end", "")
	pollIn(t, tab, 10*time.Second, `window.gatehouse.state() === 'ended'`, "the call ends for the visitor")
	if got := evalIn[string](t, tab, `document.getElementById('ended-reason').textContent`); got != "The call was ended by prison staff." {
		t.Errorf("after staff ended the call the page says %q", got)
	}
}

// TestMonitoringWallRaisesTheAlarmWhenRecordingFails: a social visit whose
// recording cannot even start (the recordings directory cannot be made) is
// an alarm on the wall, read out (role=alert), not a quiet "not recorded".
func TestMonitoringWallRaisesTheAlarmWhenRecordingFails(t *testing.T) {
	exe := chromium(t)
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testkit.StartWith(t, func(c *app.Config) { c.RecordingsDir = filepath.Join(blocker, "recordings") })
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	publishAll(t, srv, b)

	tab := browser(t, exe)
	card := signInToWall(t, srv, tab, b)
	wallPoll(t, tab, 15*time.Second, "the wall raises the recording alarm", fmt.Sprintf(`(() => {
		const alarm = document.querySelector('%s .wall-alarm[role="alert"]');
		return !!alarm && alarm.textContent.startsWith('Recording failed on call %s')
			&& document.querySelector('%s').classList.contains('alarm')
			&& document.querySelector('%s .rec-state').dataset.state === 'failed';
	})()`, card, b.Reference, card, card))
	if title := evalIn[string](t, tab, `document.title`); !strings.HasPrefix(title, "Recording failed") {
		t.Errorf("the page's title is %q while a recording has failed", title)
	}
}
