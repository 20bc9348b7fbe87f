//go:build !linux

package sfu

import (
	"net"
	"net/netip"

	"github.com/pion/transport/v4"
)

// fastUDPConn is a fastConn over an operating system socket. Pion's ICE
// reads and writes it by netip.AddrPort, without allocating an address per
// datagram.
type fastUDPConn struct {
	*fastConn
	uc *net.UDPConn
}

func newFastUDPConn(fc *fastConn, uc *net.UDPConn, _ *socketSet) (transport.UDPConn, error) {
	return &fastUDPConn{fastConn: fc, uc: uc}, nil
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (c *fastUDPConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := c.uc.ReadFromUDPAddrPort(p)
		if err != nil || !c.take(p[:n], nil) {
			return n, addr, err
		}
	}
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (c *fastUDPConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	return c.uc.WriteToUDPAddrPort(p, addr)
}
