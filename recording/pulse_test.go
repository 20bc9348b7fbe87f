package recording

import (
	"testing"
	"time"
)

// TestPulseWakesEveryWaiterAtOnce: waiters that took the same beat are all
// released by it, a later beat comes after it, and a stopped pulse never
// beats again.
func TestPulseWakesEveryWaiterAtOnce(t *testing.T) {
	p := NewPulse(10 * time.Millisecond)
	a, b := p.next(), p.next()
	if a != b {
		t.Fatal("two waiters of the same period got different beats")
	}
	select {
	case <-a:
	case <-time.After(time.Second):
		t.Fatal("no beat within a second")
	}
	select {
	case <-b:
	default:
		t.Fatal("the beat released one waiter and not the other")
	}
	if c := p.next(); c == a {
		t.Fatal("the next period's beat is the one already given")
	}
	p.Stop()
	p.Stop() // idempotent
	c := p.next()
	select {
	case <-c:
		t.Fatal("a stopped pulse beat")
	case <-time.After(50 * time.Millisecond):
	}
}
