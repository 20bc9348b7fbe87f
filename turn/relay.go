package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Relay errors.
var (
	// ErrTCPRelay refuses RFC 6062 TCP allocations: WebRTC never asks for
	// them, and a relay that opens TCP connections on request is the
	// classic way into a network behind it.
	ErrTCPRelay = errors.New("turn: TCP relaying (RFC 6062) is not offered")
	// ErrNoRelayAddress is an allocation in an address family the relay
	// has no address in.
	ErrNoRelayAddress = errors.New("turn: no relay address in that address family")
	// ErrNoRelayPort is a relay port range with no free port left.
	ErrNoRelayPort = errors.New("turn: no free relay port")
)

// relayFamily is where relayed sockets of one address family bind and what
// address the relay tells clients.
type relayFamily struct {
	bind      netip.Addr // the local address relay sockets bind to
	advertise netip.Addr // the address in XOR-RELAYED-ADDRESS
}

// String shows the family in logs: "advertised (bound)".
func (f *relayFamily) String() string {
	if f == nil {
		return ""
	}
	if f.bind == f.advertise {
		return f.advertise.String()
	}
	return f.advertise.String() + " (bound " + f.bind.String() + ")"
}

// relayGen makes relayed sockets for allocations arriving over one client
// transport (udp, tcp or tls). It implements pion's RelayAddressGenerator.
type relayGen struct {
	srv       *Server
	transport string
	v4, v6    *relayFamily

	toPeerPackets, toPeerBytes, toClientPackets, toClientBytes prometheus.Counter
	allocations                                                prometheus.Gauge
}

var _ pionturn.RelayAddressGenerator = (*relayGen)(nil)

func newRelayGen(s *Server, transport string, v4, v6 *relayFamily) *relayGen {
	m := s.m
	return &relayGen{
		srv: s, transport: transport, v4: v4, v6: v6,
		toPeerPackets:   m.RelayedPackets.WithLabelValues(transport, "to_peer"),
		toPeerBytes:     m.RelayedBytes.WithLabelValues(transport, "to_peer"),
		toClientPackets: m.RelayedPackets.WithLabelValues(transport, "to_client"),
		toClientBytes:   m.RelayedBytes.WithLabelValues(transport, "to_client"),
		allocations:     m.Allocations.WithLabelValues(transport),
	}
}

// Validate implements pionturn.RelayAddressGenerator.
func (g *relayGen) Validate() error {
	if g.v4 == nil && g.v6 == nil {
		return ErrNoRelayAddress
	}
	return nil
}

// AllocatePacketConn binds a relayed UDP socket on a random port of the
// range (RFC 8656 section 7.2: the server picks the relayed address).
func (g *relayGen) AllocatePacketConn(c pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	fam := g.v4
	if c.Network == "udp6" {
		fam = g.v6
	}
	if fam == nil {
		return nil, nil, ErrNoRelayAddress
	}
	cfg := &g.srv.cfg
	bind := func(port int) (net.PacketConn, error) {
		return net.ListenPacket(c.Network, net.JoinHostPort(fam.bind.String(), strconv.Itoa(port))) //nolint:noctx // binding is immediate
	}
	var pc net.PacketConn
	var err error
	if c.RequestedPort != 0 {
		// EVEN-PORT / RESERVATION-TOKEN: only inside the range.
		if c.RequestedPort < int(cfg.RelayPortMin) || c.RequestedPort > int(cfg.RelayPortMax) {
			return nil, nil, ErrNoRelayPort
		}
		pc, err = bind(c.RequestedPort)
	} else {
		span := int(cfg.RelayPortMax) - int(cfg.RelayPortMin) + 1
		for range 32 {
			port := int(cfg.RelayPortMin) + rand.IntN(span) //nolint:gosec // port choice, not a secret
			if pc, err = bind(port); err == nil {
				break
			}
		}
	}
	if err != nil || pc == nil {
		g.srv.refuse("relay_ports", "no free relay port", "user", c.UserID, "err", err)
		return nil, nil, fmt.Errorf("%w: %v", ErrNoRelayPort, err)
	}
	local, ok := pc.LocalAddr().(*net.UDPAddr)
	if !ok {
		_ = pc.Close()
		return nil, nil, ErrNoRelayAddress
	}
	adv := &net.UDPAddr{IP: net.IP(fam.advertise.AsSlice()), Port: local.Port}
	if c.UserID == "" {
		// pion probing for a free even port (EVEN-PORT); it closes the
		// socket at once and it is no allocation.
		return pc, adv, nil
	}
	if g.transport != "udp" || g.srv.loop == nil {
		return g.newRelayConn(pc, c.UserID, uint16(local.Port)), adv, nil
	}
	// An allocation over UDP: the relay loop carries its media.
	sock, err := g.srv.loop.relaySocket(pc)
	if err != nil {
		return nil, nil, err
	}
	rc := g.newRelayConn(sock, c.UserID, uint16(local.Port))
	if err := g.srv.loop.addRelay(rc, sock, adv.AddrPort()); err != nil {
		_ = rc.Close()
		return nil, nil, err
	}
	return rc, adv, nil
}

// AllocateListener refuses TCP allocations.
func (g *relayGen) AllocateListener(c pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	g.srv.refuse("tcp_relay", "TCP allocation refused", "user", c.UserID)
	return nil, nil, ErrTCPRelay
}

// AllocateConn refuses TCP connections to peers.
func (g *relayGen) AllocateConn(c pionturn.AllocateConnConfig) (net.Conn, error) {
	g.srv.refuse("tcp_relay", "TCP connect refused", "user", c.UserID)
	return nil, ErrTCPRelay
}

// relayConn is one allocation's relayed socket. It counts what it relays,
// holds each direction to the per-allocation bit rate, drops packets
// addressed to the relay itself (a relay loop), and closes itself at the
// allocation age cap, which ends the allocation.
type relayConn struct {
	net.PacketConn
	gen   *relayGen
	user  string
	port  uint16
	probe bool // a connection test: media ports only

	limited bool
	rate    float64 // bytes a second, per direction
	burst   float64

	mu       sync.Mutex // guards the buckets and ageTimer
	up       bucket     // client to peer
	down     bucket     // peer to client
	ageTimer *time.Timer

	closeOnce sync.Once
	closeErr  error

	fast fastState // an allocation over UDP: what the relay loop knows of it
}

func (g *relayGen) newRelayConn(pc net.PacketConn, user string, port uint16) *relayConn {
	s := g.srv
	rc := &relayConn{PacketConn: pc, gen: g, user: user, port: port, probe: strings.HasPrefix(user, ProbeUserPrefix)}
	if s.cfg.MaxBitrate > 0 {
		rc.limited = true
		rc.rate = float64(s.cfg.MaxBitrate) / 8
		// One second of traffic: enough for a key frame burst.
		rc.burst = rc.rate
	}
	g.allocations.Inc()
	s.m.AllocationsTotal.WithLabelValues(g.transport).Inc()
	rc.mu.Lock()
	rc.ageTimer = time.AfterFunc(s.cfg.MaxAllocationAge, func() {
		s.log.Info("allocation reached its age cap; closing", "user", user, "relay", pc.LocalAddr().String(), "max_age", s.cfg.MaxAllocationAge)
		_ = rc.Close()
	})
	rc.mu.Unlock()
	s.addRelay(rc)
	return rc
}

// allow takes n bytes from the direction's bucket.
func (rc *relayConn) allow(b *bucket, n int) bool {
	if !rc.limited {
		return true
	}
	rc.mu.Lock()
	ok := b.take(time.Now(), rc.rate, rc.burst, float64(n))
	rc.mu.Unlock()
	return ok
}

// ReadFrom returns the next packet from a peer that fits the bit rate.
func (rc *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := rc.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !rc.allow(&rc.down, n) {
			rc.gen.srv.dropBandwidth.Inc()
			continue
		}
		rc.gen.toClientPackets.Inc()
		rc.gen.toClientBytes.Add(float64(n))
		return n, addr, nil
	}
}

// mayRelayUp reports whether a client's n-byte packet may go to peer, and
// counts it dropped if not: never to the relay itself, a connection test
// only to media ports, and within the allocation's bit rate.
func (rc *relayConn) mayRelayUp(peer netip.AddrPort, n int) bool {
	s := rc.gen.srv
	switch {
	case s.isSelf(peer):
		s.dropSelf.Inc()
	case rc.probe && !s.probePortOK(int(peer.Port())):
		s.dropProbePort.Inc()
	case !rc.allow(&rc.up, n):
		s.dropBandwidth.Inc()
	default:
		return true
	}
	return false
}

// WriteTo sends a client's packet to a peer. Dropped packets report
// success, as a lossy network would.
func (rc *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ap, ok := addrPort(addr); ok && !rc.mayRelayUp(ap, len(p)) {
		return len(p), nil
	}
	n, err := rc.PacketConn.WriteTo(p, addr)
	if err == nil {
		rc.gen.toPeerPackets.Inc()
		rc.gen.toPeerBytes.Add(float64(n))
	}
	return n, err
}

// Close releases the socket once.
func (rc *relayConn) Close() error {
	rc.closeOnce.Do(func() {
		rc.mu.Lock()
		rc.ageTimer.Stop()
		rc.mu.Unlock()
		rc.gen.srv.removeRelay(rc)
		rc.gen.allocations.Dec()
		rc.closeErr = rc.PacketConn.Close()
	})
	return rc.closeErr
}
