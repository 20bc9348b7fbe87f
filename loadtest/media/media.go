// Package media holds the small clip the loadtest tool publishes, made by
// scripts/make-clip.sh and embedded so that the tool runs anywhere: VP8 at
// three simulcast sizes (320x180, 640x360, 1280x720; 30 fps; a key frame
// every 30 frames) and Opus (48 kHz, 20 ms frames) with one RFC 6464 audio
// level per frame.
package media

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/gatehouse/gatehouse/signalling/client"
)

//go:embed clip
var files embed.FS

// ErrBadClip is returned when an embedded or given file cannot be parsed.
var ErrBadClip = errors.New("media: bad clip")

// Clip is the parsed clip: its video layers, lowest first, with their rids,
// and its audio frames with their levels.
type Clip struct {
	Layers []client.VideoLayer
	Audio  []client.AudioFrame
	// FrameDuration is the video frame duration (1/30 s).
	FrameDuration time.Duration
}

// Duration is the clip's length: its video frames at FrameDuration.
func (c *Clip) Duration() time.Duration {
	if len(c.Layers) == 0 {
		return 0
	}
	return time.Duration(len(c.Layers[0].Frames)) * c.FrameDuration
}

// LayerName returns the rid of the layer with the given size, or "WxH" when
// no layer has it.
func (c *Clip) LayerName(width, height int) string {
	for _, l := range c.Layers {
		if l.Width == width && l.Height == height {
			return l.RID
		}
	}
	return fmt.Sprintf("%dx%d", width, height)
}

// Load parses the embedded clip. Each call returns fresh slices; the frame
// data may be shared by any number of publishers, which only read it.
func Load() (*Clip, error) {
	c := &Clip{}
	for _, rid := range []string{client.RIDQuarter, client.RIDHalf, client.RIDFull} {
		b, err := files.ReadFile("clip/" + rid + ".ivf")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadClip, err)
		}
		l, dur, err := ParseIVF(b)
		if err != nil {
			return nil, fmt.Errorf("%s.ivf: %w", rid, err)
		}
		l.RID = rid
		c.Layers = append(c.Layers, l)
		c.FrameDuration = dur
	}
	ogg, err := files.ReadFile("clip/audio.ogg")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadClip, err)
	}
	packets, err := ParseOggOpus(ogg)
	if err != nil {
		return nil, fmt.Errorf("audio.ogg: %w", err)
	}
	lv, err := files.ReadFile("clip/audio-levels.txt")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadClip, err)
	}
	levels, err := ParseLevels(lv)
	if err != nil {
		return nil, fmt.Errorf("audio-levels.txt: %w", err)
	}
	for i, p := range packets {
		level := uint8(127)
		if len(levels) > 0 {
			level = levels[min(i, len(levels)-1)]
		}
		c.Audio = append(c.Audio, client.AudioFrame{Data: p, Level: level})
	}
	return c, nil
}

// ParseIVF reads a VP8 IVF file into a layer (without rid) and its frame
// duration. Key frames are those whose VP8 frame tag says so (RFC 6386
// section 9.1: bit 0 of the first byte clear).
func ParseIVF(b []byte) (client.VideoLayer, time.Duration, error) {
	r, h, err := ivfreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return client.VideoLayer{}, 0, fmt.Errorf("%w: %v", ErrBadClip, err)
	}
	if h.FourCC != "VP80" {
		return client.VideoLayer{}, 0, fmt.Errorf("%w: codec %q, want VP80", ErrBadClip, h.FourCC)
	}
	if h.TimebaseDenominator == 0 || h.TimebaseNumerator == 0 {
		return client.VideoLayer{}, 0, fmt.Errorf("%w: no time base", ErrBadClip)
	}
	dur := time.Duration(int64(h.TimebaseNumerator) * int64(time.Second) / int64(h.TimebaseDenominator))
	l := client.VideoLayer{Width: int(h.Width), Height: int(h.Height)}
	const maxFrames = 100000
	for range maxFrames {
		f, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return client.VideoLayer{}, 0, fmt.Errorf("%w: frame %d: %v", ErrBadClip, len(l.Frames), err)
		}
		if len(f) == 0 {
			continue
		}
		l.Frames = append(l.Frames, client.VideoFrame{Data: f, Keyframe: f[0]&1 == 0})
	}
	if len(l.Frames) == 0 || !l.Frames[0].Keyframe {
		return client.VideoLayer{}, 0, fmt.Errorf("%w: must start with a key frame", ErrBadClip)
	}
	return l, dur, nil
}

// ParseOggOpus returns the Opus packets of an Ogg stream (RFC 7845),
// without the OpusHead and OpusTags header packets. Packets may span pages.
func ParseOggOpus(b []byte) ([][]byte, error) {
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			return nil, fmt.Errorf("%w: no Ogg page at %d bytes from the end", ErrBadClip, len(b))
		}
		nseg := int(b[26])
		if len(b) < 27+nseg {
			return nil, fmt.Errorf("%w: short page header", ErrBadClip)
		}
		lacing := b[27 : 27+nseg]
		body := b[27+nseg:]
		size := 0
		for _, l := range lacing {
			size += int(l)
		}
		if len(body) < size {
			return nil, fmt.Errorf("%w: short page", ErrBadClip)
		}
		for _, l := range lacing {
			cur = append(cur, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = b[27+nseg+size:]
	}
	if len(packets) < 2 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		return nil, fmt.Errorf("%w: not an Ogg Opus stream", ErrBadClip)
	}
	out := packets[2:]
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no audio packets", ErrBadClip)
	}
	if head := packets[0]; len(head) < 19 || head[9] == 0 || binary.LittleEndian.Uint32(head[12:]) == 0 {
		return nil, fmt.Errorf("%w: bad OpusHead", ErrBadClip)
	}
	return out, nil
}

// ParseLevels reads the levels file: one RFC 6464 level (0 to 127) a line.
func ParseLevels(b []byte) ([]uint8, error) {
	var out []uint8
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseUint(line, 10, 8)
		if err != nil || v > 127 {
			return nil, fmt.Errorf("%w: level %q", ErrBadClip, line)
		}
		out = append(out, uint8(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadClip, err)
	}
	return out, nil
}
