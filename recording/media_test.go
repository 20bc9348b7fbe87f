package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/gatehouse/gatehouse/loadtest/media"
)

// Real media for the tests: the loadtest clip (VP8 at three sizes, Opus),
// packetized by Pion as a browser's packets would be.

func loadClip(t testing.TB) *media.Clip {
	t.Helper()
	c, err := media.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// packetize turns frames into RTP packets of one stream, each frame
// advancing the timestamp by samples. The stream's first sequence number
// and timestamp are given, so tests can place the wraps.
func packetize(frames [][]byte, p rtp.Payloader, clock, samples uint32, seq uint16, ts uint32) []*rtp.Packet {
	pk := rtp.NewPacketizerWithOptions(1200, p, rtp.NewFixedSequencer(seq), clock,
		rtp.WithSSRC(0x1234), rtp.WithPayloadType(96), rtp.WithTimestamp(ts))
	var out []*rtp.Packet
	for _, f := range frames {
		out = append(out, pk.Packetize(f, samples)...)
	}
	return out
}

// vp8Packets returns the clip's layer q, h or f as RTP packets, with its
// frames' key frame flags.
func vp8Packets(c *media.Clip, layer int, seq uint16, ts uint32) ([]*rtp.Packet, []bool) {
	var frames [][]byte
	var keys []bool
	for _, f := range c.Layers[layer].Frames {
		frames = append(frames, f.Data)
		keys = append(keys, f.Keyframe)
	}
	return packetize(frames, &codecs.VP8Payloader{EnablePictureID: true}, 90000, 3000, seq, ts), keys
}

func opusPackets(c *media.Clip, seq uint16, ts uint32) []*rtp.Packet {
	var frames [][]byte
	for _, a := range c.Audio {
		frames = append(frames, a.Data)
	}
	return packetize(frames, &codecs.OpusPayloader{}, 48000, 960, seq, ts)
}

// haveFFmpeg reports whether ffmpeg and ffprobe are installed; on CI
// their absence fails the test (scripts/test-deps.sh installs them).
func haveFFmpeg(t testing.TB) bool {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (scripts/test-deps.sh installs it)", tool)
			}
			t.Logf("%s is not installed: not decoding with it", tool)
			return false
		}
	}
	return true
}

// needFFmpeg skips the test without ffmpeg (fails it on CI).
func needFFmpeg(t testing.TB) {
	t.Helper()
	if !haveFFmpeg(t) {
		t.Skip("needs ffmpeg")
	}
}

// probe is what ffprobe says of a file's first stream after decoding it.
type probe struct {
	Codec  string
	Frames int
	Width  int
	Height int
	// Duration is the container's duration.
	Duration time.Duration
}

func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "0",
		"-show_entries", "stream=codec_name,nb_read_frames,width,height:format=duration",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			NbReadFrames string `json:"nb_read_frames"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	s := r.Streams[0]
	n, _ := strconv.Atoi(s.NbReadFrames)
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	return probe{Codec: s.CodecName, Frames: n, Width: s.Width, Height: s.Height,
		Duration: time.Duration(d * float64(time.Second))}
}

// ffmpegDecode decodes the whole file and fails on any error ffmpeg
// reports.
func ffmpegDecode(t testing.TB, path string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decoding %s: %v: %s", filepath.Base(path), err, stderr.String())
	}
}

// ffmpegEncode makes a test clip with ffmpeg's own test source, for the
// codecs the loadtest clip lacks, and returns the output file's bytes.
func ffmpegEncode(t testing.TB, ext string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip"+ext)
	all := append([]string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "2"}, args...)
	if b, err := exec.Command("ffmpeg", append(all, out)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ivfFrames returns the frames of an IVF file.
func ivfFrames(t testing.TB, b []byte) [][]byte {
	t.Helper()
	r, _, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		f, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
}

// annexBAccessUnits splits an H.264 Annex B stream written with access
// unit delimiters into access units.
func annexBAccessUnits(b []byte) [][]byte {
	aud := []byte{0, 0, 0, 1, 0x09}
	var units [][]byte
	for len(b) > 0 {
		next := bytes.Index(b[len(aud):], aud)
		if next < 0 {
			return append(units, b)
		}
		units = append(units, b[:next+len(aud)])
		b = b[next+len(aud):]
	}
	return units
}

// feed writes packets to t in the given order.
func feed(tr *Track, pkts []*rtp.Packet) {
	for _, p := range pkts {
		tr.WriteRTP(p)
	}
}

// closeCall closes c and fails the test on an error.
func closeCall(t testing.TB, c *Call) Manifest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// settleGoroutines waits until no more goroutines run than before.
func settleGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fileOf returns the manifest entry of name.
func fileOf(t testing.TB, m Manifest, name string) File {
	t.Helper()
	for _, f := range m.Files {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("%s not in the manifest %+v", name, m.Files)
	return File{}
}
