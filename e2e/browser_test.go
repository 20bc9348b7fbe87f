package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// minFrames is how many video frames each browser must decode of the other.
const minFrames = 30

// chromium finds the browser, failing in CI and skipping elsewhere when it
// is missing (the test command installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("GATEHOUSE_CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; the test command installs it (make test)")
	}
	t.Skip("chromium is not installed; run make test to install it")
	return ""
}

// browser starts one headless Chromium with a fake camera and microphone and
// a profile of its own.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	return browserWith(t, exe, nil)
}

// browserWith is browser with extra Chromium flags.
func browserWith(t *testing.T, exe string, flags map[string]any) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	for k, v := range flags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

type pageStats struct {
	FramesDecoded      int `json:"framesDecoded"`
	PacketsReceived    int `json:"packetsReceived"`
	RemoteParticipants int `json:"remoteParticipants"`
}

// TestTwoBrowsersHoldAVisit opens both join links of one visit in two
// headless Chromium instances, joins through the page's own button, and
// waits until each has decoded at least minFrames frames of the other's
// video (read from inbound-rtp stats).
func TestTwoBrowsersHoldAVisit(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))

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

	deadline := time.Now().Add(45 * time.Second)
	stats := make([]pageStats, len(tabs))
	for {
		done := true
		for i, tab := range tabs {
			ctx, cancel := context.WithTimeout(tab, 5*time.Second)
			var err error
			stats[i], err = chromedp.Run(ctx, chromedp.Evaluate[pageStats](`window.gatehouse.stats()`, chromedp.EvalAwaitPromise))
			cancel()
			if err != nil {
				t.Fatalf("%s: read stats: %v", b.Participants[i].Name, err)
			}
			if stats[i].FramesDecoded < minFrames {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			state, _ := chromedp.Run(tabs[0], chromedp.Evaluate[string](`window.gatehouse.state()`))
			t.Fatalf("frames not decoded in time: %+v (first page state %q)", stats, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, s := range stats {
		t.Logf("%s decoded %d frames from %d packets (%d remote participants)", b.Participants[i].Name, s.FramesDecoded, s.PacketsReceived, s.RemoteParticipants)
		if s.RemoteParticipants != 1 {
			t.Errorf("%s sees %d remote participants, want 1", b.Participants[i].Name, s.RemoteParticipants)
		}
	}
}
