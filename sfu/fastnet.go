package sfu

import (
	"errors"
	"net"
	"syscall"

	"github.com/pion/transport/v4"
)

// fastNet is the network of one connection: the server's own (the
// operating system's, or a simulated one in tests), whose UDP sockets
// hand each datagram they read to a publisher connection's fast path
// first (fastpath.go; fp is nil on subscriber connections), and whose
// operating system sockets move datagrams with raw system calls
// (fastnet_linux.go).
type fastNet struct {
	transport.Net
	fp *fastPath
}

// ListenUDP implements transport.Net.
func (n fastNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	fc := &fastConn{UDPConn: c, fp: n.fp}
	if uc, ok := c.(*net.UDPConn); ok {
		return newFastUDPConn(fc, uc)
	}
	return fc, nil
}

// fastConn is a socket of a publisher connection: ReadFrom returns only the
// datagrams the fast path leaves to Pion.
type fastConn struct {
	transport.UDPConn
	fp *fastPath
}

// ReadFrom implements net.PacketConn.
func (c *fastConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.fp.take(p[:n]) {
			return n, addr, err
		}
	}
}

// errNoSyscallConn is returned by SyscallConn on a simulated socket.
var errNoSyscallConn = errors.New("sfu: socket has no system descriptor")

// SyscallConn gives the socket's descriptor to those who set options on it
// (multicast DNS joins its group through it).
func (c *fastConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.UDPConn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSyscallConn
}
