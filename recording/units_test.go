package recording

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// emitted records what a reorder emits.
type emitted struct {
	seqs []uint16
	lost []int
}

func (e *emitted) emit(p packet, lost int) {
	e.seqs = append(e.seqs, p.seq)
	e.lost = append(e.lost, lost)
}

func pkt(seq uint16, ts uint32) packet {
	return packet{buf: &payloadBuf{}, seq: seq, ts: ts}
}

func TestReorder(t *testing.T) {
	var e emitted
	r := newReorder(8, 1000)
	for _, s := range []uint16{65534, 0, 65535, 1, 1, 65533, 3} { // wrap, swap, duplicate, late, hole
		r.push(pkt(s, uint32(s)), e.emit)
	}
	if want := []uint16{65534, 65535, 0, 1}; !slices.Equal(e.seqs, want) {
		t.Fatalf("emitted %v, want %v", e.seqs, want)
	}
	r.push(pkt(2, 2), e.emit) // the hole filled in time
	if want := []uint16{65534, 65535, 0, 1, 2, 3}; !slices.Equal(e.seqs, want) || slices.Max(e.lost) != 0 {
		t.Fatalf("emitted %v lost %v", e.seqs, e.lost)
	}
	// 5 never comes: given up when the window is full...
	e = emitted{}
	for s := uint16(6); s <= 13; s++ {
		r.push(pkt(s, 10), e.emit)
	}
	if !slices.Equal(e.seqs, []uint16{6, 7, 8, 9, 10, 11, 12, 13}) || e.lost[0] != 2 {
		t.Fatalf("emitted %v lost %v, want 4 and 5 lost before 6", e.seqs, e.lost)
	}
	// ...or when the packets after it span more than the wait.
	e = emitted{}
	r.push(pkt(15, 20), e.emit)
	r.push(pkt(16, 1021), e.emit)
	if !slices.Equal(e.seqs, []uint16{15, 16}) || e.lost[0] != 1 {
		t.Fatalf("emitted %v lost %v", e.seqs, e.lost)
	}
	// A jump is a new stream: no loss counted for it.
	e = emitted{}
	r.push(pkt(40000, 0), e.emit)
	r.push(pkt(40001, 0), e.emit)
	if !slices.Equal(e.seqs, []uint16{40000, 40001}) || slices.Max(e.lost) != 0 {
		t.Fatalf("emitted %v lost %v", e.seqs, e.lost)
	}
	// flush emits what is held, with the holes before it.
	e = emitted{}
	r.push(pkt(40004, 0), e.emit)
	r.flush(e.emit)
	if !slices.Equal(e.seqs, []uint16{40004}) || e.lost[0] != 2 || r.held != 0 {
		t.Fatalf("emitted %v lost %v", e.seqs, e.lost)
	}
}

func TestTimelineWraps(t *testing.T) {
	tl := timeline{clock: 90000}
	tl.observe(0xffffffff - 2999)
	if ms := tl.ms(0xffffffff - 2999); ms != 0 {
		t.Errorf("origin at %d ms", ms)
	}
	tl.observe(1) // 3001 ticks later, past the wrap
	if ms := tl.ms(1); ms != 33 {
		t.Errorf("%d ms after the wrap, want 33", ms)
	}
	if ms := tl.ms(0xffffffff - 2999 - 90); ms != -1 {
		t.Errorf("before the origin: %d ms, want -1", ms)
	}
	tl.restart(5000)
	tl.observe(777)
	if ms := tl.ms(777 + 900); ms != 5010 {
		t.Errorf("after a restart: %d ms, want 5010", ms)
	}
}

func TestVint(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x80}},
		{126, []byte{0xfe}},
		{127, []byte{0x40, 0x7f}}, // 0xff alone would mean unknown
		{1004, []byte{0x43, 0xec}},
		{1 << 20, []byte{0x30, 0x00, 0x00}},
	} {
		if got := vint(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("vint(%d) = %x, want %x", c.v, got, c.want)
		}
	}
	if got := vint8(300); !bytes.Equal(got, []byte{1, 0, 0, 0, 0, 0, 1, 44}) {
		t.Errorf("vint8(300) = %x", got)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0xfc}, 960},        // CELT FB 20 ms, one frame
		{[]byte{0x78}, 960},        // hybrid 20 ms
		{[]byte{0x09}, 1920},       // SILK 20 ms, two frames (code 1)
		{[]byte{0x0b, 0x03}, 2880}, // three 20 ms frames (code 3)
		{nil, 0},
	} {
		if got := opusSamples(c.p); got != c.want {
			t.Errorf("opusSamples(%x) = %d, want %d", c.p, got, c.want)
		}
	}
}

// File names keep to a safe alphabet, never collide, and never reuse a
// file already on disk.
func TestTrackFileNames(t *testing.T) {
	for id, want := range map[string]string{
		"visitor:42":       "visitor_42",
		"../../etc/passwd": "______etc_passwd",
		"":                 "participant",
		"Ünïcode name":     "_n_code_name",
	} {
		if got := safeBase(id); got != want {
			t.Errorf("safeBase(%q) = %q, want %q", id, got, want)
		}
	}
	if got := safeBase(string(bytes.Repeat([]byte("x"), 500))); len(got) != maxNameBase {
		t.Errorf("long id: %d bytes", len(got))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a_b-audio-1.webm"), []byte("earlier"), 0o600); err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	var names []string
	for i, id := range []string{"a:b", "a_b", "a/b"} {
		ext := []string{".webm", ".mkv", ".webm"}[i]
		f, name, err := createTrackFile(dir, id, KindAudio, ext, taken)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		names = append(names, name)
	}
	if want := []string{"a_b-audio-2.webm", "a_b-audio-3.mkv", "a_b-audio-4.webm"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a_b-audio-1.webm")); string(b) != "earlier" {
		t.Error("an earlier file was overwritten")
	}
}
