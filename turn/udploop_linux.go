package turn

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	pionturn "github.com/pion/turn/v5"
	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/udpraw"
)

// Loop sizes.
const (
	loopEvents     = 256   // readiness events taken per wake-up
	listenerBurst  = 64    // datagrams read from a listener per readiness event
	listenerQueue  = 1024  // datagrams waiting for pion per listener
	relayQueue     = 64    // datagrams waiting for pion per relayed socket
	maxDatagram    = 65536 // the largest UDP payload read
	channelDataHdr = 4     // ChannelData header: channel number, length
)

// udpLoop moves media between UDP clients and their peers on one goroutine
// over one epoll set holding the UDP listeners and every relayed socket of
// an allocation made over UDP: ChannelData from a client goes out of its
// relayed socket, a datagram from a bound peer goes back as ChannelData,
// with no goroutine hand-off and a single wake-up for every socket that
// became ready at once (as coturn's event loop does). pion keeps the
// protocol: the loop hands it every STUN message and every datagram it does
// not relay itself (Send and Data indications, unknown channels), and
// mirrors the permissions and channels pion grants from its events, so
// nothing is relayed that pion would not relay.
type udpLoop struct {
	srv  *Server
	epfd int
	poll syscall.RawConn // epfd in Go's network poller
	file *os.File        // owns epfd
	wake int             // an eventfd written to stop the loop

	mu        sync.RWMutex // the loop holds it for reading while it serves a wake-up
	regs      map[int32]loopReg
	gen       uint32
	byRelay   map[netip.AddrPort]*relayConn // by advertised relayed address
	clients   map[loopClient]*relayConn
	listeners map[netip.AddrPort]*loopSocket // by local address
	stopped   bool

	toPeer, toClient atomic.Uint64 // datagrams the loop relayed itself

	done chan struct{}
}

// loopReg is a registered socket; gen tells a descriptor number reused
// after a close from the socket it was.
type loopReg struct {
	gen  uint32
	sock *loopSocket
	rc   *relayConn // nil for a listener
}

// loopClient is a client transport address on one listener.
type loopClient struct {
	lst  int
	addr netip.AddrPort
}

// fastState is what the loop knows of one UDP allocation, mirrored from
// pion's events.
type fastState struct {
	sock  *loopSocket    // the relayed socket
	relay netip.AddrPort // the advertised relayed address

	mu     sync.RWMutex
	out    *loopSocket // the listener the client uses; nil until linked
	client netip.AddrPort
	perms  map[netip.Addr]struct{}
	byNum  map[uint16]netip.AddrPort
	byPeer map[netip.AddrPort]uint16
}

// startUDPLoop takes the UDP listeners into a new loop and returns the
// sockets pion reads instead.
func startUDPLoop(s *Server, udp []net.PacketConn) (*udpLoop, []net.PacketConn, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("turn: epoll: %w", err)
	}
	// Non-blocking, so that os.NewFile puts it in Go's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, nil, fmt.Errorf("turn: epoll: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "turn-relay-epoll")
	poll, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, nil, fmt.Errorf("turn: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_ = file.Close()
		return nil, nil, fmt.Errorf("turn: eventfd: %w", err)
	}
	l := &udpLoop{
		srv: s, epfd: epfd, poll: poll, file: file, wake: wake,
		regs:      make(map[int32]loopReg),
		byRelay:   make(map[netip.AddrPort]*relayConn),
		clients:   make(map[loopClient]*relayConn),
		listeners: make(map[netip.AddrPort]*loopSocket),
		done:      make(chan struct{}),
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		close(l.done)
		l.close()
		return nil, nil, fmt.Errorf("turn: epoll: %w", err)
	}
	out := make([]net.PacketConn, 0, len(udp))
	for _, pc := range udp {
		local, _ := pc.LocalAddr().(*net.UDPAddr)
		fd, err := detachUDP(pc)
		if err == nil {
			sock := newLoopSocket(l, fd, local, listenerQueue)
			if err = l.add(sock, nil); err == nil {
				l.listeners[unmapped(local.AddrPort())] = sock
				out = append(out, sock)
				continue
			}
			_ = unix.Close(fd)
		}
		close(l.done)
		l.close()
		return nil, nil, err
	}
	go l.run()
	return l, out, nil
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// add registers a socket with the loop.
func (l *udpLoop) add(sock *loopSocket, rc *relayConn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || sock.gone {
		return net.ErrClosed
	}
	l.gen++
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(sock.fd), Pad: int32(l.gen)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, sock.fd, &ev); err != nil {
		return fmt.Errorf("turn: epoll add: %w", err)
	}
	l.regs[int32(sock.fd)] = loopReg{gen: l.gen, sock: sock, rc: rc}
	if rc != nil {
		l.byRelay[rc.fast.relay] = rc
	}
	return nil
}

// remove closes a socket once: out of the epoll set, its descriptor
// closed, its allocation forgotten, its reader told.
func (l *udpLoop) remove(sock *loopSocket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sock.gone {
		return
	}
	sock.gone = true
	defer close(sock.closed)
	r, ok := l.regs[int32(sock.fd)]
	if !ok || r.sock != sock {
		_ = unix.Close(sock.fd) // never registered
		return
	}
	delete(l.regs, int32(sock.fd))
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, sock.fd, nil)
	_ = unix.Close(sock.fd)
	if r.rc == nil {
		delete(l.listeners, unmapped(sock.local.AddrPort()))
	}
	if rc := r.rc; rc != nil {
		if l.byRelay[rc.fast.relay] == rc {
			delete(l.byRelay, rc.fast.relay)
		}
		rc.fast.mu.RLock()
		out, client := rc.fast.out, rc.fast.client
		rc.fast.mu.RUnlock()
		if out != nil {
			if k := (loopClient{out.fd, client}); l.clients[k] == rc {
				delete(l.clients, k)
			}
		}
	}
}

// relaySocket takes a freshly bound relayed socket into the loop's keeping
// (registered once its allocation is known, by addRelay).
func (l *udpLoop) relaySocket(pc net.PacketConn) (*loopSocket, error) {
	local, _ := pc.LocalAddr().(*net.UDPAddr)
	fd, err := detachUDP(pc)
	if err != nil {
		return nil, err
	}
	return newLoopSocket(l, fd, local, relayQueue), nil
}

// addRelay registers an allocation's relayed socket.
func (l *udpLoop) addRelay(rc *relayConn, sock *loopSocket, relay netip.AddrPort) error {
	rc.fast.sock, rc.fast.relay = sock, unmapped(relay)
	rc.fast.perms = make(map[netip.Addr]struct{})
	rc.fast.byNum = make(map[uint16]netip.AddrPort)
	rc.fast.byPeer = make(map[netip.AddrPort]uint16)
	return l.add(sock, rc)
}

// close stops the loop and closes every socket it still holds.
func (l *udpLoop) close() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(l.wake, one[:])
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	for fd, r := range l.regs {
		_ = unix.Close(int(fd))
		r.sock.gone = true
		close(r.sock.closed)
	}
	clear(l.regs)
	_ = l.file.Close()
	_ = unix.Close(l.wake)
}

// run serves wake-ups until close. It waits for the epoll set in Go's
// network poller rather than in a blocking epoll_wait: a goroutine parked
// there costs the runtime nothing, where a thread blocked in a system call
// keeps the runtime's monitor thread polling, and the system calls that
// move datagrams are raw ones for the same reason.
func (l *udpLoop) run() {
	defer close(l.done)
	events := make([]unix.EpollEvent, loopEvents)
	buf := make([]byte, channelDataHdr+maxDatagram)
	var sa unix.RawSockaddrAny
	var werr error
	err := l.poll.Read(func(fd uintptr) bool {
		for {
			n, err := epollWaitNow(int(fd), events)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				werr = err
				return true
			case n == 0:
				return false // park until the set has something ready
			}
			if l.serve(events[:n], buf, &sa) {
				return true
			}
		}
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		l.srv.log.Error("turn: relay loop stopped", "err", err)
	}
}

// epollWaitNow takes the ready events without blocking.
func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))),
		uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// serve handles one batch of ready sockets; true means stop.
func (l *udpLoop) serve(events []unix.EpollEvent, buf []byte, sa *unix.RawSockaddrAny) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := range events {
		ev := &events[i]
		if int(ev.Fd) == l.wake {
			return true
		}
		r, ok := l.regs[ev.Fd]
		if !ok || r.gen != uint32(ev.Pad) {
			continue
		}
		if r.rc == nil {
			l.fromClients(r.sock, buf, sa)
		} else {
			l.fromPeer(r.rc, buf, sa)
		}
	}
	return false
}

// fromClients reads a listener: ChannelData on a channel the loop knows
// goes straight to the peer, the rest to pion.
func (l *udpLoop) fromClients(lst *loopSocket, buf []byte, sa *unix.RawSockaddrAny) {
	s := l.srv
	for range listenerBurst {
		n, from, err := udpraw.RecvFrom(lst.fd, buf, sa)
		if err != nil {
			return
		}
		p := buf[:n]
		if n >= channelDataHdr && p[0]&0xC0 == 0x40 {
			if rc := l.clients[loopClient{lst.fd, from}]; rc != nil && rc.channelToPeer(p) {
				continue
			}
		}
		if s.overRate(p, from) {
			s.rateLimited(net.UDPAddrFromAddrPort(from))
			continue
		}
		if !lst.toPion(p, from) {
			s.dropBacklog.Inc()
		}
	}
}

// channelToPeer relays a client's ChannelData message if its channel is
// bound and its peer permitted; false leaves it to pion.
func (rc *relayConn) channelToPeer(p []byte) bool {
	num := binary.BigEndian.Uint16(p)
	size := int(binary.BigEndian.Uint16(p[2:]))
	if channelDataHdr+size > len(p) {
		return false
	}
	f := &rc.fast
	f.mu.RLock()
	peer, ok := f.byNum[num]
	if ok {
		_, ok = f.perms[peer.Addr()]
	}
	f.mu.RUnlock()
	if !ok {
		return false
	}
	data := p[channelDataHdr : channelDataHdr+size]
	if !rc.mayRelayUp(peer, size) {
		return true
	}
	if err := udpraw.SendTo(f.sock.fd, f.sock.v6, data, peer); err != nil {
		rc.gen.srv.dropSend.Inc()
		return true
	}
	rc.gen.toPeerPackets.Inc()
	rc.gen.toPeerBytes.Add(float64(size))
	rc.gen.srv.loop.toPeer.Add(1)
	return true
}

// fromPeer reads one datagram from a relayed socket and sends it to the
// client as ChannelData when the peer has a channel; a permitted peer
// without one is left to pion (a Data indication); the rest is dropped, as
// RFC 8656 section 10.3 asks.
func (l *udpLoop) fromPeer(rc *relayConn, buf []byte, sa *unix.RawSockaddrAny) {
	f := &rc.fast
	n, from, err := udpraw.RecvFrom(f.sock.fd, buf[channelDataHdr:], sa)
	if err != nil {
		return
	}
	f.mu.RLock()
	num, bound := f.byPeer[from]
	_, perm := f.perms[from.Addr()]
	out, client := f.out, f.client
	f.mu.RUnlock()
	switch {
	case !perm:
		return
	case !bound || out == nil || out.gone:
		if !f.sock.toPion(buf[channelDataHdr:channelDataHdr+n], from) {
			rc.gen.srv.dropBacklog.Inc()
		}
		return
	}
	if !rc.allow(&rc.down, n) {
		rc.gen.srv.dropBandwidth.Inc()
		return
	}
	binary.BigEndian.PutUint16(buf, num)
	binary.BigEndian.PutUint16(buf[2:], uint16(n))
	if err := udpraw.SendTo(out.fd, out.v6, buf[:channelDataHdr+n], client); err != nil {
		rc.gen.srv.dropSend.Inc()
		return
	}
	rc.gen.toClientPackets.Inc()
	rc.gen.toClientBytes.Add(float64(n))
	l.toClient.Add(1)
}

// eventHandler adds the loop's mirrors of pion's allocation state to h.
func (l *udpLoop) eventHandler(h pionturn.EventHandler) pionturn.EventHandler {
	created := h.OnAllocationCreated
	h.OnAllocationCreated = func(src, dst net.Addr, proto, user, realm string, relay net.Addr, port int) {
		if created != nil {
			created(src, dst, proto, user, realm, relay, port)
		}
		l.link(src, dst, relay)
	}
	h.OnPermissionCreated = func(_, _ net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
		l.permission(relay, peer, true)
	}
	h.OnPermissionDeleted = func(_, _ net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
		l.permission(relay, peer, false)
	}
	h.OnChannelCreated = func(_, _ net.Addr, _, _, _ string, relay, peer net.Addr, num uint16) {
		l.channel(relay, peer, num, true)
	}
	h.OnChannelDeleted = func(_, _ net.Addr, _, _, _ string, relay, peer net.Addr, num uint16) {
		l.channel(relay, peer, num, false)
	}
	return h
}

// relayConnAt is the UDP allocation at an advertised relayed address.
func (l *udpLoop) relayConnAt(relay net.Addr) *relayConn {
	ap, ok := addrPort(relay)
	if !ok {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.byRelay[ap]
}

// link records which client, on which listener, an allocation serves.
func (l *udpLoop) link(src, dst, relay net.Addr) {
	rc := l.relayConnAt(relay)
	sa, ok1 := addrPort(src)
	da, ok2 := addrPort(dst)
	if rc == nil || !ok1 || !ok2 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.listeners[da]
	if out == nil || l.byRelay[rc.fast.relay] != rc {
		return // not a UDP client, or already closed
	}
	l.clients[loopClient{out.fd, sa}] = rc
	rc.fast.mu.Lock()
	rc.fast.out, rc.fast.client = out, sa
	rc.fast.mu.Unlock()
}

// update runs fn on the state of the UDP allocation at relay, if there is
// one, under its lock.
func (l *udpLoop) update(relay net.Addr, fn func(f *fastState)) {
	rc := l.relayConnAt(relay)
	if rc == nil {
		return
	}
	rc.fast.mu.Lock()
	defer rc.fast.mu.Unlock()
	fn(&rc.fast)
}

// permission mirrors a permission pion granted (on) or removed.
func (l *udpLoop) permission(relay net.Addr, peer net.IP, on bool) {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		return
	}
	ip = ip.Unmap()
	l.update(relay, func(f *fastState) {
		if on {
			f.perms[ip] = struct{}{}
		} else {
			delete(f.perms, ip)
		}
	})
}

// channel mirrors a channel pion bound (on) or removed.
func (l *udpLoop) channel(relay, peer net.Addr, num uint16, on bool) {
	ap, ok := addrPort(peer)
	if !ok {
		return
	}
	l.update(relay, func(f *fastState) {
		switch {
		case on:
			f.byNum[num], f.byPeer[ap] = ap, num
		default:
			if f.byNum[num] == ap {
				delete(f.byNum, num)
			}
			if f.byPeer[ap] == num {
				delete(f.byPeer, ap)
			}
		}
	})
}
