package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/pion/transport/v4"
	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/udpraw"
)

// fastUDPConn is a fastConn over an operating system socket. Pion's ICE
// reads and writes it by netip.AddrPort, and it moves datagrams with raw
// system calls (internal/udpraw): a goroutine entering an ordinary one
// wakes the Go runtime's monitor thread whenever the process was idle,
// which between packets it mostly is. Reads wait in Go's network poller.
type fastUDPConn struct {
	*fastConn
	uc *net.UDPConn
	rc syscall.RawConn
	v6 bool

	mu     sync.RWMutex // writes hold it for reading: the descriptor stays open meanwhile
	fd     int
	closed bool

	readMu sync.Mutex // one reader at a time (Pion's ICE has one per socket)
	// What the read closure, made once so that reads do not allocate,
	// reads into and returns.
	rbuf   []byte
	rn     int
	rfrom  netip.AddrPort
	rerr   error
	sa     unix.RawSockaddrAny
	readFn func(uintptr) bool
}

func newFastUDPConn(fc *fastConn, uc *net.UDPConn) (transport.UDPConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("media socket: %w", err)
	}
	c := &fastUDPConn{fastConn: fc, uc: uc, rc: rc, fd: -1}
	if err := rc.Control(func(fd uintptr) { c.fd = int(fd) }); err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("media socket: %w", err)
	}
	if la, ok := uc.LocalAddr().(*net.UDPAddr); ok {
		c.v6 = la.IP.To4() == nil
	}
	c.readFn = func(fd uintptr) bool {
		for {
			n, from, err := udpraw.RecvFrom(int(fd), c.rbuf, &c.sa)
			if errors.Is(err, unix.EINTR) {
				continue // the datagram is still there: waiting for the next would strand it
			}
			if errors.Is(err, unix.EAGAIN) {
				return false // wait in the poller
			}
			c.rn, c.rfrom, c.rerr = n, from, err
			return true
		}
	}
	return c, nil
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter: the next datagram
// the connection's fast path leaves to Pion.
func (c *fastUDPConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.rbuf = p
	for {
		if err := c.rc.Read(c.readFn); err != nil {
			return 0, netip.AddrPort{}, err // the socket's own (net.ErrClosed once closed)
		}
		if c.rerr != nil {
			err := &net.OpError{Op: "read", Net: "udp", Source: c.uc.LocalAddr(), Err: c.rerr}
			c.rerr = nil
			return 0, netip.AddrPort{}, err
		}
		if !c.take(p[:c.rn]) {
			return c.rn, c.rfrom, nil
		}
	}
}

// WriteToAddrPort implements ice.AddrPortReaderWriter. A datagram the
// kernel will not take now (a full send buffer) is dropped, as a
// congested network would.
func (c *fastUDPConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if err := udpraw.SendTo(c.fd, c.v6, p, addr); err != nil && !errors.Is(err, udpraw.ErrDrop) {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.uc.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	return len(p), nil
}

// Close implements net.PacketConn: no write is under way on the
// descriptor when it closes.
func (c *fastUDPConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.uc.Close()
}
