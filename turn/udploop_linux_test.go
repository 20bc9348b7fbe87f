package turn

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// boundRelay allocates for user over UDP and exchanges n echoes with an
// echo peer, so the client has a permission and, after the first few
// datagrams, a bound channel.
func boundRelay(t *testing.T, s *Server, user string, n int) (net.PacketConn, *net.UDPConn) {
	t.Helper()
	peer := echoPeer(t)
	name, pass, _ := s.Credentials().Issue(user)
	relay, err := dialClient(t, s, "udp", "", name, pass).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	if got := roundTrips(t, relay, peer.LocalAddr(), n, 100); got != n {
		t.Fatalf("warm-up: %d of %d echoes", got, n)
	}
	return relay, peer
}

// TestLoopCarriesChannelData: once the client's channel is bound, every
// datagram in both directions is relayed by the loop itself, counted in
// the metrics, with nothing lost.
func TestLoopCarriesChannelData(t *testing.T) {
	s, m := startServer(t, testConfig())
	if s.loop == nil {
		t.Fatal("no relay loop on Linux")
	}
	// The client sends Send indications until its ChannelBind succeeds.
	relay, peer := boundRelay(t, s, "loop-1", 20)
	up, down := s.loop.toPeer.Load(), s.loop.toClient.Load()
	metricUp := value(m.RelayedPackets.WithLabelValues("udp", "to_peer"))
	if got := roundTrips(t, relay, peer.LocalAddr(), 200, 1000); got != 200 {
		t.Fatalf("%d of 200 echoes came back", got)
	}
	if d := s.loop.toPeer.Load() - up; d != 200 {
		t.Errorf("loop relayed %d of 200 datagrams to the peer", d)
	}
	// The loop counts a datagram after sending it: the client may have the
	// last echo first.
	for deadline := time.Now().Add(time.Second); s.loop.toClient.Load()-down < 200 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if d := s.loop.toClient.Load() - down; d != 200 {
		t.Errorf("loop relayed %d of 200 datagrams to the client", d)
	}
	if d := value(m.RelayedPackets.WithLabelValues("udp", "to_peer")) - metricUp; d != 200 {
		t.Errorf("relayed_packets_total{udp,to_peer} grew by %v, want 200", d)
	}
}

// TestLoopDropsPeersWithoutPermission: datagrams to a relayed address from
// an address the client gave no permission reach nobody (RFC 8656 section
// 10.3); the permitted peer's next datagram is the first the client sees.
func TestLoopDropsPeersWithoutPermission(t *testing.T) {
	s, m := startServer(t, testConfig())
	relay, peer := boundRelay(t, s, "loop-2", 10)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	before := value(m.RelayedPackets.WithLabelValues("udp", "to_client"))
	for range 20 {
		if _, err := stranger.WriteTo([]byte("intruder"), relay.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the loop see them first
	if _, err := peer.WriteTo([]byte("marker"), relay.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = relay.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, from, err := relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("the permitted peer's datagram did not arrive: %v", err)
	}
	if !bytes.Equal(buf[:n], []byte("marker")) {
		t.Fatalf("client received %q from %v first, want the peer's marker", buf[:n], from)
	}
	// The loop counts a datagram after sending it: the client may have it
	// first.
	grew := func() float64 { return value(m.RelayedPackets.WithLabelValues("udp", "to_client")) - before }
	for deadline := time.Now().Add(time.Second); grew() < 1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if d := grew(); d != 1 {
		t.Errorf("relayed_packets_total{udp,to_client} grew by %v, want 1", d)
	}
}

// TestLoopForgetsClosedAllocations: an allocation the client ends leaves
// nothing in the loop, and its former address relays nothing.
func TestLoopForgetsClosedAllocations(t *testing.T) {
	s, _ := startServer(t, testConfig())
	relay, peer := boundRelay(t, s, "loop-3", 10)
	relayAddr := relay.LocalAddr()
	if err := relay.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.loop.mu.RLock()
		regs, byRelay, clients := len(s.loop.regs), len(s.loop.byRelay), len(s.loop.clients)
		s.loop.mu.RUnlock()
		if regs == 1 && byRelay == 0 && clients == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after close the loop still holds %d sockets (want the listener only), %d relays, %d clients", regs, byRelay, clients)
		}
		time.Sleep(20 * time.Millisecond)
	}
	down := s.loop.toClient.Load()
	for range 10 {
		_, _ = peer.WriteTo([]byte("late"), relayAddr)
	}
	time.Sleep(100 * time.Millisecond)
	if d := s.loop.toClient.Load() - down; d != 0 {
		t.Errorf("%d datagrams relayed from a closed allocation's address", d)
	}
}
