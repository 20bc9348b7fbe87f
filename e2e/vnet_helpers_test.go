package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v4/vnet"
)

// A simulated network for media (pion's vnet): every packet stays inside
// the test process. One router holds a private subnet; the media server and
// each client are hosts on it with addresses of their own. Each host has
// impairments on the packets it receives (random loss, a delay, a bandwidth
// cap through a token bucket), changeable at any time, and the whole
// network or one host can be cut off and restored.
//
// The WebSocket cannot run over vnet (it is TCP through net/http): it stays
// on real loopback. A host's DialContext refuses to connect while the host
// (or the network) is cut, so a client given it as client.Options.NetDial
// cannot redial signalling until the cut ends; a test drops the open socket
// itself at the moment of the cut (client.DropConnection).
//
// Use: sim := newSimNet(t) before testkit.StartWith (its cleanup must run
// after the server's and the clients'), srvHost := sim.addHost(t, "sfu",
// linkOptions{}) into app.Config.MediaNet with ICELoopbackOnly off, and
// sim.addHost per client into client.Options.Net.

// simSubnet is the simulated network's address range.
const simSubnet = "10.99.0.0/24"

// errCut is what a cut host's dialer returns.
var errCut = errors.New("simulated network is cut")

// linkOptions are the impairments of the packets a host receives. The zero
// value is a perfect link.
type linkOptions struct {
	// LossPercent drops each packet with this chance, 0 to 100.
	LossPercent int
	// Delay holds each packet back this long.
	Delay time.Duration
	// RateBitsPerSecond caps the bandwidth (token bucket); 0 means none.
	RateBitsPerSecond int
	// BurstBytes is the token bucket's size; 0 means 16 KiB.
	BurstBytes int
	// QueueBytes is how much may wait for tokens before packets are
	// dropped; 0 means 256 KiB.
	QueueBytes int64
}

// noRateCap is the token bucket's rate when no cap is set: far above any
// call.
const noRateCap = 10_000_000_000

// simNet is a running simulated network.
type simNet struct {
	router *vnet.Router
	cut    atomic.Bool

	mu    sync.Mutex
	hosts map[string]*simHost // by IP
	next  int                 // last host number given
}

// simHost is one machine on a simNet.
type simHost struct {
	Name string
	IP   string
	// Net is the host's network, for sfu.Config.Net (app.Config.MediaNet)
	// or client.Options.Net.
	Net *vnet.Net

	sim   *simNet
	cut   atomic.Bool
	loss  *vnet.LossFilter
	delay *vnet.DelayFilter
	tbf   *vnet.TBFQueue
	queue *vnet.Queue
}

// newSimNet starts a simulated network, stopped when the test ends.
func newSimNet(t *testing.T) *simNet {
	t.Helper()
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: simSubnet, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatalf("vnet router: %v", err)
	}
	n := &simNet{router: router, hosts: make(map[string]*simHost)}
	router.AddChunkFilter(n.pass)
	if err := router.Start(); err != nil {
		t.Fatalf("vnet start: %v", err)
	}
	t.Cleanup(func() {
		// The peers have closed by now (this cleanup was registered
		// first, so it runs last): nothing is in flight.
		if err := router.Stop(); err != nil {
			t.Errorf("vnet stop: %v", err)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, h := range n.hosts {
			_ = h.queue.Close()
			_ = h.delay.Close()
		}
	})
	return n
}

// pass is the router's filter: a packet travels unless the network, its
// sender or its receiver is cut.
func (n *simNet) pass(c vnet.Chunk) bool {
	if n.cut.Load() {
		return false
	}
	for _, a := range []net.Addr{c.SourceAddr(), c.DestinationAddr()} {
		if h := n.host(a); h != nil && h.cut.Load() {
			return false
		}
	}
	return true
}

func (n *simNet) host(a net.Addr) *simHost {
	var ip string
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP.String()
	case *net.TCPAddr:
		ip = a.IP.String()
	default:
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[ip]
}

// addHost adds a machine with the next free address and the impairments o
// on what it receives.
func (n *simNet) addHost(t *testing.T, name string, o linkOptions) *simHost {
	t.Helper()
	n.mu.Lock()
	n.next++
	ip := fmt.Sprintf("10.99.0.%d", 10+n.next)
	n.mu.Unlock()
	name = fmt.Sprintf("%s-%d", name, n.next)

	vn, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
	if err != nil {
		t.Fatalf("vnet host %s: %v", name, err)
	}
	h := &simHost{Name: name, IP: ip, Net: vn, sim: n}
	burst, size := o.BurstBytes, o.QueueBytes
	if burst == 0 {
		burst = 16 << 10
	}
	if size == 0 {
		size = 256 << 10
	}
	rate := o.RateBitsPerSecond
	if rate == 0 {
		rate = noRateCap
	}
	// Inbound packets go router -> loss -> delay -> token bucket -> host.
	h.tbf = vnet.NewTBFQueue(rate, burst, size)
	if h.queue, err = vnet.NewQueue(vn, h.tbf); err != nil {
		t.Fatalf("vnet queue: %v", err)
	}
	if h.delay, err = vnet.NewDelayFilter(h.queue, vnet.WithDelay(o.Delay)); err != nil {
		t.Fatalf("vnet delay: %v", err)
	}
	if h.loss, err = vnet.NewLossFilter(h.delay, o.LossPercent); err != nil {
		t.Fatalf("vnet loss: %v", err)
	}
	n.mu.Lock()
	n.hosts[ip] = h
	n.mu.Unlock()
	if err := n.router.AddNet(h.loss); err != nil {
		t.Fatalf("vnet add host %s: %v", name, err)
	}
	return h
}

// SetCut cuts the whole network off (every packet dropped), or restores it.
func (n *simNet) SetCut(cut bool) { n.cut.Store(cut) }

// SetCut cuts the host off (every packet to or from it dropped, its
// signalling dials refused), or restores it.
func (h *simHost) SetCut(cut bool) { h.cut.Store(cut) }

// isCut reports whether the host cannot reach anything now.
func (h *simHost) isCut() bool { return h.cut.Load() || h.sim.cut.Load() }

// SetLoss changes the chance, 0 to 100, that a packet to the host is lost.
func (h *simHost) SetLoss(percent int) error {
	if err := h.loss.SetLossRate(percent, true); err != nil {
		return fmt.Errorf("loss %d%%: %w", percent, err)
	}
	return nil
}

// SetDelay changes the delay of packets to the host.
func (h *simHost) SetDelay(d time.Duration) { h.delay.SetDelay(d) }

// SetRate caps the bandwidth of packets to the host, in bit/s; 0 lifts the
// cap.
func (h *simHost) SetRate(bitsPerSecond int) {
	if bitsPerSecond == 0 {
		bitsPerSecond = noRateCap
	}
	h.tbf.SetRate(bitsPerSecond)
}

// DialContext dials real TCP (the signalling WebSocket on loopback) unless
// the host is cut: client.Options.NetDial.
func (h *simHost) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if h.isCut() {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, h.Name, errCut)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
