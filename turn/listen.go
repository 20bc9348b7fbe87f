package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// stunMagicCookie marks a STUN message (RFC 8489 section 5).
const stunMagicCookie = 0x2112A442

// isSTUNRequest reports whether b is a STUN message of the request class
// (Binding, Allocate, Refresh, CreatePermission, ChannelBind ...): the
// messages that make the server work. ChannelData and indications, which
// carry media, are not requests.
func isSTUNRequest(b []byte) bool {
	if len(b) < 20 || b[0]&0xC0 != 0 || binary.BigEndian.Uint32(b[4:8]) != stunMagicCookie {
		return false
	}
	t := binary.BigEndian.Uint16(b[0:2])
	class := (t>>7)&0x2 | (t>>4)&0x1
	return class == 0
}

// limitedPacketConn is a UDP listener socket that drops requests beyond the
// per-IP rate before pion parses them, so a flood from one address costs
// little and does not crowd out other clients. It reads in batches
// (recvmmsg) where the platform has them: under load, one system call and
// one wake-up bring several packets.
type limitedPacketConn struct {
	net.PacketConn
	srv   *Server
	batch *batchReader // nil: one packet per read
}

func newLimitedPacketConn(pc net.PacketConn, s *Server) *limitedPacketConn {
	return &limitedPacketConn{PacketConn: pc, srv: s, batch: newBatchReader(pc)}
}

// ReadFrom is called by pion's one read loop per listener socket.
func (c *limitedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		var n int
		var addr net.Addr
		var err error
		if c.batch != nil {
			n, addr, err = c.batch.readFrom(p)
		} else {
			n, addr, err = c.PacketConn.ReadFrom(p)
		}
		if err != nil {
			return n, addr, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok && c.srv.overRate(p[:n], ua.AddrPort()) {
			c.srv.rateLimited(ua)
			continue
		}
		return n, addr, nil
	}
}

// overRate reports whether p is a request (see isSTUNRequest) from an
// address that has used up its request rate: the listener drops it.
func (s *Server) overRate(p []byte, from netip.AddrPort) bool {
	return isSTUNRequest(p) && !s.reqLimit.allow(from.Addr().Unmap(), time.Now())
}

// batchSize is how many datagrams one batched read may return.
const batchSize = 32

// batchReader serves ReadFrom calls from recvmmsg batches. It is used by
// one goroutine only.
type batchReader struct {
	read    func([]ipv4.Message, int) (int, error)
	msgs    []ipv4.Message
	next, n int
}

func newBatchReader(pc net.PacketConn) *batchReader {
	uc, ok := pc.(*net.UDPConn)
	if !ok || (runtime.GOOS != "linux" && runtime.GOOS != "android") {
		return nil
	}
	b := &batchReader{msgs: make([]ipv4.Message, batchSize)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	if la, ok := uc.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		b.read = ipv6.NewPacketConn(uc).ReadBatch
	} else {
		b.read = ipv4.NewPacketConn(uc).ReadBatch
	}
	return b
}

func (b *batchReader) readFrom(p []byte) (int, net.Addr, error) {
	if b.next >= b.n {
		n, err := b.read(b.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		b.next, b.n = 0, n
	}
	m := &b.msgs[b.next]
	b.next++
	return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
}

// connLimits counts open TCP/TLS connections per client IP.
type connLimits struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int
}

func (l *connLimits) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.n[ip] >= l.max {
		return false
	}
	l.n[ip]++
	return true
}

func (l *connLimits) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

// limitedListener accepts TCP connections within the per-IP connection cap
// and request rate, and gives each an idle timeout.
type limitedListener struct {
	net.Listener
	srv *Server
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ta, _ := c.RemoteAddr().(*net.TCPAddr)
		if ta == nil {
			_ = c.Close()
			continue
		}
		ip := ta.AddrPort().Addr().Unmap()
		if !l.srv.reqLimit.allow(ip, time.Now()) {
			l.srv.rateLimited(ta)
			_ = c.Close()
			continue
		}
		if !l.srv.conns.acquire(ip) {
			l.srv.refuse("tcp_conn_limit", "too many TCP connections from one address", "client", ta.String())
			_ = c.Close()
			continue
		}
		ic := &idleConn{Conn: c, idle: l.srv.cfg.TCPIdleTimeout}
		ic.release = func() {
			l.srv.conns.release(ip)
			l.srv.dropConn(ic)
		}
		if !l.srv.addConn(ic) {
			_ = ic.Close() // the server is closing
			continue
		}
		return ic, nil
	}
}

// idleConn closes a connection that has been silent for idle, and releases
// its place in the per-IP count once.
type idleConn struct {
	net.Conn
	idle    time.Duration
	once    sync.Once
	release func()
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
