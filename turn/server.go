package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
)

// ProbeUserPrefix starts the user id of connection-test credentials. Such
// credentials need no admission but may reach only Config.ProbePeers.
const ProbeUserPrefix = "probe-"

// ErrClosed is returned by Start on a closed or already started server.
var ErrClosed = errors.New("turn: server closed or already started")

// Authorizer says whether a user (a participant id) may use its
// credentials now. Signalling answers it: only participants admitted to a
// call may relay, so a credential kept or captured after its participant
// left is refused (it is a replay).
type Authorizer interface {
	Admitted(user string) bool
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMetrics sets the collectors (default: a private registry).
func WithMetrics(m *metrics.TURN) Option { return func(s *Server) { s.m = m } }

// WithClock sets the clock credentials are checked against (default: the
// system clock). It must be the issuer's clock.
func WithClock(c clock.Clock) Option { return func(s *Server) { s.clock = c } }

// WithAuthorizer makes the relay refuse credentials of users a no longer
// admits.
func WithAuthorizer(a Authorizer) Option { return func(s *Server) { s.auth = a } }

// Server is the TURN relay (RFC 8656) on pion/turn: UDP and TCP on one
// port, TLS on another, over IPv4 and IPv6, with ephemeral credentials, a
// peer-address policy, quotas and metrics. It knows nothing of calls; the
// Authorizer tells it who is admitted.
type Server struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics.TURN
	clock clock.Clock
	auth  Authorizer
	creds *Credentials

	policy, probePolicy PeerPolicy
	quotas              *quotas
	reqLimit            *ipLimiter
	conns               *connLimits
	logLimit            *logLimiter
	dropBandwidth       prometheus.Counter
	dropSelf            prometheus.Counter
	limitedCount        prometheus.Counter
	dropProbePort       prometheus.Counter
	dropBacklog         prometheus.Counter
	dropSend            prometheus.Counter
	loop                *udpLoop // relays UDP clients' media; nil where the platform has none

	mu         sync.Mutex
	started    bool
	closed     bool
	pion       *pionturn.Server
	udpAddrs   []net.Addr // bound listener addresses, for URLs and tests
	tcpAddrs   []net.Addr
	tlsAddrs   []net.Addr
	self       map[netip.Addr]bool // the relay's own addresses
	port       int                 // the UDP/TCP port really bound
	tlsPort    int                 // the TLS port really bound
	host       string              // host of the advertised URLs
	relays     map[string]map[*relayConn]struct{}
	relayPorts map[uint16]int // relayed ports in use
	tcpConns   map[*idleConn]struct{}
	users      map[string]string // client transport address -> user, for logs and probe checks
	stop       chan struct{}
	wg         sync.WaitGroup
}

// New checks cfg and returns a server ready to Start.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		log:        slog.Default(),
		clock:      clock.Real{},
		relays:     make(map[string]map[*relayConn]struct{}),
		relayPorts: make(map[uint16]int),
		tcpConns:   make(map[*idleConn]struct{}),
		users:      make(map[string]string),
		stop:       make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.m == nil {
		s.m = metrics.NewTURN(prometheus.NewRegistry())
	}
	creds, err := NewCredentials(cfg.Secret, cfg.CredentialLifetime, s.clock)
	if err != nil {
		return nil, err
	}
	s.creds = creds
	s.policy = PeerPolicy{Allow: cfg.AllowPeers}
	s.probePolicy = PeerPolicy{Allow: cfg.ProbePeers}
	s.quotas = newQuotas(cfg.MaxAllocationsPerUser, cfg.MaxAllocationsPerIP)
	s.reqLimit = newIPLimiter(cfg.RequestRate, cfg.RequestBurst, 100_000)
	s.conns = &connLimits{max: cfg.MaxTCPConnsPerIP, n: make(map[netip.Addr]int)}
	s.logLimit = newLogLimiter(s.log, 20, 10*time.Second)
	s.dropBandwidth = s.m.Dropped.WithLabelValues("bandwidth")
	s.dropSelf = s.m.Dropped.WithLabelValues("peer_self")
	s.limitedCount = s.m.Refusals.WithLabelValues("rate_limited")
	s.dropProbePort = s.m.Dropped.WithLabelValues("probe_port")
	s.dropBacklog = s.m.Dropped.WithLabelValues("backlog")
	s.dropSend = s.m.Dropped.WithLabelValues("send_failed")
	return s, nil
}

// Credentials returns the server's credential issuer.
func (s *Server) Credentials() *Credentials { return s.creds }

// Start binds the listeners and serves until ctx ends or Close is called.
// It returns once the listeners are bound, so URLs are final when it
// returns nil.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.started = true
	s.mu.Unlock()

	ln, err := s.listen(ctx)
	if err != nil {
		return err
	}
	gens := map[string]*relayGen{}
	for _, t := range []string{"udp", "tcp", "tls"} {
		gens[t] = newRelayGen(s, t, ln.v4, ln.v6)
	}
	pcfg := pionturn.ServerConfig{
		Realm:              s.cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.quota,
		LoggerFactory:      pionLogs{log: s.log, limit: s.logLimit},
		AllocationLifetime: 10 * time.Minute,
		EventHandler: pionturn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
		},
	}
	loop, udp, err := startUDPLoop(s, ln.udp)
	if err != nil {
		ln.close()
		return err
	}
	if loop != nil {
		s.loop = loop
		pcfg.EventHandler = loop.eventHandler(pcfg.EventHandler)
	} else {
		udp = make([]net.PacketConn, len(ln.udp))
		for i, pc := range ln.udp {
			udp[i] = newLimitedPacketConn(pc, s)
		}
	}
	for _, pc := range udp {
		pcfg.PacketConnConfigs = append(pcfg.PacketConnConfigs, pionturn.PacketConnConfig{
			PacketConn: pc, RelayAddressGenerator: gens["udp"], PermissionHandler: s.permit,
		})
	}
	for _, l := range ln.tcp {
		pcfg.ListenerConfigs = append(pcfg.ListenerConfigs, pionturn.ListenerConfig{
			Listener: &limitedListener{Listener: l, srv: s}, RelayAddressGenerator: gens["tcp"], PermissionHandler: s.permit,
		})
	}
	for _, l := range ln.tls {
		pcfg.ListenerConfigs = append(pcfg.ListenerConfigs, pionturn.ListenerConfig{
			Listener: tls.NewListener(&limitedListener{Listener: l, srv: s}, ln.tlsConfig), RelayAddressGenerator: gens["tls"], PermissionHandler: s.permit,
		})
	}
	srv, err := pionturn.NewServer(pcfg)
	if err != nil {
		ln.close()
		if loop != nil {
			loop.close()
		}
		return fmt.Errorf("turn: %w", err)
	}

	s.mu.Lock()
	s.pion = srv
	s.port, s.tlsPort, s.host, s.self = ln.port, ln.tlsPort, ln.host, ln.self
	s.udpAddrs, s.tcpAddrs, s.tlsAddrs = ln.udpAddrs(), lnAddrs(ln.tcp), lnAddrs(ln.tls)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		_ = srv.Close()
		return ErrClosed
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.housekeep(ctx)
	}()
	s.log.Info("turn relay listening", "udp", joinAddrs(s.udpAddrs), "tcp", joinAddrs(s.tcpAddrs),
		"tls", joinAddrs(s.tlsAddrs), "relay_v4", ln.v4.String(), "relay_v6", ln.v6.String(),
		"relay_ports", fmt.Sprintf("%d-%d", s.cfg.RelayPortMin, s.cfg.RelayPortMax), "urls", strings.Join(s.URLs(), " "))
	return nil
}

// housekeep expires quota reservations and idle rate-limit entries, and
// closes the server when ctx ends.
func (s *Server) housekeep(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.close()
			return
		case <-s.stop:
			return
		case now := <-t.C:
			s.quotas.expire(now)
			s.reqLimit.sweep(now)
		}
	}
}

// Close stops the relay: listeners and every allocation close.
func (s *Server) Close() error {
	err := s.close()
	s.wg.Wait()
	return err
}

func (s *Server) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	srv := s.pion
	var rcs []*relayConn
	for _, set := range s.relays {
		for rc := range set {
			rcs = append(rcs, rc)
		}
	}
	conns := make([]*idleConn, 0, len(s.tcpConns))
	for c := range s.tcpConns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	// pion closes its listeners but not the connections they accepted.
	for _, c := range conns {
		_ = c.Close()
	}
	for _, rc := range rcs {
		_ = rc.Close()
	}
	if s.loop != nil {
		s.loop.close()
	}
	s.log.Info("turn relay stopped")
	return err
}

// URLs are the relay's TURN URLs with the ports really bound: UDP, TCP,
// then TLS when configured. Empty before Start.
func (s *Server) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port == 0 {
		return nil
	}
	hp := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	urls := []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	if s.tlsPort != 0 {
		urls = append(urls, "turns:"+net.JoinHostPort(s.host, strconv.Itoa(s.tlsPort))+"?transport=tcp")
	}
	return urls
}

// Addrs returns the bound UDP, TCP and TLS listener addresses.
func (s *Server) Addrs() (udp, tcp, tlsAddrs []net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.udpAddrs, s.tcpAddrs, s.tlsAddrs
}

// AllocationCount is the number of open allocations.
func (s *Server) AllocationCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, set := range s.relays {
		n += len(set)
	}
	return n
}

// Revoke closes every allocation of user now. Signalling calls it when a
// participant leaves, so their relay stops with their call.
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	set := s.relays[user]
	rcs := make([]*relayConn, 0, len(set))
	for rc := range set {
		rcs = append(rcs, rc)
	}
	s.mu.Unlock()
	if len(rcs) > 0 {
		s.log.Info("relay allocations revoked", "user", user, "allocations", len(rcs))
	}
	for _, rc := range rcs {
		_ = rc.Close()
	}
}

func (s *Server) addRelay(rc *relayConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.relays[rc.user]
	if set == nil {
		set = make(map[*relayConn]struct{})
		s.relays[rc.user] = set
	}
	set[rc] = struct{}{}
	s.relayPorts[rc.port]++
}

func (s *Server) removeRelay(rc *relayConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.relays[rc.user]; set != nil {
		if _, ok := set[rc]; ok {
			if s.relayPorts[rc.port]--; s.relayPorts[rc.port] <= 0 {
				delete(s.relayPorts, rc.port)
			}
		}
		delete(set, rc)
		if len(set) == 0 {
			delete(s.relays, rc.user)
		}
	}
}

// addConn tracks an accepted TCP or TLS connection, so Close can end it;
// it reports false once the server is closing.
func (s *Server) addConn(c *idleConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.tcpConns[c] = struct{}{}
	return true
}

func (s *Server) dropConn(c *idleConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tcpConns, c)
}

// isSelf reports whether ap is one of the relay's own listening or relayed
// transport addresses: relaying there would loop through the relay.
func (s *Server) isSelf(ap netip.AddrPort) bool {
	ip := ap.Addr().Unmap()
	s.mu.Lock()
	own := s.self[ip]
	s.mu.Unlock()
	if !own {
		return false
	}
	// Only the ports the relay really uses: the media server on the same
	// host has ports of its own, maybe inside the relay range.
	p := ap.Port()
	s.mu.Lock()
	inUse := s.relayPorts[p] > 0
	s.mu.Unlock()
	return inUse || int(p) == s.port || int(p) == s.tlsPort
}

// probePortOK reports whether a connection test may send to port.
func (s *Server) probePortOK(port int) bool {
	if s.cfg.ProbePortMin == 0 && s.cfg.ProbePortMax == 0 {
		return true
	}
	return port >= int(s.cfg.ProbePortMin) && port <= int(s.cfg.ProbePortMax)
}

// refuse counts a refusal and logs an example of it.
func (s *Server) refuse(reason, msg string, args ...any) {
	s.m.Refusals.WithLabelValues(reason).Inc()
	if s.logLimit.allow(reason) {
		s.log.Info("turn: "+msg, append([]any{"reason", reason}, args...)...)
	}
}

// rateLimited counts a request dropped by the per-address rate limit. It
// runs once per flood packet, so it formats nothing unless it logs.
func (s *Server) rateLimited(client net.Addr) {
	s.limitedCount.Inc()
	if s.logLimit.allow("rate_limited") {
		s.log.Info("turn: request over the per-address rate dropped", "reason", "rate_limited", "client", client.String())
	}
}

// userOf returns the user of the allocation made from client address a.
func (s *Server) userOf(a net.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[clientKey(a)]
}

// clientKey names a client transport address, transport included.
func clientKey(a net.Addr) string { return a.Network() + "/" + a.String() }

// authenticate is pion's AuthHandler: it checks the ephemeral credential
// of every authenticated request (Allocate, Refresh, CreatePermission,
// ChannelBind). A new allocation needs an unexpired credential; requests on
// an allocation made while the credential was valid may go on for up to
// MaxAllocationAge after expiry, as browsers keep the credential an
// allocation was made with (new credentials reach new allocations through
// the signalling refresh).
func (s *Server) authenticate(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	now := s.clock.Now()
	grace := time.Duration(0)
	if ra.Method != stun.MethodAllocate {
		grace = s.cfg.MaxAllocationAge
	}
	user, err := s.creds.check(ra.Username, now, grace)
	if err == nil && ra.Realm != s.cfg.Realm {
		err = fmt.Errorf("%w: realm %q", ErrMalformedCredential, ra.Realm)
	}
	if err == nil && strings.HasPrefix(user, ProbeUserPrefix) {
		if _, exp, _ := Parse(ra.Username); exp.After(now.Add(2 * ProbeLifetime)) {
			err = ErrCredentialTooLong
		}
	} else if err == nil && s.auth != nil && !s.auth.Admitted(user) {
		err = ErrRevoked
	}
	if err != nil {
		reason := "credential_malformed"
		switch {
		case errors.Is(err, ErrExpiredCredential):
			reason = "credential_expired"
		case errors.Is(err, ErrCredentialTooLong):
			reason = "credential_too_long"
		case errors.Is(err, ErrRevoked):
			reason = "credential_revoked"
		}
		s.refuse(reason, "credential refused", "user", user, "client", addrString(ra.SrcAddr), "method", ra.Method.String(), "err", err)
		return "", nil, false
	}
	key := pionturn.GenerateAuthKey(ra.Username, ra.Realm, s.creds.Password(ra.Username))
	return user, key, true
}

// onAuth counts credentials whose password (message integrity) was wrong:
// tampered or made with another secret.
func (s *Server) onAuth(src, _ net.Addr, _, username, _ string, method string, verdict bool) {
	if !verdict {
		s.refuse("credential_bad_password", "message integrity check failed", "username", username, "client", addrString(src), "method", method)
	}
}

// quota is pion's QuotaHandler for Allocate requests.
func (s *Server) quota(user, _ string, src net.Addr) bool {
	ap, ok := addrPort(src)
	if !ok {
		return false
	}
	if reason := s.quotas.reserve(user, ap, time.Now()); reason != "" {
		nu, nip := s.quotas.counts(user, ap.Addr())
		s.refuse(reason, "allocation quota reached", "user", user, "client", src.String(), "user_allocations", nu, "ip_allocations", nip)
		return false
	}
	return true
}

func (s *Server) onAllocationCreated(src, _ net.Addr, _, user, _ string, relay net.Addr, _ int) {
	if ap, ok := addrPort(src); ok {
		s.quotas.created(user, ap)
	}
	s.mu.Lock()
	s.users[clientKey(src)] = user
	s.mu.Unlock()
	s.log.Info("turn allocation", "user", user, "client", src.String(), "relay", addrString(relay))
}

func (s *Server) onAllocationDeleted(src, _ net.Addr, _, user, _ string) {
	if ap, ok := addrPort(src); ok {
		s.quotas.deleted(user, ap)
	}
	s.mu.Lock()
	if k := clientKey(src); s.users[k] == user {
		delete(s.users, k)
	}
	s.mu.Unlock()
	s.log.Debug("turn allocation closed", "user", user, "client", src.String())
}

// permit is pion's PermissionHandler, asked for every CreatePermission,
// ChannelBind and Connect: may client relay to peer?
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if !ok {
		s.refuse("peer_"+ReasonUnspecified, "peer refused", "client", client.String())
		return false
	}
	ip = ip.Unmap()
	user := s.userOf(client)
	var reason string
	if strings.HasPrefix(user, ProbeUserPrefix) {
		reason = ReasonNotMedia
		for _, p := range s.probePolicy.Allow {
			if p.Contains(ip) {
				reason = ""
			}
		}
	} else {
		reason = s.policy.Check(ip)
	}
	if reason != "" {
		s.refuse("peer_"+reason, "peer refused", "user", user, "client", client.String(), "peer", ip.String())
		return false
	}
	return true
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		ap := v.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	case *net.TCPAddr:
		ap := v.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func joinAddrs(as []net.Addr) string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return strings.Join(ss, " ")
}
