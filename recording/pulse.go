package recording

import (
	"sync"
	"time"
)

// Pulse is a drain clock that writers share. Every writer waiting on it
// wakes at the same instant, so a process recording many tracks turns
// from idle to busy once a period instead of once per track and period:
// on a media server each of those turns costs more CPU (thread wake-ups,
// the Go runtime's monitor) than draining the queues does.
type Pulse struct {
	mu   sync.Mutex
	beat chan struct{} // closed at the next beat
	stop chan struct{}
	done chan struct{}
}

// NewPulse starts a pulse beating every period. Stop ends it.
func NewPulse(every time.Duration) *Pulse {
	p := &Pulse{beat: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(every)
	return p
}

func (p *Pulse) run(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.mu.Lock()
			close(p.beat)
			p.beat = make(chan struct{})
			p.mu.Unlock()
		case <-p.stop:
			return
		}
	}
}

// next returns a channel closed at the next beat (never, once stopped).
func (p *Pulse) next() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.beat
}

// Stop ends the pulse and waits for its goroutine. Writers still running
// then drain only when their queue is half full or their call closes.
func (p *Pulse) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}
