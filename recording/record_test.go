package recording

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// failures collects what OnFailure reports.
type failures struct {
	mu   sync.Mutex
	errs []error
}

func (f *failures) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *failures) list() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// A call of VP8 (layer h of the clip) and Opus, with reordered packets,
// one lost packet and both sequence numbers and timestamps wrapping: the
// files hold every frame that loss does not remove, at the clip's
// duration, decode cleanly and match the manifest.
func TestRecordVP8AndOpus(t *testing.T) {
	clip := loadClip(t)
	before := runtime.NumGoroutine()
	dir := filepath.Join(t.TempDir(), "recordings", "42")
	var fails failures
	start := time.Now()
	c, err := NewCall(dir, "42", start, Options{QueueLen: 1 << 14, OnFailure: fails.add})
	if err != nil {
		t.Fatal(err)
	}
	video, err := c.AddTrack("visitor:42", "cam-1", KindVideo, "video/VP8", 90000)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := c.AddTrack("visitor:42", "mic-1", KindAudio, "audio/opus", 48000)
	if err != nil {
		t.Fatal(err)
	}
	if video.Name() != "visitor_42-video-1.webm" || audio.Name() != "visitor_42-audio-1.webm" {
		t.Fatalf("file names %q, %q", video.Name(), audio.Name())
	}

	// Video: lose the first packet of frame 40, which is no key frame:
	// frames 40 up to the next key frame cannot be decoded and are not
	// written. Then reorder: swap neighbours every 37 packets, and bring
	// one packet 10 places late.
	const lostFrame = 40
	vp, keys := vp8Packets(clip, 1, 65000, 0xffffffff-90000)
	n := len(keys)
	if keys[lostFrame] {
		t.Fatal("the lost frame is a key frame")
	}
	nextKey := lostFrame
	for !keys[nextKey] {
		nextKey++
	}
	wantFrames := n - (nextKey - lostFrame)
	wantKeys := 0
	for _, k := range keys {
		if k {
			wantKeys++
		}
	}
	lostTS := vp[0].Timestamp + lostFrame*3000
	for i, p := range vp {
		if p.Timestamp == lostTS {
			vp = append(vp[:i:i], vp[i+1:]...)
			break
		}
	}
	for i := 5; i+1 < len(vp); i += 37 {
		vp[i], vp[i+1] = vp[i+1], vp[i]
	}
	late := vp[100]
	copy(vp[100:110], vp[101:111])
	vp[110] = late

	ap := opusPackets(clip, 65500, 0xffffffff-48000)
	feed(video, vp)
	feed(audio, ap)
	m := closeCall(t, c)

	if m.CallID != "42" || !m.StartedAt.Equal(start) || m.EndedAt.Before(start) || len(m.Files) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var again Manifest
	if err := json.Unmarshal(onDisk, &again); err != nil || !bytes.Contains(onDisk, []byte("\n  \"files\"")) {
		t.Fatalf("manifest.json: %v\n%s", err, onDisk)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode: %v %v", st.Mode(), err)
	}

	frameMs := float64(time.Second/time.Millisecond) / 30
	vf := fileOf(t, m, video.Name())
	if vf.Kind != KindVideo || vf.Codec != "vp8" || vf.ParticipantID != "visitor:42" || vf.TrackID != "cam-1" {
		t.Errorf("video entry %+v", vf)
	}
	if vf.Frames != int64(wantFrames) || vf.Keyframes != int64(wantKeys) || vf.Gaps != 1 || vf.LostPackets != 1 || vf.DroppedPackets != 0 {
		t.Errorf("video: %d frames (%d key), %d gaps, %d lost, %d dropped; want %d (%d key), 1 gap, 1 lost",
			vf.Frames, vf.Keyframes, vf.Gaps, vf.LostPackets, vf.DroppedPackets, wantFrames, wantKeys)
	}
	if d := float64(vf.DurationMs) - float64(n)*frameMs; d < -frameMs || d > frameMs {
		t.Errorf("video lasts %d ms, the clip %.0f ms", vf.DurationMs, float64(n)*frameMs)
	}
	af := fileOf(t, m, audio.Name())
	if af.Frames != int64(len(clip.Audio)) || af.Gaps != 0 || af.Codec != "opus" {
		t.Errorf("audio entry %+v, want %d frames and no gap", af, len(clip.Audio))
	}
	if want := int64(len(clip.Audio) * 20); af.DurationMs != want {
		t.Errorf("audio lasts %d ms, want %d", af.DurationMs, want)
	}
	for _, f := range m.Files {
		if f.StartOffsetMs < 0 || f.StartOffsetMs > int64(time.Since(start)/time.Millisecond) {
			t.Errorf("%s starts at %d ms", f.Name, f.StartOffsetMs)
		}
	}

	vi, err := Inspect(filepath.Join(dir, vf.Name))
	if err != nil {
		t.Fatal(err)
	}
	if vi.DocType != "webm" || vi.Codec != "vp8" || vi.Width != 640 || vi.Height != 360 || len(vi.Problems) > 0 {
		t.Errorf("video file: %+v", vi)
	}
	if vi.Frames != wantFrames || vi.Keyframes != wantKeys || vi.CuePoints != wantKeys {
		t.Errorf("video file: %d frames, %d key frames, %d cue points; want %d, %d, %d",
			vi.Frames, vi.Keyframes, vi.CuePoints, wantFrames, wantKeys, wantKeys)
	}
	if vi.Duration.Milliseconds() != vf.DurationMs || vi.First != 0 {
		t.Errorf("video file: duration %v, first block %v; manifest %d ms", vi.Duration, vi.First, vf.DurationMs)
	}
	ai, err := Inspect(filepath.Join(dir, af.Name))
	if err != nil {
		t.Fatal(err)
	}
	if ai.Codec != "opus" || ai.Frames != len(clip.Audio) || ai.SampleRate != 48000 || !bytes.HasPrefix(ai.CodecPrivate, []byte("OpusHead")) || len(ai.Problems) > 0 {
		t.Errorf("audio file: %+v", ai)
	}
	if ai.Duration.Milliseconds() != af.DurationMs {
		t.Errorf("audio file: duration %v, manifest %d ms", ai.Duration, af.DurationMs)
	}

	if haveFFmpeg(t) {
		for _, f := range m.Files {
			ffmpegDecode(t, filepath.Join(dir, f.Name))
			p := ffprobe(t, filepath.Join(dir, f.Name))
			if p.Frames != int(f.Frames) || p.Codec != f.Codec {
				t.Errorf("ffprobe %s: %d %s frames, manifest %d", f.Name, p.Frames, p.Codec, f.Frames)
			}
			if d := p.Duration - time.Duration(f.DurationMs)*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("ffprobe %s: duration %v, manifest %d ms", f.Name, p.Duration, f.DurationMs)
			}
		}
		if p := ffprobe(t, filepath.Join(dir, vf.Name)); p.Width != 640 || p.Height != 360 {
			t.Errorf("ffprobe video: %dx%d", p.Width, p.Height)
		}
	}

	if _, err := VerifyManifest(dir); err != nil {
		t.Error(err)
	}
	if errs := fails.list(); len(errs) > 0 || c.Failed() != nil {
		t.Errorf("failures: %v, %v", errs, c.Failed())
	}
	settleGoroutines(t, before)
}

// A publisher that restarts its stream (new SSRC, sequence numbers and
// timestamps) continues the same file, counted as a gap, with time going
// on.
func TestRecordStreamRestart(t *testing.T) {
	clip := loadClip(t)
	c, err := NewCall(t.TempDir(), "7", time.Now(), Options{QueueLen: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.AddTrack("p1", "mic", KindAudio, "audio/opus", 0)
	if err != nil {
		t.Fatal(err)
	}
	ap := opusPackets(clip, 100, 5000)
	half := len(ap) / 2
	feed(tr, ap[:half])
	time.Sleep(50 * time.Millisecond)
	second := opusPackets(clip, 30000, 1<<31)[half:]
	for _, p := range second {
		p.SSRC = 0x9999
	}
	feed(tr, second)
	m := closeCall(t, c)
	f := m.Files[0]
	if f.Frames != int64(len(ap)) || f.Gaps != 1 || f.LostPackets != 0 {
		t.Errorf("%+v, want %d frames and 1 gap", f, len(ap))
	}
	fi, err := Inspect(filepath.Join(c.Dir(), f.Name))
	if err != nil || len(fi.Problems) > 0 || fi.Frames != len(ap) {
		t.Errorf("%+v %v", fi, err)
	}
}

// Packets written after Close are ignored; AddTrack is refused.
func TestWriteAfterClose(t *testing.T) {
	c, err := NewCall(t.TempDir(), "1", time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.AddTrack("p", "m", KindAudio, "audio/opus", 48000)
	if err != nil {
		t.Fatal(err)
	}
	closeCall(t, c)
	tr.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte{0xfc, 1, 2}})
	if len(tr.queue) != 0 {
		t.Error("a packet was queued after Close")
	}
	if _, err := c.AddTrack("p", "m2", KindAudio, "audio/opus", 48000); err != ErrClosed {
		t.Errorf("AddTrack after Close: %v", err)
	}
	if m, err := c.Close(t.Context()); err != nil || len(m.Files) != 1 {
		t.Errorf("second Close: %+v %v", m, err)
	}
}
