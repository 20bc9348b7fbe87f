package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

// udpReadBuffer is the socket buffer size asked for UDP listeners.
const udpReadBuffer = 4 << 20

// listeners are the sockets Start binds, and what follows from them.
type listeners struct {
	udp       []net.PacketConn
	tcp, tls  []net.Listener
	tlsConfig *tls.Config
	port      int
	tlsPort   int
	v4, v6    *relayFamily
	self      map[netip.Addr]bool
	host      string
}

func (l *listeners) close() {
	for _, c := range l.udp {
		_ = c.Close()
	}
	for _, c := range append(append([]net.Listener(nil), l.tcp...), l.tls...) {
		_ = c.Close()
	}
}

func (l *listeners) udpAddrs() []net.Addr {
	out := make([]net.Addr, len(l.udp))
	for i, c := range l.udp {
		out[i] = c.LocalAddr()
	}
	return out
}

func lnAddrs(ls []net.Listener) []net.Addr {
	out := make([]net.Addr, len(ls))
	for i, c := range ls {
		out[i] = c.Addr()
	}
	return out
}

// listen binds UDP and TCP on the configured port and TLS on the TLS port,
// on every listen address, and works out the relay addresses.
func (s *Server) listen(ctx context.Context) (*listeners, error) {
	cfg := s.cfg
	ips := cfg.ListenIPs
	optional6 := false
	if len(ips) == 0 {
		ips = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
		optional6 = true // a host without IPv6 still runs the relay on IPv4
	}
	ln := &listeners{}
	var tlsCfg *tls.Config
	if cfg.hasTLS() {
		var err error
		if tlsCfg, err = s.tlsConfig(); err != nil {
			return nil, err
		}
		ln.tlsConfig = tlsCfg
	}
	var lc net.ListenConfig
	// With port 0 the kernel picks the UDP port, and TCP must get the same
	// number: retry if it is taken for TCP.
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		ln.close()
		*ln = listeners{tlsConfig: tlsCfg}
		err = s.bindAll(ctx, &lc, ln, ips, optional6)
		if err == nil || cfg.Port != 0 && (!cfg.hasTLS() || cfg.TLSPort != 0) {
			break
		}
	}
	if err != nil {
		ln.close()
		return nil, err
	}
	if len(ln.udp) == 0 {
		ln.close()
		return nil, errors.New("turn: no address to listen on")
	}
	if err := s.relayFamilies(ln); err != nil {
		ln.close()
		return nil, err
	}
	return ln, nil
}

// bindAll binds every listener once; ports 0 take the first one picked.
func (s *Server) bindAll(ctx context.Context, lc *net.ListenConfig, ln *listeners, ips []netip.Addr, optional6 bool) error {
	port, tlsPort := s.cfg.Port, s.cfg.TLSPort
	for _, ip := range ips {
		fam := "4"
		if ip.Is6() && !ip.Is4In6() {
			fam = "6"
		}
		host := ip.String()
		udp, err := lc.ListenPacket(ctx, "udp"+fam, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if fam == "6" && optional6 {
				s.log.Info("turn: no IPv6 listener", "err", err)
				continue
			}
			return fmt.Errorf("turn: listen udp %s: %w", host, err)
		}
		// A deep receive buffer rides out bursts (and floods being cut by
		// the rate limit) without the kernel dropping other clients'
		// packets; the kernel caps it at net.core.rmem_max.
		if uc, ok := udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(udpReadBuffer)
			_ = uc.SetWriteBuffer(udpReadBuffer)
		}
		ln.udp = append(ln.udp, udp)
		if port == 0 {
			port = udp.LocalAddr().(*net.UDPAddr).Port
		}
		tcp, err := lc.Listen(ctx, "tcp"+fam, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("turn: listen tcp %s: %w", host, err)
		}
		ln.tcp = append(ln.tcp, tcp)
		if ln.tlsConfig != nil {
			tl, err := lc.Listen(ctx, "tcp"+fam, net.JoinHostPort(host, strconv.Itoa(tlsPort)))
			if err != nil {
				return fmt.Errorf("turn: listen tls %s: %w", host, err)
			}
			ln.tls = append(ln.tls, tl)
			if tlsPort == 0 {
				tlsPort = tl.Addr().(*net.TCPAddr).Port
			}
		}
	}
	ln.port = port
	if ln.tlsConfig != nil {
		ln.tlsPort = tlsPort
	}
	return nil
}

// relayFamilies chooses, per address family with a listener, the address
// relayed sockets bind to and the one advertised to clients.
func (s *Server) relayFamilies(ln *listeners) error {
	ln.self = make(map[netip.Addr]bool)
	var ext4, ext6 netip.Addr
	for _, ip := range s.cfg.ExternalIPs {
		if ip = ip.Unmap(); ip.Is4() {
			ext4 = ip
		} else {
			ext6 = ip
		}
	}
	var bound []netip.Addr
	for _, c := range ln.udp {
		bound = append(bound, c.LocalAddr().(*net.UDPAddr).AddrPort().Addr())
	}
	for _, b := range bound {
		b = b.Unmap()
		is4 := b.Is4()
		ext := ext6
		if is4 {
			ext = ext4
		}
		adv := ext
		if !adv.IsValid() && !b.IsUnspecified() {
			adv = b
		}
		if !adv.IsValid() {
			adv = hostAddress(is4)
		}
		if !adv.IsValid() {
			s.log.Info("turn: no usable address for relays in this family; set an external address", "ipv4", is4)
			continue
		}
		fam := &relayFamily{bind: b, advertise: adv}
		if is4 && ln.v4 == nil {
			ln.v4 = fam
		} else if !is4 && ln.v6 == nil {
			ln.v6 = fam
		}
		ln.self[adv] = true
		if b.IsUnspecified() {
			for _, a := range interfaceAddrs() {
				ln.self[a] = true
			}
		} else {
			ln.self[b] = true
		}
	}
	if ln.v4 == nil && ln.v6 == nil {
		return errors.New("turn: no relay address: set an external address")
	}
	switch {
	case s.cfg.Host != "":
		ln.host = s.cfg.Host
	case ln.v4 != nil:
		ln.host = ln.v4.advertise.String()
	default:
		ln.host = ln.v6.advertise.String()
	}
	return nil
}

// interfaceAddrs lists the host's addresses.
func interfaceAddrs() []netip.Addr {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// hostAddress picks the host's first global unicast address of a family,
// then any non-link-local one (loopback last), for a relay listening on
// every address with no external address set.
func hostAddress(v4 bool) netip.Addr {
	var fallback netip.Addr
	for _, a := range interfaceAddrs() {
		if a.Is4() != v4 || a.IsLinkLocalUnicast() || a.IsMulticast() {
			continue
		}
		if a.IsGlobalUnicast() {
			return a
		}
		if !fallback.IsValid() {
			fallback = a
		}
	}
	return fallback
}

// tlsConfig is the TLS listener's configuration: cfg.TLS, or the
// certificate files, read again when they change.
func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.cfg.TLS != nil {
		return s.cfg.TLS, nil
	}
	r := &certReloader{certFile: s.cfg.TLSCertFile, keyFile: s.cfg.TLSKeyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

// certReloader serves a certificate from files, reloading it at most once a
// minute when the files' modification time changes (certificate renewal).
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time
	checked time.Time
}

func (r *certReloader) load() error {
	st, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("turn: tls certificate: %w", err)
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("turn: tls certificate: %w", err)
	}
	r.cert, r.mod = &c, st.ModTime()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) > time.Minute {
		r.checked = now
		if st, err := os.Stat(r.certFile); err == nil && !st.ModTime().Equal(r.mod) {
			old := r.cert
			if err := r.load(); err != nil {
				r.cert = old // keep serving the old one
			}
		}
	}
	return r.cert, nil
}
