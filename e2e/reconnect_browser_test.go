package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestBrowserResumesAfterSocketDrop holds a visit between two headless
// Chromium pages, drops one page's signalling socket (as a lost network
// would; it redials 3 s later), and requires: the other page shows that
// participant reconnecting and then back, the dropped page resumes its
// media session (ICE restarts, no new join) without leaving the call
// screen, and both pages decode video again.
func TestBrowserResumesAfterSocketDrop(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	tabs := openCall(t, exe, b)
	waitFramesFrom(t, b, tabs, nil, 45*time.Second)

	dropped := tabs[1]
	droppedID := b.Participants[1].ID
	evalIn[bool](t, dropped, `(window.gatehouse.dropConnection(3000), true)`)
	pollIn(t, tabs[0], 5*time.Second, `window.gatehouse.participantStates()[`+jsString(droppedID)+`] === 'reconnecting'`,
		"the other page shows the participant reconnecting")
	pollIn(t, dropped, 3*time.Second, `window.gatehouse.connection() === 'reconnecting'`, "the dropped page shows itself reconnecting")
	pollIn(t, dropped, 15*time.Second, `window.gatehouse.resumes() === 1 && window.gatehouse.connection() === 'connected'`,
		"the dropped page resumes")
	resumed := time.Now()
	pollIn(t, tabs[0], 5*time.Second, `window.gatehouse.participantStates()[`+jsString(droppedID)+`] === 'connected'`,
		"the other page shows the participant back")
	// Both of its connections went through an ICE restart and are back.
	pollIn(t, dropped, 10*time.Second, `(() => { const s = window.gatehouse.connectionStates(); return s.pub === 'connected' && s.sub === 'connected'; })()`,
		"the dropped page's connections reconnect")
	t.Logf("connections back %v after the resume", time.Since(resumed))
	base := make([]pageStats, len(tabs))
	for i, tab := range tabs {
		base[i] = evalIn[pageStats](t, tab, `window.gatehouse.stats()`)
	}
	waitFramesFrom(t, b, tabs, base, 30*time.Second)
	for i, tab := range tabs {
		if st := evalIn[string](t, tab, `window.gatehouse.state()`); st != "live" {
			t.Errorf("%s: page state %q after the resume, want live", b.Participants[i].Name, st)
		}
	}
	if n := metricValue(t, srv, "gatehouse_signalling_resumes_total"); n != 1 {
		t.Errorf("resumes_total = %v, want 1", n)
	}
}

// openCall opens each participant's join link in a browser of its own and
// presses Join.
func openCall(t *testing.T, exe string, b booking.Booking) []context.Context {
	t.Helper()
	tabs := make([]context.Context, len(b.Participants))
	for i, p := range b.Participants {
		tabs[i] = browser(t, exe)
		ctx, cancel := context.WithTimeout(tabs[i], 30*time.Second)
		err := chromedp.Do(ctx,
			chromedp.Navigate(p.JoinURL),
			chromedp.WaitEnabled(chromedp.ID("join")),
			chromedp.Click(chromedp.ID("join")),
		)
		cancel()
		if err != nil {
			t.Fatalf("%s: open join page: %v", p.Name, err)
		}
	}
	return tabs
}

// waitFramesFrom waits until every page has decoded minFrames more video
// frames than in base (nil: from the start).
func waitFramesFrom(t *testing.T, b booking.Booking, tabs []context.Context, base []pageStats, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done := true
		var got []pageStats
		for i, tab := range tabs {
			s := evalIn[pageStats](t, tab, `window.gatehouse.stats()`)
			got = append(got, s)
			from := 0
			if base != nil {
				from = base[i].FramesDecoded
			}
			if s.FramesDecoded-from < minFrames {
				done = false
			}
		}
		if done {
			for i, s := range got {
				t.Logf("%s decoded %d frames", b.Participants[i].Name, s.FramesDecoded)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames not decoded in time: %+v (from %+v)", got, base)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// evalIn evaluates a JavaScript expression (awaiting a promise) in a page.
func evalIn[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pollIn waits until a JavaScript condition holds in a page.
func pollIn(t *testing.T, tab context.Context, within time.Duration, cond, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !evalIn[bool](t, tab, cond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal (ids are hex).
func jsString(s string) string { return "'" + s + "'" }
