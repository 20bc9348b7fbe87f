package turn

import (
	"net/netip"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, up to burst.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b for the time since its last use and takes n tokens if it
// holds them.
func (b *bucket) take(now time.Time, rate, burst, n float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * rate
		if b.tokens > burst {
			b.tokens = burst
		}
	}
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// ipLimiter rate-limits events per client IP address. Its table is bounded:
// when full, idle entries are dropped, and if none is idle, addresses not
// yet in the table share one overflow bucket, so a flood of spoofed sources
// can neither grow memory nor lock out the addresses already known.
type ipLimiter struct {
	rate, burst float64
	max         int

	mu       sync.Mutex
	buckets  map[netip.Addr]*bucket
	overflow bucket
}

func newIPLimiter(rate float64, burst, max int) *ipLimiter {
	return &ipLimiter{rate: rate, burst: float64(burst), max: max, buckets: make(map[netip.Addr]*bucket)}
}

// allow reports whether ip may have one more event now.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= l.max {
			l.sweepLocked(now)
		}
		if len(l.buckets) >= l.max {
			return l.overflow.take(now, l.rate, l.burst, 1)
		}
		b = &bucket{}
		l.buckets[ip] = b
	}
	return b.take(now, l.rate, l.burst, 1)
}

// sweepLocked forgets buckets that have refilled completely: they hold no
// information a new bucket would not.
func (l *ipLimiter) sweepLocked(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for ip, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, ip)
		}
	}
}

func (l *ipLimiter) sweep(now time.Time) {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	l.sweepLocked(now)
	l.mu.Unlock()
}

// quotas counts open allocations per user and per client IP. A request is
// admitted by reserve (called from pion's QuotaHandler, before the
// allocation exists); the reservation is confirmed when the allocation is
// created, and released when it is deleted, or after reserveTimeout if the
// allocation was never made.
type quotas struct {
	perUser, perIP int

	mu      sync.Mutex
	users   map[string]int
	ips     map[netip.Addr]int
	pending map[quotaKey][]time.Time
}

type quotaKey struct {
	user string
	src  string
}

// reserveTimeout is how long a reservation waits for its allocation.
const reserveTimeout = 10 * time.Second

func newQuotas(perUser, perIP int) *quotas {
	return &quotas{
		perUser: perUser, perIP: perIP,
		users:   make(map[string]int),
		ips:     make(map[netip.Addr]int),
		pending: make(map[quotaKey][]time.Time),
	}
}

// reserve takes one allocation of user from src, or returns the refusal
// reason (quota_user, quota_ip).
func (q *quotas) reserve(user string, src netip.AddrPort, now time.Time) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.perUser > 0 && q.users[user] >= q.perUser {
		return "quota_user"
	}
	ip := src.Addr()
	if q.perIP > 0 && q.ips[ip] >= q.perIP {
		return "quota_ip"
	}
	q.users[user]++
	q.ips[ip]++
	k := quotaKey{user, src.String()}
	q.pending[k] = append(q.pending[k], now)
	return ""
}

// created confirms a reservation: the allocation exists.
func (q *quotas) created(user string, src netip.AddrPort) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := quotaKey{user, src.String()}
	if p := q.pending[k]; len(p) > 0 {
		if len(p) == 1 {
			delete(q.pending, k)
		} else {
			q.pending[k] = p[1:]
		}
		return
	}
	// Not reserved (the quota check was skipped): count it now.
	q.users[user]++
	q.ips[src.Addr()]++
}

// deleted releases an allocation's place.
func (q *quotas) deleted(user string, src netip.AddrPort) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked(user, src.Addr())
}

func (q *quotas) releaseLocked(user string, ip netip.Addr) {
	if q.users[user]--; q.users[user] <= 0 {
		delete(q.users, user)
	}
	if q.ips[ip]--; q.ips[ip] <= 0 {
		delete(q.ips, ip)
	}
}

// expire releases reservations whose allocation never came.
func (q *quotas) expire(now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, p := range q.pending {
		keep := p[:0]
		for _, at := range p {
			if now.Sub(at) < reserveTimeout {
				keep = append(keep, at)
				continue
			}
			if ap, err := netip.ParseAddrPort(k.src); err == nil {
				q.releaseLocked(k.user, ap.Addr())
			}
		}
		if len(keep) == 0 {
			delete(q.pending, k)
		} else {
			q.pending[k] = keep
		}
	}
}

// counts returns the allocations held by user and by ip.
func (q *quotas) counts(user string, ip netip.Addr) (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.users[user], q.ips[ip]
}
