package recording

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A full queue drops packets, raises a failure through OnFailure and
// Failed, and shows as a gap and dropped packets in the manifest.
func TestQueueOverflowRaisesFailure(t *testing.T) {
	clip := loadClip(t)
	var fails failures
	c, err := NewCall(t.TempDir(), "3", time.Now(), Options{QueueLen: 1, OnFailure: fails.add})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.AddTrack("p", "mic", KindAudio, "audio/opus", 48000)
	if err != nil {
		t.Fatal(err)
	}
	ap := opusPackets(clip, 1, 1)
	// As fast as possible until the writer cannot keep up with a queue of
	// one packet...
	i := 0
	for ; i < len(ap) && tr.dropped.Load() == 0; i++ {
		tr.WriteRTP(ap[i])
	}
	if tr.dropped.Load() == 0 {
		t.Fatal("no packet was dropped")
	}
	// ...then slowly enough for it.
	for ; i < len(ap); i++ {
		tr.WriteRTP(ap[i])
		time.Sleep(time.Millisecond)
	}
	m := closeCall(t, c)
	errs := fails.list()
	if len(errs) == 0 || !errors.Is(errs[0], ErrQueueFull) || !errors.Is(c.Failed(), ErrQueueFull) {
		t.Fatalf("failures %v, Failed %v", errs, c.Failed())
	}
	f := m.Files[0]
	if f.Gaps < 1 || f.DroppedPackets < 1 || f.LostPackets < f.DroppedPackets || f.Frames+f.DroppedPackets != int64(len(ap)) {
		t.Errorf("%+v: want a gap and %d frames written or dropped", f, len(ap))
	}
}

// Close with a context that ends first returns at once with
// ErrIncomplete; the writers finish on their own, drop what was queued,
// and a later Close returns the manifest. No goroutine is left.
func TestCloseDeadline(t *testing.T) {
	clip := loadClip(t)
	before := runtime.NumGoroutine()
	var fails failures
	c, err := NewCall(t.TempDir(), "5", time.Now(), Options{QueueLen: 1 << 16, OnFailure: fails.add})
	if err != nil {
		t.Fatal(err)
	}
	c.every = time.Hour // the writer drains only when kicked or closed
	tr, err := c.AddTrack("p", "cam", KindVideo, "video/VP8", 90000)
	if err != nil {
		t.Fatal(err)
	}
	vp, _ := vp8Packets(clip, 2, 1, 1)
	for len(tr.queue) < cap(tr.queue)/2-len(vp) {
		feed(tr, vp) // again and again: the writer has that much to go through
	}
	queued := len(tr.queue)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	began := time.Now()
	if _, err := c.Close(ctx); !errors.Is(err, ErrIncomplete) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close past its deadline: %v", err)
	}
	if d := time.Since(began); d > 100*time.Millisecond {
		t.Errorf("Close took %v past its deadline", d)
	}
	if errs := fails.list(); len(errs) != 1 || !errors.Is(errs[0], ErrIncomplete) {
		t.Errorf("failures: %v", errs)
	}
	m := closeCall(t, c)
	f := m.Files[0]
	if f.DroppedPackets == 0 || f.DroppedPackets > int64(queued) || f.Gaps == 0 {
		t.Errorf("%+v: want some of the %d queued packets dropped, and a gap", f, queued)
	}
	if fi, err := Inspect(filepath.Join(c.Dir(), f.Name)); err != nil || len(fi.Problems) > 0 || fi.Frames != int(f.Frames) {
		t.Errorf("%+v %v", fi, err)
	}
	if _, err := VerifyManifest(c.Dir()); err != nil {
		t.Error(err)
	}
	settleGoroutines(t, before)
}

// A video track that got a single frame before the call ended (a call cut
// short) still makes a well-formed file: its Duration ends after the one
// block.
func TestOneVideoFrameMakesAWellFormedFile(t *testing.T) {
	clip := loadClip(t)
	c, err := NewCall(t.TempDir(), "6", time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.AddTrack("p", "cam", KindVideo, "video/VP8", 90000)
	if err != nil {
		t.Fatal(err)
	}
	vp, keys := vp8Packets(clip, 2, 1, 1)
	if !keys[0] {
		t.Fatal("the clip does not start with a key frame")
	}
	n := 0
	for n < len(vp) && !vp[n].Marker {
		n++
	}
	feed(tr, vp[:n+1]) // the first frame's packets, up to its marker
	m := closeCall(t, c)
	f := m.Files[0]
	fi, err := Inspect(filepath.Join(c.Dir(), f.Name))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Frames != 1 || f.Frames != 1 || len(fi.Problems) > 0 || fi.Duration <= fi.Last {
		t.Errorf("one frame: %+v (manifest %+v)", fi, f)
	}
}
