//go:build !linux

package turn

import (
	"net"
	"net/netip"

	pionturn "github.com/pion/turn/v5"
)

// udpLoop is Linux's single-goroutine relay loop; elsewhere pion relays.
type udpLoop struct{}

// fastState is the loop's view of an allocation; empty without the loop.
type fastState struct{}

// startUDPLoop reports no loop: pion reads the listeners.
func startUDPLoop(*Server, []net.PacketConn) (*udpLoop, []net.PacketConn, error) {
	return nil, nil, nil
}

func (*udpLoop) relaySocket(pc net.PacketConn) (net.PacketConn, error) { return pc, nil }

func (*udpLoop) addRelay(*relayConn, net.PacketConn, netip.AddrPort) error { return nil }

func (*udpLoop) eventHandler(h pionturn.EventHandler) pionturn.EventHandler { return h }

func (*udpLoop) close() {}
