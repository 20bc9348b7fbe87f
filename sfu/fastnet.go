package sfu

import (
	"errors"
	"net"
	"syscall"

	"github.com/pion/transport/v4"
)

// fastNet is the network of one connection, or of the shared UDP port:
// the server's own (the operating system's, or a simulated one in tests),
// whose UDP sockets hand each datagram they read to a taker first (a
// publisher connection's fast path, fastpath.go, or the shared port's
// router; nil on subscriber connections), and whose operating system
// sockets move datagrams with raw system calls (fastnet_linux.go).
type fastNet struct {
	transport.Net
	tk taker
	// sockets is the set its operating system sockets join, whose sends a
	// burst holds (burst.go): a subscriber connection's own, or the shared
	// port's; nil for none.
	sockets *socketSet
}

// taker is where a socket's reader hands each datagram first: a publisher
// connection's fast path, or the shared port's router (fastpaths.go).
type taker interface {
	// take reports whether it took p; false leaves p to Pion. What it
	// forwards meanwhile is sent in burst b (nil: at once).
	take(p []byte, b *burst) bool
}

// ListenUDP implements transport.Net.
func (n fastNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	fc := &fastConn{UDPConn: c, tk: n.tk}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return fc, nil
	}
	return newFastUDPConn(fc, uc, n.sockets)
}

// fastConn is a media socket: ReadFrom returns only the datagrams its
// taker leaves to Pion (all of them on a subscriber connection).
type fastConn struct {
	transport.UDPConn
	tk taker // nil: everything is Pion's
}

func (c *fastConn) take(p []byte, b *burst) bool { return c.tk != nil && c.tk.take(p, b) }

// ReadFrom implements net.PacketConn.
func (c *fastConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.take(p[:n], nil) {
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
