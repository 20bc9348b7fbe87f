package sfu

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse/gatehouse/recording"
)

// recordedOwners is how many tracks the room's recorder holds, by owner.
func recordedOwners(room *Room) map[*Participant]int {
	room.mu.Lock()
	rec := room.rec
	room.mu.Unlock()
	n := map[*Participant]int{}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, t := range rec.tracks {
		n[t.owner]++
	}
	return n
}

// gaugeValue reads g.
func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestRecorderLetsGoOfWhoLeft: when a participant leaves a recorded call,
// the recorder stops holding their tracks (and with them their
// connections and packet caches) at once, not when the call ends; the
// others stay recorded, and the leaver's files are still finished whole
// with the call.
func TestRecorderLetsGoOfWhoLeft(t *testing.T) {
	s, _, dir := privilegedSFU(t)
	room, err := s.Room("left", Policy{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := exchangeAV(t, room, 100)
	waitFor(t, 5*time.Second, "both participants' tracks recorded", func() bool {
		n := recordedOwners(room)
		return n[a.part] == 2 && n[b.part] == 2
	})
	if got := gaugeValue(t, s.media.RecordedTracks); got != 4 {
		t.Fatalf("recorded tracks gauge %v, want 4", got)
	}
	a.close()
	n := recordedOwners(room)
	if n[a.part] != 0 || n[b.part] != 2 {
		t.Fatalf("after a left the recorder holds %d of a's tracks and %d of b's, want 0 and 2", n[a.part], n[b.part])
	}
	if got := gaugeValue(t, s.media.RecordedTracks); got != 2 {
		t.Errorf("recorded tracks gauge %v after a left, want 2", got)
	}
	b.close()
	room.Close()
	if got := gaugeValue(t, s.media.RecordedTracks); got != 0 {
		t.Errorf("recorded tracks gauge %v after the call, want 0", got)
	}
	files, err := filepath.Glob(filepath.Join(dir, "left", "*.webm"))
	if err != nil || len(files) != 4 {
		t.Fatalf("recordings %v (%v), want four", files, err)
	}
	for _, f := range files {
		fi, err := recording.Inspect(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fi.Frames == 0 || len(fi.Problems) > 0 {
			t.Errorf("%s: %d frames, problems %v", filepath.Base(f), fi.Frames, fi.Problems)
		}
	}
}
