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

	sendq sendQueue  // what is sent while the socket is held
	set   *socketSet // the set it is in, if any

	readMu sync.Mutex // one reader at a time (Pion's ICE has one per socket)
	// What the read closure, made once so that reads do not allocate,
	// reads into and returns.
	rbuf   []byte
	rn     int
	rfrom  netip.AddrPort
	rerr   error
	sa     unix.RawSockaddrAny
	readFn func(uintptr) bool
	burst  burst // what the reader forwarded since its last wait
}

func newFastUDPConn(fc *fastConn, uc *net.UDPConn, set *socketSet) (transport.UDPConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("media socket: %w", err)
	}
	c := &fastUDPConn{fastConn: fc, uc: uc, rc: rc, fd: -1, set: set}
	if err := rc.Control(func(fd uintptr) { c.fd = int(fd) }); err != nil {
		_ = uc.Close()
		return nil, fmt.Errorf("media socket: %w", err)
	}
	if la, ok := uc.LocalAddr().(*net.UDPAddr); ok {
		c.v6 = la.IP.To4() == nil
	}
	c.sendq.v6 = c.v6
	c.readFn = func(fd uintptr) bool {
		for {
			n, from, err := udpraw.RecvFrom(int(fd), c.rbuf, &c.sa)
			if errors.Is(err, unix.EINTR) {
				continue // the datagram is still there: waiting for the next would strand it
			}
			if errors.Is(err, unix.EAGAIN) {
				c.burst.release() // nothing more to read: send what the burst forwarded
				return false      // and wait in the poller
			}
			c.rn, c.rfrom, c.rerr = n, from, err
			return true
		}
	}
	if set != nil {
		set.adopt(c)
	}
	return c, nil
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter: the next datagram
// the connection's fast path leaves to Pion. What the fast path forwards
// meanwhile is sent in bursts (burst.go): from a datagram read until there
// is none left to read, or one goes to Pion.
func (c *fastUDPConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.rbuf = p
	for {
		if err := c.rc.Read(c.readFn); err != nil {
			c.burst.release()
			return 0, netip.AddrPort{}, err // the socket's own (net.ErrClosed once closed)
		}
		if c.rerr != nil {
			err := &net.OpError{Op: "read", Net: "udp", Source: c.uc.LocalAddr(), Err: c.rerr}
			c.rerr = nil
			c.burst.release()
			return 0, netip.AddrPort{}, err
		}
		if !c.take(p[:c.rn], &c.burst) {
			c.burst.release()
			return c.rn, c.rfrom, nil
		}
	}
}

// holdSends makes what is written to the socket wait, queued, until the
// matching releaseSends (sendQueue): a burst holds the sockets of the
// subscribers it forwards to.
func (c *fastUDPConn) holdSends() { c.sendq.hold() }

// releaseSends ends a hold, sending what is queued.
func (c *fastUDPConn) releaseSends() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.sendq.discard()
		return
	}
	c.sendq.release(c.fd)
}

// WriteToAddrPort implements ice.AddrPortReaderWriter: while the socket
// is held, the datagram is queued (copied) and sent with the burst. A
// datagram the kernel will not take now (a full send buffer) is dropped,
// as a congested network would.
func (c *fastUDPConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.sendq.add(c.fd, p, addr) {
		return len(p), nil
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
	if c.set != nil {
		c.set.drop(c)
	}
	return c.uc.Close()
}
