package media

import (
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.FrameDuration != time.Second/30 {
		t.Errorf("frame duration %v, want 1/30 s", c.FrameDuration)
	}
	sizes := map[string][2]int{"q": {320, 180}, "h": {640, 360}, "f": {1280, 720}}
	if len(c.Layers) != 3 {
		t.Fatalf("%d layers, want 3", len(c.Layers))
	}
	for _, l := range c.Layers {
		if got := [2]int{l.Width, l.Height}; got != sizes[l.RID] {
			t.Errorf("layer %s is %v, want %v", l.RID, got, sizes[l.RID])
		}
		if len(l.Frames) != len(c.Layers[0].Frames) {
			t.Errorf("layer %s has %d frames, layer q %d", l.RID, len(l.Frames), len(c.Layers[0].Frames))
		}
		for i, f := range l.Frames {
			if want := i%30 == 0; f.Keyframe != want {
				t.Errorf("layer %s frame %d: key frame %v, want %v", l.RID, i, f.Keyframe, want)
			}
		}
		if c.LayerName(l.Width, l.Height) != l.RID {
			t.Errorf("LayerName(%d, %d) = %q", l.Width, l.Height, c.LayerName(l.Width, l.Height))
		}
	}
	if d := c.Duration(); d < 2*time.Second || d > 10*time.Second {
		t.Errorf("clip lasts %v", d)
	}
	// Audio: 20 ms Opus frames covering the clip, levels that vary between
	// talking and silence.
	if n := len(c.Audio); n < int(c.Duration()/(20*time.Millisecond)) {
		t.Errorf("%d audio frames for a %v clip", n, c.Duration())
	}
	var loud, silent int
	for _, a := range c.Audio {
		if len(a.Data) == 0 {
			t.Fatal("empty Opus frame")
		}
		if d := opusDuration(a.Data[0]); d != 20*time.Millisecond {
			t.Fatalf("Opus frame of %v (TOC %#x), want 20 ms", d, a.Data[0])
		}
		switch {
		case a.Level == 127:
			silent++
		case a.Level < 40:
			loud++
		}
	}
	if loud == 0 || silent == 0 {
		t.Errorf("levels do not vary: %d loud, %d silent frames", loud, silent)
	}
	if c.LayerName(1, 1) != "1x1" {
		t.Errorf("unknown size named %q", c.LayerName(1, 1))
	}
}

func TestParseErrors(t *testing.T) {
	if _, _, err := ParseIVF([]byte("nope")); err == nil {
		t.Error("bad IVF accepted")
	}
	if _, err := ParseOggOpus([]byte("OggSshort")); err == nil {
		t.Error("bad Ogg accepted")
	}
	if _, err := ParseLevels([]byte("12\n300\n")); err == nil {
		t.Error("level 300 accepted")
	}
	if l, err := ParseLevels([]byte("# comment\n0\n127\n")); err != nil || len(l) != 2 {
		t.Errorf("levels %v, %v", l, err)
	}
}

// opusDuration is the duration of an Opus packet from its TOC byte (RFC
// 6716 section 3.1), for packets of one frame (code 0); 0 otherwise.
func opusDuration(toc byte) time.Duration {
	if toc&3 != 0 {
		return 0
	}
	c := int(toc >> 3)
	ms := []float64{10, 20, 40, 60}[c%4] // SILK-only
	switch {
	case c >= 16: // CELT-only
		ms = []float64{2.5, 5, 10, 20}[c%4]
	case c >= 12: // hybrid
		ms = []float64{10, 20}[c%2]
	}
	return time.Duration(ms * float64(time.Millisecond))
}
