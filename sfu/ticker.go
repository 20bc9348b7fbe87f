package sfu

import "time"

// Room housekeeping intervals.
const (
	tickInterval  = 250 * time.Millisecond // layer allocation, dynacast, speakers
	sampleEvery   = 4                      // ticks: rates and loss (1 s)
	statsEvery    = 20                     // ticks: stats to clients and Prometheus (5 s)
	pliInterval   = 500 * time.Millisecond // least time between key-frame requests per layer
	dynacastGrace = 2 * time.Second        // how long an unwatched layer keeps being sent
)

// run is the room's one housekeeping goroutine: it chooses each
// subscriber's layers, pauses layers nobody watches, finds the active
// speakers and samples statistics, until the room closes.
func (r *Room) run() {
	defer close(r.done)
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-r.stop:
			return
		case now := <-tick.C:
			ps, tracks := r.snapshot()
			// Monitors are sampled and allocated like participants, but
			// take no part in speakers or reports.
			subs := append(ps[:len(ps):len(ps)], r.monitorList()...)
			if n%sampleEvery == 0 {
				r.sample(subs, tracks, now)
			}
			for _, p := range subs {
				p.allocate(now, allocTick)
			}
			for _, t := range tracks {
				t.dynacast(now)
			}
			r.detectSpeakers(ps, tracks)
			if n%statsEvery == 0 {
				r.report(ps, now)
			}
		}
	}
}
