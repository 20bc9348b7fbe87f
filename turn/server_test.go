package turn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"

	"github.com/gatehouse/gatehouse/internal/testkit/echo"
)

func TestRelayEchoesOverEachTransport(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = selfSignedTLS(t)
	s, m := startServer(t, cfg)
	peer := echoPeer(t)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			user, pass, _ := s.Credentials().Issue("participant-" + tr)
			cl := dialClient(t, s, tr, "", user, pass)
			relay, err := cl.Allocate()
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			defer relay.Close()
			if got := roundTrips(t, relay, peer.LocalAddr(), 50, 200); got != 50 {
				t.Fatalf("%d of 50 echoes came back", got)
			}
			if p := value(m.RelayedPackets.WithLabelValues(tr, "to_peer")); p < 50 {
				t.Errorf("relayed_packets_total{%s,to_peer} = %v, want >= 50", tr, p)
			}
			if a := value(m.Allocations.WithLabelValues(tr)); a != 1 {
				t.Errorf("allocations{%s} = %v, want 1", tr, a)
			}
		})
	}
}

func TestURLsCarryTheBoundPorts(t *testing.T) {
	cfg := testConfig()
	cfg.TLS = selfSignedTLS(t)
	cfg.Host = "turn.example.org"
	s, _ := startServer(t, cfg)
	udp, _, tl := s.Addrs()
	port := udp[0].(*net.UDPAddr).Port
	tlsPort := tl[0].(*net.TCPAddr).Port
	want := []string{
		"turn:turn.example.org:" + itoa(port) + "?transport=udp",
		"turn:turn.example.org:" + itoa(port) + "?transport=tcp",
		"turns:turn.example.org:" + itoa(tlsPort) + "?transport=tcp",
	}
	if got := s.URLs(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("URLs = %v, want %v", got, want)
	}
}

func TestRelayAddressIsTheExternalAddress(t *testing.T) {
	cfg := testConfig()
	cfg.ExternalIPs = []netip.Addr{netip.MustParseAddr("203.0.113.7")}
	s, _ := startServer(t, cfg)
	user, pass, _ := s.Credentials().Issue("p1")
	relay, err := dialClient(t, s, "udp", "", user, pass).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if ip := relay.LocalAddr().(*net.UDPAddr).IP.String(); ip != "203.0.113.7" {
		t.Fatalf("relayed address %s, want the external 203.0.113.7", relay.LocalAddr())
	}
	if p := relay.LocalAddr().(*net.UDPAddr).Port; p < 20000 || p > 24999 {
		t.Fatalf("relayed port %d outside the range", p)
	}
}

func TestLoopbackPeerRefusedUnlessAllowed(t *testing.T) {
	cfg := testConfig()
	cfg.AllowPeers = nil
	s, m := startServer(t, cfg)
	peer := echoPeer(t)
	user, pass, _ := s.Credentials().Issue("p1")
	cl := dialClient(t, s, "udp", "", user, pass)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if err := cl.CreatePermission(peer.LocalAddr()); err == nil {
		t.Fatal("permission to a loopback peer granted")
	}
	for _, p := range []string{"10.1.2.3", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1"} {
		if err := cl.CreatePermission(&net.UDPAddr{IP: net.ParseIP(p), Port: 9}); err == nil {
			t.Errorf("permission to %s granted", p)
		}
	}
	for reason, want := range map[string]float64{"peer_loopback": 1, "peer_private": 2, "peer_link_local": 1, "peer_cgnat": 1, "peer_multicast": 1} {
		if got := value(m.Refusals.WithLabelValues(reason)); got != want {
			t.Errorf("refusals{%s} = %v, want %v", reason, got, want)
		}
	}
	// A public address is fine (the permission is only recorded).
	if err := cl.CreatePermission(&net.UDPAddr{IP: net.ParseIP("8.8.8.8"), Port: 9}); err != nil {
		t.Errorf("permission to a public address refused: %v", err)
	}
}

func TestCredentialsRefused(t *testing.T) {
	clk := clock.NewOffset(time.Now())
	cfg := testConfig()
	admitted := &fakeAuthorizer{users: map[string]bool{"present": true}}
	s, m := startServer(t, cfg, WithClock(clk), WithAuthorizer(admitted))
	creds := s.Credentials()

	expiredUser, expiredPass, _ := creds.IssueFor("present", -time.Minute)
	goodUser, goodPass, _ := creds.Issue("present")
	tooLongUser, tooLongPass, _ := creds.IssueFor("present", 24*time.Hour)
	goneUser, gonePass, _ := creds.Issue("left-the-call")
	other, _ := NewCredentials([]byte("another-secret-0123456789"), 10*time.Minute, clk)
	otherUser, otherPass, _ := other.Issue("present")
	cases := []struct {
		name, user, pass, reason string
	}{
		{"expired", expiredUser, expiredPass, "credential_expired"},
		{"tampered password", goodUser, tamper(goodPass), "credential_bad_password"},
		{"tampered expiry", bumpExpiry(goodUser), goodPass, "credential_bad_password"},
		{"another secret", otherUser, otherPass, "credential_bad_password"},
		{"too long", tooLongUser, tooLongPass, "credential_too_long"},
		{"not admitted (replayed)", goneUser, gonePass, "credential_revoked"},
		{"malformed", "present", goodPass, "credential_malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := value(m.Refusals.WithLabelValues(c.reason))
			cl := dialClient(t, s, "udp", "", c.user, c.pass)
			if relay, err := cl.Allocate(); err == nil {
				relay.Close()
				t.Fatal("allocation granted")
			}
			if got := value(m.Refusals.WithLabelValues(c.reason)); got <= before {
				t.Errorf("refusals{%s} did not grow", c.reason)
			}
		})
	}
	// The good credential works, and stops working once the participant
	// is no longer admitted.
	cl := dialClient(t, s, "udp", "", goodUser, goodPass)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("valid credential refused: %v", err)
	}
	relay.Close()
	admitted.set("present", false)
	if relay, err := dialClient(t, s, "udp", "", goodUser, goodPass).Allocate(); err == nil {
		relay.Close()
		t.Fatal("credential of a participant who left still allocates")
	}
	// Expiry is judged by the relay's clock.
	admitted.set("present", true)
	clk.Advance(11 * time.Minute)
	if relay, err := dialClient(t, s, "udp", "", goodUser, goodPass).Allocate(); err == nil {
		relay.Close()
		t.Fatal("credential allocates after its expiry")
	}
}

func TestQuotasPerUserAndPerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationsPerUser = 2
	cfg.MaxAllocationsPerIP = 3
	s, m := startServer(t, cfg)
	alloc := func(user, laddr string) error {
		name, pass, _ := s.Credentials().Issue(user)
		relay, err := dialClient(t, s, "udp", laddr, name, pass).Allocate()
		if err == nil {
			t.Cleanup(func() { relay.Close() })
		}
		return err
	}
	for i := 0; i < 2; i++ {
		if err := alloc("alice", ""); err != nil {
			t.Fatalf("allocation %d of alice: %v", i+1, err)
		}
	}
	if err := alloc("alice", ""); !isRefused(err) {
		t.Fatalf("third allocation of alice: %v, want a refusal", err)
	}
	if err := alloc("bob", ""); err != nil {
		t.Fatalf("bob from the same address: %v", err)
	}
	if err := alloc("carol", ""); !isRefused(err) {
		t.Fatalf("fourth allocation from 127.0.0.1: %v, want a refusal", err)
	}
	if err := alloc("carol", "127.0.0.2:0"); err != nil {
		t.Fatalf("carol from another address: %v", err)
	}
	if value(m.Refusals.WithLabelValues("quota_user")) != 1 || value(m.Refusals.WithLabelValues("quota_ip")) != 1 {
		t.Errorf("quota refusals not counted")
	}
}

func TestQuotaFreedWhenAllocationCloses(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationsPerUser = 1
	s, _ := startServer(t, cfg)
	name, pass, _ := s.Credentials().Issue("alice")
	cl := dialClient(t, s, "udp", "", name, pass)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	relay.Close() // sends a Refresh with lifetime 0
	waitFor(t, func() bool { return s.AllocationCount() == 0 })
	relay2, err := dialClient(t, s, "udp", "", name, pass).Allocate()
	if err != nil {
		t.Fatalf("allocation after the first closed: %v", err)
	}
	relay2.Close()
}

// TestFloodFromOneAddressDoesNotStarveOthers sends a bounded flood of
// Allocate requests from 127.0.0.2 while a client on 127.0.0.1 allocates
// and relays: the flood is cut by the per-address rate limit, the other
// client is served.
func TestFloodFromOneAddressDoesNotStarveOthers(t *testing.T) {
	cfg := testConfig()
	cfg.RequestRate, cfg.RequestBurst = 20, 40
	s, m := startServer(t, cfg)
	udp, _, _ := s.Addrs()
	flood, err := net.ListenPacket("udp4", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer flood.Close()
	var sent atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(3 * time.Second)
		for i := 0; i < 200_000 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			default:
			}
			msg, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
				stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}})
			if _, err := flood.WriteTo(msg.Raw, udp[0]); err == nil {
				sent.Add(1)
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	peer := echoPeer(t)
	name, pass, _ := s.Credentials().Issue("family")
	start := time.Now()
	relay, err := dialClient(t, s, "udp", "", name, pass).Allocate()
	if err != nil {
		t.Fatalf("allocation during the flood: %v", err)
	}
	defer relay.Close()
	if got := roundTrips(t, relay, peer.LocalAddr(), 20, 100); got != 20 {
		t.Fatalf("%d of 20 echoes during the flood", got)
	}
	t.Logf("allocated and relayed in %v while %d flood requests were sent", time.Since(start), sent.Load())
	close(stop)
	wg.Wait()
	if limited := value(m.Refusals.WithLabelValues("rate_limited")); limited < float64(sent.Load())/2 {
		t.Errorf("only %v of %d flood requests were rate-limited", limited, sent.Load())
	}
}

func TestBandwidthCapPerAllocation(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBitrate = 80_000 // 10 kB/s, burst 10 kB
	s, m := startServer(t, cfg)
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	name, pass, _ := s.Credentials().Issue("p1")
	relay, err := dialClient(t, s, "udp", "", name, pass).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	msg := make([]byte, 1000)
	for i := 0; i < 100; i++ { // 100 kB at once
		if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	received := 0
	buf := make([]byte, 2048)
	_ = peer.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, _, err := peer.ReadFrom(buf)
		if err != nil {
			break
		}
		received += n
	}
	if received > 15_000 || received == 0 {
		t.Fatalf("peer received %d bytes of 100000 sent at once, want about 10000", received)
	}
	if d := value(m.Dropped.WithLabelValues("bandwidth")); d < 80 {
		t.Errorf("dropped{bandwidth} = %v, want >= 80", d)
	}
}

func TestRevokeAndAgeCapCloseAllocations(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationAge = 1500 * time.Millisecond
	s, _ := startServer(t, cfg)
	name, pass, _ := s.Credentials().Issue("leaver")
	if _, err := dialClient(t, s, "udp", "", name, pass).Allocate(); err != nil {
		t.Fatal(err)
	}
	name2, pass2, _ := s.Credentials().Issue("stayer")
	if _, err := dialClient(t, s, "udp", "", name2, pass2).Allocate(); err != nil {
		t.Fatal(err)
	}
	if n := s.AllocationCount(); n != 2 {
		t.Fatalf("%d allocations, want 2", n)
	}
	s.Revoke("leaver")
	if n := s.AllocationCount(); n != 1 {
		t.Fatalf("%d allocations after revoking one user, want 1", n)
	}
	waitFor(t, func() bool { return s.AllocationCount() == 0 })
}

func TestRelayLoopsToItselfAreDropped(t *testing.T) {
	s, m := startServer(t, testConfig())
	udp, _, _ := s.Addrs()
	name, pass, _ := s.Credentials().Issue("p1")
	relay, err := dialClient(t, s, "udp", "", name, pass).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if _, err := relay.WriteTo([]byte("loop"), udp[0]); err != nil {
		t.Fatal(err)
	}
	name2, pass2, _ := s.Credentials().Issue("p2")
	other, err := dialClient(t, s, "udp", "", name2, pass2).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := relay.WriteTo([]byte("loop"), other.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return value(m.Dropped.WithLabelValues("peer_self")) >= 2 })
}

func TestTCPRelayingRefused(t *testing.T) {
	s, m := startServer(t, testConfig())
	name, pass, _ := s.Credentials().Issue("p1")
	cl := dialClient(t, s, "tcp", "", name, pass)
	if a, err := cl.AllocateTCP(); err == nil {
		_ = a.Close()
		t.Fatal("TCP allocation granted")
	}
	if value(m.Refusals.WithLabelValues("tcp_relay")) != 1 {
		t.Error("tcp_relay refusal not counted")
	}
}

func TestProbeCredentialsReachOnlyMediaNodes(t *testing.T) {
	cfg := testConfig()
	cfg.AllowPeers = []netip.Prefix{loopback4}
	cfg.ProbePeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	s, m := startServer(t, cfg, WithAuthorizer(&fakeAuthorizer{}))
	iss := NewIssuer(s.Credentials(), s.URLs, s.Revoke, nil)
	servers, exp := iss.ProbeServers("abc")
	if len(servers) != 1 || time.Until(exp) > 61*time.Second {
		t.Fatalf("probe servers %+v expiring %v", servers, exp)
	}
	cl := dialClient(t, s, "udp", "", servers[0].Username, servers[0].Credential.(string))
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("probe allocation: %v", err)
	}
	defer relay.Close()
	if err := cl.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err != nil {
		t.Errorf("probe to the media node refused: %v", err)
	}
	for _, ip := range []string{"127.0.0.2", "8.8.8.8"} {
		if err := cl.CreatePermission(&net.UDPAddr{IP: net.ParseIP(ip), Port: 9}); err == nil {
			t.Errorf("probe to %s granted", ip)
		}
	}
	if value(m.Refusals.WithLabelValues("peer_not_media")) != 2 {
		t.Error("not_media refusals not counted")
	}
}

func TestStartFailsOnAPortInUse(t *testing.T) {
	s1, _ := startServer(t, testConfig())
	udp, _, _ := s1.Addrs()
	cfg := testConfig()
	cfg.Port = udp[0].(*net.UDPAddr).Port
	s2, err := New(cfg, WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err == nil {
		_ = s2.Close()
		t.Fatal("second relay started on a port in use")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Secret = []byte("short") },
		func(c *Config) { c.RelayPortMin, c.RelayPortMax = 5000, 4000 },
		func(c *Config) { c.TLSCertFile = "cert.pem" },
		func(c *Config) {
			c.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
		},
		func(c *Config) { c.MaxBitrate = -1 },
		func(c *Config) { c.CredentialLifetime = time.Second },
	}
	for i, f := range bad {
		c := testConfig()
		f(&c)
		if _, err := New(c); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

func TestIsSTUNRequest(t *testing.T) {
	req, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest))
	ind, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication))
	resp, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassSuccessResponse))
	chData := make([]byte, 24)
	binary.BigEndian.PutUint16(chData, 0x4000)
	if !isSTUNRequest(req.Raw) || isSTUNRequest(ind.Raw) || isSTUNRequest(resp.Raw) || isSTUNRequest(chData) || isSTUNRequest([]byte{0, 1}) {
		t.Fatal("misclassified")
	}
}

type fakeAuthorizer struct {
	mu    sync.Mutex
	users map[string]bool
}

func (f *fakeAuthorizer) Admitted(u string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[u]
}

func (f *fakeAuthorizer) set(u string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u] = ok
}

func tamper(pass string) string {
	b := []byte(pass)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func bumpExpiry(user string) string {
	ts, rest, _ := strings.Cut(user, ":")
	n := []byte(ts)
	n[len(n)-1] = '0' + (n[len(n)-1]-'0'+1)%10
	return string(n) + ":" + rest
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// selfSignedTLS is a server TLS config with a fresh self-signed
// certificate for 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse turn test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestIPv6Relay(t *testing.T) {
	probe, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = probe.Close()
	cfg := testConfig()
	cfg.ListenIPs = []netip.Addr{netip.MustParseAddr("::1")}
	cfg.AllowPeers = []netip.Prefix{netip.MustParsePrefix("::1/128")}
	s, _ := startServer(t, cfg)
	if u := s.URLs(); !strings.HasPrefix(u[0], "turn:[::1]:") {
		t.Fatalf("URLs %v", u)
	}
	udp, _, _ := s.Addrs()
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	name, pass, _ := s.Credentials().Issue("p6")
	relay, err := echo.Allocate(t, pc, udp[0].String(), name, pass, s.cfg.Realm)
	if err != nil {
		t.Fatalf("IPv6 allocation: %v", err)
	}
	if ip := relay.LocalAddr().(*net.UDPAddr).IP; ip.To4() != nil || !ip.IsLoopback() {
		t.Fatalf("relayed address %v, want ::1", relay.LocalAddr())
	}
	peer := echo.Peer(t, net.IPv6loopback)
	if got := roundTrips(t, relay, peer.LocalAddr(), 20, 100); got != 20 {
		t.Fatalf("%d of 20 echoes over IPv6", got)
	}
}

// TestNoGoroutineOutlivesClose opens allocations on every transport, then
// closes the relay: every goroutine it and pion started must end.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := len(serverGoroutines())
	func() {
		cfg := testConfig()
		cfg.TLS = selfSignedTLS(t)
		m := metrics.NewTURN(prometheus.NewRegistry())
		s, err := New(cfg, WithLogger(testLogger()), WithMetrics(m))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		// Allocations stay open, clients connected, while the relay closes.
		for _, tr := range []string{"udp", "tcp", "tls"} {
			name, pass, _ := s.Credentials().Issue("leak-" + tr)
			cl := dialClient(t, s, tr, "", name, pass)
			relay, err := cl.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := relay.WriteTo([]byte("x"), peer.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	// The test's clients close at cleanup; only their goroutines may stay.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := serverGoroutines()
		if len(left) <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the relay outlive Close:\n%s", len(left)-before, strings.Join(left, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverGoroutines dumps the goroutines that are neither the test
// framework's nor a TURN client's.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if !strings.Contains(g, "turn/v5.(*Client)") && !strings.Contains(g, "turn/v5/internal/client") &&
			!strings.Contains(g, "testing.(*T)") && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return out
}
