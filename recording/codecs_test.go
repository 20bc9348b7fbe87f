package recording

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// recordFrames records frames (30 per second) packetized by p as one
// video track of mimeType and returns the file's manifest entry and
// Inspect's view of it, after checking that ffmpeg decodes every frame.
func recordFrames(t *testing.T, mimeType string, p rtp.Payloader, frames [][]byte) (File, FileInfo) {
	t.Helper()
	c, err := NewCall(t.TempDir(), "c", time.Now(), Options{QueueLen: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.AddTrack("prisoner:A1234BC", "cam", KindVideo, mimeType, 90000)
	if err != nil {
		t.Fatal(err)
	}
	feed(tr, packetize(frames, p, 90000, 3000, 65530, 0xfffff000))
	m := closeCall(t, c)
	f := m.Files[0]
	path := filepath.Join(c.Dir(), f.Name)
	fi, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(fi.Problems) > 0 || fi.Frames != int(f.Frames) || fi.Keyframes != int(f.Keyframes) {
		t.Errorf("%+v, manifest %+v", fi, f)
	}
	ffmpegDecode(t, path)
	if pr := ffprobe(t, path); pr.Frames != len(frames) || pr.Width != 320 || pr.Height != 180 {
		t.Errorf("ffprobe: %+v, want %d frames of 320x180", pr, len(frames))
	}
	if _, err := VerifyManifest(c.Dir()); err != nil {
		t.Error(err)
	}
	return f, fi
}

// H.264 as libx264 makes it for real-time use (high profile, to read an
// SPS with chroma fields; 320x180, to read its cropping), packetized with
// STAP-A and FU-A: a Matroska file with its avcC, every frame decodable.
func TestRecordH264(t *testing.T) {
	needFFmpeg(t)
	stream := ffmpegEncode(t, ".h264", "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", "30", "-bf", "0", "-tune", "zerolatency", "-x264-params", "aud=1", "-f", "h264")
	units := annexBAccessUnits(stream)
	if len(units) != 60 {
		t.Fatalf("%d access units, want 60", len(units))
	}
	f, fi := recordFrames(t, "video/H264", &codecs.H264Payloader{}, units)
	if f.Name != "prisoner_A1234BC-video-1.mkv" || f.Codec != "h264" || f.Frames != 60 || f.Keyframes != 2 {
		t.Errorf("%+v", f)
	}
	if fi.DocType != "matroska" || fi.CodecID != "V_MPEG4/ISO/AVC" || fi.Width != 320 || fi.Height != 180 ||
		len(fi.CodecPrivate) < 8 || fi.CodecPrivate[0] != 1 || fi.CodecPrivate[1] != 100 {
		t.Errorf("%+v", fi)
	}
}

// VP9 from libvpx in real-time mode: a WebM file with the picture size
// read from the key frame's uncompressed header.
func TestRecordVP9(t *testing.T) {
	needFFmpeg(t)
	ivf := ffmpegEncode(t, ".ivf", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
		"-g", "30", "-lag-in-frames", "0", "-auto-alt-ref", "0", "-f", "ivf")
	frames := ivfFrames(t, ivf)
	if len(frames) != 60 {
		t.Fatalf("%d frames, want 60", len(frames))
	}
	f, fi := recordFrames(t, "video/VP9", &codecs.VP9Payloader{}, frames)
	if f.Codec != "vp9" || f.Frames != 60 || f.Keyframes != 2 || fi.CodecID != "V_VP9" || fi.Width != 320 || fi.Height != 180 {
		t.Errorf("%+v %+v", f, fi)
	}
}

// A VP9 picture of two frames (spatial layers) becomes one superframe
// whose index gives each frame's size.
func TestVP9Superframe(t *testing.T) {
	b := append(bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 5)...)
	out := vp9Superframe(b, []int{0, 300})
	index := out[len(b):]
	// marker 110 mm nnn: 2-byte sizes, 2 frames
	if want := []byte{0xc9, 44, 1, 5, 0, 0xc9}; !bytes.Equal(index, want) {
		t.Errorf("index %x, want %x", index, want)
	}
}
