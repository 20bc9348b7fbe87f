package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
// on real loopback. A host's DialContext (client.Options.NetDial) refuses
// to connect while the host or the network is cut, and the connections it
// made stall while cut, as TCP does through an outage: what either side
// writes is held, not lost, and delivered when the cut ends; a connection
// the host closes during the cut closes for the other side only when the
// cut ends. A test may also drop the socket itself at the moment of the cut
// (client.DropConnection).
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

	sim     *simNet
	cut     atomic.Bool
	silent  atomic.Pointer[silencer] // SilenceMedia
	changed chan struct{}            // closed and replaced whenever cut changes; guarded by sim.mu
	conns   map[*stallConn]struct{}
	loss    *vnet.LossFilter
	delay   *vnet.DelayFilter
	tbf     *vnet.TBFQueue
	queue   *vnet.Queue
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
		var conns []*stallConn
		for _, h := range n.hosts {
			_ = h.queue.Close()
			_ = h.delay.Close()
			for c := range h.conns {
				conns = append(conns, c)
			}
		}
		n.mu.Unlock()
		for _, c := range conns {
			c.closeNow()
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
	if h := n.host(c.DestinationAddr()); h != nil {
		if s := h.silent.Load(); s != nil && s.drops(c) {
			return false
		}
	}
	return true
}

// silencer drops the RTP and RTCP arriving at a host on the paths (UDP port
// pairs) that carried it when the silence began, and lets STUN through: the
// host's ICE stays connected while its media connections carry nothing.
type silencer struct {
	capture time.Time // paths seen before this are silenced
	mu      sync.Mutex
	paths   map[[2]int]bool
	dropped int
}

func (s *silencer) drops(c vnet.Chunk) bool {
	src, ok1 := c.SourceAddr().(*net.UDPAddr)
	dst, ok2 := c.DestinationAddr().(*net.UDPAddr)
	data := c.UserData()
	if !ok1 || !ok2 || len(data) == 0 || data[0] < 128 || data[0] > 191 {
		return false // not UDP, or not RTP/RTCP (STUN starts 0-3)
	}
	path := [2]int{src.Port, dst.Port}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.paths[path] {
		if time.Now().After(s.capture) {
			return false // a path opened since (an ICE restart's)
		}
		s.paths[path] = true
	}
	s.dropped++
	return true
}

// SilenceMedia makes the host's media connections as they are now carry
// nothing to it while their ICE stays connected (see silencer): a path is
// one that carries a packet within the next half second. It returns a
// function that counts the packets dropped so far.
func (h *simHost) SilenceMedia() func() int {
	s := &silencer{capture: time.Now().Add(500 * time.Millisecond), paths: make(map[[2]int]bool)}
	h.silent.Store(s)
	return func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.dropped
	}
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
	h := &simHost{Name: name, IP: ip, Net: vn, sim: n, changed: make(chan struct{}), conns: make(map[*stallConn]struct{})}
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

// SetCut cuts the whole network off (every packet dropped, signalling
// stalled), or restores it.
func (n *simNet) SetCut(cut bool) {
	n.cut.Store(cut)
	n.mu.Lock()
	hosts := make([]*simHost, 0, len(n.hosts))
	for _, h := range n.hosts {
		hosts = append(hosts, h)
	}
	n.mu.Unlock()
	for _, h := range hosts {
		h.notify()
	}
}

// SetCut cuts the host off (every packet to or from it dropped, its
// signalling connections stalled and its dials refused), or restores it.
func (h *simHost) SetCut(cut bool) {
	h.cut.Store(cut)
	h.notify()
}

// notify wakes whatever waits for the host's cut to change, and closes the
// connections it closed while cut once it is up again.
func (h *simHost) notify() {
	h.sim.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	var conns []*stallConn
	if !h.isCut() {
		for c := range h.conns {
			conns = append(conns, c)
		}
	}
	h.sim.mu.Unlock()
	for _, c := range conns {
		if c.isClosed() {
			c.closeNow()
		} else if err := c.flush(); err != nil {
			_ = c.Conn.Close()
		}
	}
}

// waitUp blocks until the host is not cut, or stop is closed (false).
func (h *simHost) waitUp(stop <-chan struct{}) bool {
	for {
		h.sim.mu.Lock()
		ch := h.changed
		h.sim.mu.Unlock()
		if !h.isCut() {
			return true
		}
		select {
		case <-ch:
		case <-stop:
			return false
		}
	}
}

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
// the host is cut, and returns a connection that stalls while the host is
// cut: client.Options.NetDial.
func (h *simHost) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if h.isCut() {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, h.Name, errCut)
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &stallConn{Conn: raw, h: h, in: make(chan []byte), closed: make(chan struct{}), pumped: make(chan struct{})}
	h.sim.mu.Lock()
	h.conns[c] = struct{}{}
	h.sim.mu.Unlock()
	go c.pump()
	return c, nil
}

// stallConn is a TCP connection through a host of the simulated network:
// while the host is cut nothing passes either way, but nothing is lost.
// Its pump goroutine reads the real connection and exits when that closes
// (closeNow: at Close when the host is up, else when the cut ends, or at
// the end of the test).
type stallConn struct {
	net.Conn
	h      *simHost
	in     chan []byte   // data read, handed to Read when the host is up
	rest   []byte        // what Read's last chunk left over; Read's own
	closed chan struct{} // closed by Close
	pumped chan struct{} // closed when pump exits

	mu           sync.Mutex
	held         [][]byte // written while cut
	readDeadline time.Time
	closeMu      sync.Once
	realMu       sync.Once
}

// pump reads the real connection and hands the data (and at last its end)
// on when the host is up.
func (c *stallConn) pump() {
	defer close(c.pumped)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Conn.Read(buf)
		if !c.h.waitUp(c.closed) {
			return
		}
		if n > 0 {
			select {
			case c.in <- append([]byte(nil), buf[:n]...):
			case <-c.closed:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Read returns what the other side sent, once the host is up.
func (c *stallConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		c.mu.Lock()
		dl := c.readDeadline
		c.mu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			t := time.NewTimer(time.Until(dl))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case data := <-c.in:
			c.rest = data
		case <-c.closed:
			return 0, net.ErrClosed
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		case <-c.pumped:
			select {
			case data := <-c.in:
				c.rest = data
			default:
				return 0, io.EOF
			}
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// SetReadDeadline applies to Read (the pump reads the real connection
// without one).
func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return nil
}

// SetDeadline sets both deadlines.
func (c *stallConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// Write sends p, or holds it while the host is cut.
func (c *stallConn) Write(p []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.isCut() {
		c.held = append(c.held, append([]byte(nil), p...))
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// flush sends what was written while the host was cut.
func (c *stallConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *stallConn) flushLocked() error {
	for len(c.held) > 0 {
		if _, err := c.Conn.Write(c.held[0]); err != nil {
			return err
		}
		c.held = c.held[1:]
	}
	return nil
}

// Close closes the connection for this side now, and for the other side
// now or, while the host is cut, when the cut ends.
func (c *stallConn) Close() error {
	c.closeMu.Do(func() { close(c.closed) })
	if !c.h.isCut() {
		c.closeNow()
	}
	return nil
}

func (c *stallConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// closeNow closes the real connection and waits for the pump.
func (c *stallConn) closeNow() {
	c.closeMu.Do(func() { close(c.closed) })
	c.realMu.Do(func() {
		_ = c.Conn.Close()
		<-c.pumped
		c.h.sim.mu.Lock()
		delete(c.h.conns, c)
		c.h.sim.mu.Unlock()
	})
}
