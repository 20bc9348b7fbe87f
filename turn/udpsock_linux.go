package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/udpraw"
)

// detachUDP takes a bound UDP socket out of Go's network poller: it returns
// a non-blocking duplicate of its descriptor, for the relay loop's own
// epoll, and closes the original.
func detachUDP(pc net.PacketConn) (int, error) {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return -1, fmt.Errorf("turn: %T is not a UDP socket", pc)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("turn: detach socket: %w", err)
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(f uintptr) { fd, dupErr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, fmt.Errorf("turn: detach socket: %w", err)
	}
	_ = uc.Close()
	if dupErr != nil {
		return -1, fmt.Errorf("turn: detach socket: %w", dupErr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("turn: detach socket: %w", err)
	}
	return fd, nil
}

// packet is a datagram the loop hands to pion's goroutines.
type packet struct {
	b    []byte
	from netip.AddrPort
}

// loopSocket is a UDP socket the relay loop reads, seen by pion as a
// net.PacketConn: ReadFrom returns what the loop leaves to pion (STUN
// messages, and media the loop cannot relay itself), WriteTo sends at once.
// Close removes it from the loop and closes the descriptor.
type loopSocket struct {
	loop  *udpLoop
	fd    int
	v6    bool
	local *net.UDPAddr
	in    chan packet

	gone   bool // descriptor closed; guarded by loop.mu
	closed chan struct{}
}

var _ net.PacketConn = (*loopSocket)(nil)

func newLoopSocket(l *udpLoop, fd int, local *net.UDPAddr, queue int) *loopSocket {
	return &loopSocket{
		loop: l, fd: fd, v6: local.IP.To4() == nil, local: local,
		in: make(chan packet, queue), closed: make(chan struct{}),
	}
}

// toPion queues a copy of p for ReadFrom; when pion is that far behind the
// datagram is dropped, as the kernel would.
func (c *loopSocket) toPion(p []byte, from netip.AddrPort) bool {
	select {
	case c.in <- packet{b: append([]byte(nil), p...), from: from}:
		return true
	default:
		return false
	}
}

// ReadFrom implements net.PacketConn.
func (c *loopSocket) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case <-c.closed: // before anything still queued
		return 0, nil, net.ErrClosed
	default:
	}
	select {
	case pk := <-c.in:
		return copy(p, pk.b), net.UDPAddrFromAddrPort(pk.from), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

// WriteTo implements net.PacketConn. It holds the loop's lock for reading,
// so the descriptor cannot be closed, and its number reused, meanwhile.
func (c *loopSocket) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("turn: write to %T: %w", addr, net.UnknownNetworkError(addr.Network()))
	}
	l := c.loop
	l.mu.RLock()
	defer l.mu.RUnlock()
	if c.gone {
		return 0, net.ErrClosed
	}
	if err := udpraw.SendTo(c.fd, c.v6, p, ua.AddrPort()); err != nil && !errors.Is(err, udpraw.ErrDrop) {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.local, Addr: ua, Err: err}
	}
	return len(p), nil
}

// Close implements net.PacketConn.
func (c *loopSocket) Close() error {
	c.loop.remove(c)
	return nil
}

// LocalAddr implements net.PacketConn.
func (c *loopSocket) LocalAddr() net.Addr { return c.local }

// SetDeadline implements net.PacketConn; the loop's sockets have none.
func (c *loopSocket) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.PacketConn.
func (c *loopSocket) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.PacketConn.
func (c *loopSocket) SetWriteDeadline(time.Time) error { return nil }
