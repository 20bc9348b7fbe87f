package signalling

import (
	"testing"
	"time"
)

func TestAllowReturnCountsAMinute(t *testing.T) {
	var m member
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		if !m.allowReturn(t0.Add(time.Duration(i)*time.Second), 3) {
			t.Fatalf("return %d refused", i+1)
		}
	}
	if m.allowReturn(t0.Add(30*time.Second), 3) {
		t.Fatal("a fourth return within a minute allowed")
	}
	// The first falls out of the window a minute after it.
	if !m.allowReturn(t0.Add(time.Minute), 3) {
		t.Fatal("return refused after the first left the window")
	}
	if len(m.returns) != 3 {
		t.Fatalf("%d returns remembered, want 3 (bounded by the limit)", len(m.returns))
	}
}

func TestGraceOver(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var m member
	if m.graceOver(now) {
		t.Fatal("a member never away has no grace to end")
	}
	m.awayUntil = now.Add(time.Second)
	if m.graceOver(now) {
		t.Fatal("grace over a second early")
	}
	if !m.graceOver(now.Add(time.Second)) {
		t.Fatal("grace not over at its end")
	}
	m.sess = &session{}
	if m.graceOver(now.Add(time.Hour)) {
		t.Fatal("a connected member's grace ended")
	}
}

func TestValidLayer(t *testing.T) {
	for _, l := range []string{"q", "h", "f", "none"} {
		if !validLayer(l) {
			t.Errorf("%q refused", l)
		}
	}
	for _, l := range []string{"", "Q", "full", "n"} {
		if validLayer(l) {
			t.Errorf("%q accepted", l)
		}
	}
}
