package recording

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp/codecs"
)

// chromiumPath returns Chromium's executable; without it the test is
// skipped, or failed on CI (scripts/test-deps.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/test-deps.sh installs it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// played is what the page reports of one file.
type played struct {
	Duration float64 `json:"duration"` // seconds
	Width    int     `json:"width"`
	Frames   int     `json:"frames"` // video frames decoded
	Time     float64 `json:"time"`   // playback position at the end
	Error    string  `json:"error"`
}

// playJS loads file %q in a muted <%s> element, reads its duration, seeks
// to the middle, plays for half a second and reports.
const playJS = `(async (name, kind) => {
	const el = document.createElement(kind);
	el.muted = true;
	el.preload = 'auto';
	document.body.append(el);
	const event = (type) => new Promise((ok, fail) => {
		el.addEventListener(type, ok, {once: true});
		el.addEventListener('error', () => fail(new Error(el.error ? el.error.message || String(el.error.code) : 'error')), {once: true});
	});
	try {
		const meta = event('loadedmetadata');
		el.src = name;
		await meta;
		const duration = el.duration;
		const seeked = event('seeked');
		el.currentTime = duration / 2;
		await seeked;
		await el.play();
		await new Promise((ok) => setTimeout(ok, 500));
		el.pause();
		const q = kind === 'video' ? el.getVideoPlaybackQuality().totalVideoFrames : 0;
		return {duration, width: el.videoWidth || 0, frames: q, time: el.currentTime, error: ''};
	} catch (e) {
		return {duration: 0, width: 0, frames: 0, time: 0, error: String(e.message || e)};
	}
})(%q, %q)`

// Chromium, where the monitoring wall plays recordings back, reads each
// file's duration, seeks to its middle and plays it: Opus and VP8 (the
// clip), VP9 and H.264 (made by ffmpeg when it is installed).
func TestChromiumPlaysRecordings(t *testing.T) {
	exe := chromiumPath(t)
	clip := loadClip(t)
	c, err := NewCall(t.TempDir(), "c", time.Now(), Options{QueueLen: 1 << 14})
	if err != nil {
		t.Fatal(err)
	}
	add := func(kind, mimeType string) *Track {
		tr, err := c.AddTrack("visitor:1", mimeType, kind, mimeType, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	vp, _ := vp8Packets(clip, 1, 1, 1)
	feed(add(KindVideo, "video/VP8"), vp)
	feed(add(KindAudio, "audio/opus"), opusPackets(clip, 1, 1))
	if haveFFmpeg(t) {
		vp9 := ivfFrames(t, ffmpegEncode(t, ".ivf", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
			"-g", "30", "-lag-in-frames", "0", "-auto-alt-ref", "0", "-f", "ivf"))
		feed(add(KindVideo, "video/VP9"), packetize(vp9, &codecs.VP9Payloader{}, 90000, 3000, 1, 1))
		h264 := annexBAccessUnits(ffmpegEncode(t, ".h264", "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
			"-g", "30", "-bf", "0", "-tune", "zerolatency", "-x264-params", "aud=1", "-f", "h264"))
		feed(add(KindVideo, "video/H264"), packetize(h264, &codecs.H264Payloader{}, 90000, 3000, 1, 1))
	}
	m := closeCall(t, c)
	srv := httptest.NewServer(http.FileServer(http.Dir(c.Dir())))
	defer srv.Close()

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, f := range m.Files {
		p, err := chromedp.Run(ctx, chromedp.Evaluate[played](fmt.Sprintf(playJS, f.Name, f.Kind), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		t.Logf("%s: %+v", f.Name, p)
		switch {
		case p.Error != "":
			t.Errorf("%s: Chromium: %s", f.Name, p.Error)
		case math.Abs(p.Duration*1000-float64(f.DurationMs)) > 1:
			t.Errorf("%s: Chromium says %.3f s, the manifest %d ms", f.Name, p.Duration, f.DurationMs)
		case p.Time < p.Duration/2:
			t.Errorf("%s: played to %.3f s from the middle of %.3f s", f.Name, p.Time, p.Duration)
		case f.Kind == KindVideo && (p.Frames == 0 || p.Width == 0):
			t.Errorf("%s: no video decoded: %+v", f.Name, p)
		}
	}
}
