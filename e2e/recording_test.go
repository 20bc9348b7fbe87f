package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/loadtest/media"
	"github.com/gatehouse/gatehouse/recording"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// ffprobeFrames decodes a recorded file with ffmpeg's own tools and
// returns the frames (video) or packets (audio) it read.
func ffprobeFrames(t *testing.T, path, kind string) int {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffprobe is missing: scripts/test-deps.sh installs ffmpeg")
		}
		t.Skip("ffprobe not installed (scripts/test-deps.sh installs it)")
	}
	// A full decode: any corrupt frame is an error.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg cannot decode %s: %v: %s", filepath.Base(path), err, out)
	}
	entry := "stream=nb_read_frames"
	count := "-count_frames"
	if kind == "audio" {
		entry, count = "stream=nb_read_packets", "-count_packets"
	}
	out, err := exec.Command("ffprobe", "-v", "error", count, "-select_streams", "0", "-show_entries", entry,
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", filepath.Base(path), err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
	if err != nil {
		t.Fatalf("ffprobe %s: %q: %v", filepath.Base(path), out, err)
	}
	return n
}

// TestRecordedCallDecodesAndMatchesItsManifest records a real social call
// (two clients publishing an encoded VP8 simulcast clip and Opus) at the
// media server, ends it, and checks the files: ffmpeg decodes every one,
// the frame counts match the container's, the hashes match the manifest,
// each track lasts as long as it was sent within a second. Then retention:
// 91 days later the recording is deleted unless held.
func TestRecordedCallDecodesAndMatchesItsManifest(t *testing.T) {
	srv := testkit.Start(t)
	clip, err := media.Load()
	if err != nil {
		t.Fatal(err)
	}
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	// Logged in first: the password hash, slow under the race detector,
	// must not fall between the media and the end of the call.
	sec := srv.Login(t, "security", "demo-security-pass")
	clients := make([]*client.Client, len(b.Participants))
	for i, p := range b.Participants {
		clients[i] = dial(t, srv, testkit.TokenFromURL(t, p.JoinURL))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	for _, c := range clients {
		if _, err := c.PublishMedia(ctx, client.PublishOptions{Layers: clip.Layers, Audio: clip.Audio, Simulcast: true}); err != nil {
			t.Fatal(err)
		}
	}
	waitMedia(t, b, clients, nil)
	time.Sleep(5 * time.Second)

	end := map[string]string{"action": "end", "reason": "end of the recording test"}
	if st := srv.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/monitor/calls/%d/actions", b.ID), sec, end, nil); st != http.StatusOK {
		t.Fatalf("end call: status %d", st)
	}
	// The recording ends with the call, inside that request.
	sent := time.Since(began)
	dir := filepath.Join(srv.App.RecordingsDir(), fmt.Sprint(b.ID))
	var m recording.Manifest
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err = recording.VerifyManifest(dir)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified manifest in %s: %v", dir, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	kinds := map[string]int{}
	for _, f := range m.Files {
		kinds[f.Kind]++
		path := filepath.Join(dir, f.Name)
		info, err := recording.Inspect(path)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		decoded := ffprobeFrames(t, path, f.Kind)
		if decoded != info.Frames || int64(info.Frames) != f.Frames {
			t.Errorf("%s: ffmpeg read %d frames, the container holds %d, the manifest says %d", f.Name, decoded, info.Frames, f.Frames)
		}
		minFrames := int(sent.Seconds() * 20) // 30 fps video, 50 packets/s audio; generous floor
		if decoded < minFrames {
			t.Errorf("%s: %d frames in %.1f s of media", f.Name, decoded, sent.Seconds())
		}
		// Each track lasts from its first packet to the end of the call.
		want := sent.Seconds() - float64(f.StartOffsetMs)/1000
		if got := float64(f.DurationMs) / 1000; math.Abs(got-want) > 1 {
			t.Errorf("%s: %.2f s recorded, %.2f s sent after its start", f.Name, got, want)
		}
		t.Logf("%s: %s, %d frames, %.2f s from +%d ms, %d bytes", f.Name, f.Codec, decoded, float64(f.DurationMs)/1000, f.StartOffsetMs, f.Bytes)
	}
	if kinds["audio"] != 2 || kinds["video"] != 2 {
		t.Fatalf("recorded tracks by kind %v, want 2 audio and 2 video", kinds)
	}

	// Retention: 91 days on, the recording goes (audited) unless held.
	srv.Clock.Set(srv.Clock.Now().Add(91 * 24 * time.Hour))
	since := lastAuditID(t, srv)
	n, err := srv.App.Bookings.PurgeRecordings(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want 1 recording deleted", n, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("recording directory after retention: %v", err)
	}
	deleted := 0
	for _, e := range auditSince(t, srv, since) {
		if e.Action == "recording.delete" && strings.HasPrefix(e.Subject, "recording:") {
			deleted++
		}
	}
	if deleted != 1 {
		t.Fatalf("recording.delete audit entries: %d, want 1", deleted)
	}
}
