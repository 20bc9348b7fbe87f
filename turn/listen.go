package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"
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
// little and does not crowd out other clients.
type limitedPacketConn struct {
	net.PacketConn
	srv *Server
}

func (c *limitedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if isSTUNRequest(p[:n]) {
			if ua, ok := addr.(*net.UDPAddr); ok && !c.srv.reqLimit.allow(ua.AddrPort().Addr().Unmap(), time.Now()) {
				c.srv.rateLimited(ua)
				continue
			}
		}
		return n, addr, nil
	}
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
		return &idleConn{Conn: c, idle: l.srv.cfg.TCPIdleTimeout, release: func() { l.srv.conns.release(ip) }}, nil
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
