package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/testkit/echo"
)

const testSecret = "turn-test-secret-0123456789"

var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

// testConfig is a relay on 127.0.0.1 with free ports, relays in a range
// outside Linux's ephemeral ports, and loopback peers allowed explicitly.
func testConfig() Config {
	c := DefaultConfig()
	c.ListenIPs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	c.Port = 0
	c.TLSPort = 0
	c.RelayPortMin, c.RelayPortMax = 20000, 24999
	c.Secret = []byte(testSecret)
	c.AllowPeers = []netip.Prefix{loopback4}
	return c
}

func testLogger() *slog.Logger {
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startServer runs a relay until the test ends.
func startServer(t *testing.T, cfg Config, opts ...Option) (*Server, *metrics.TURN) {
	t.Helper()
	m := metrics.NewTURN(prometheus.NewRegistry())
	s, err := New(cfg, append([]Option{WithLogger(testLogger()), WithMetrics(m)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, m
}

// dialClient connects a pion TURN client to s over transport (udp, tcp or
// tls) from local address laddr ("" for 127.0.0.1:0).
func dialClient(t *testing.T, s *Server, transport, laddr, username, password string) *pionturn.Client {
	t.Helper()
	udp, tcp, tl := s.Addrs()
	if laddr == "" {
		laddr = "127.0.0.1:0"
	}
	var conn net.PacketConn
	var server string
	switch transport {
	case "udp":
		server = udp[0].String()
		pc, err := net.ListenPacket("udp4", laddr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case "tcp", "tls":
		server = tcp[0].String()
		if transport == "tls" {
			server = tl[0].String()
		}
		la, err := net.ResolveTCPAddr("tcp4", laddr)
		if err != nil {
			t.Fatal(err)
		}
		d := net.Dialer{LocalAddr: la, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp4", server)
		if err != nil {
			t.Fatal(err)
		}
		if transport == "tls" {
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test relay's self-made certificate
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			c = tc
		}
		conn = pionturn.NewSTUNConn(c)
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		Realm:          s.cfg.Realm,
		RTO:            200 * time.Millisecond,
		LoggerFactory:  pionLogs{log: testLogger(), limit: newLogLimiter(testLogger(), 100, time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); _ = conn.Close() })
	return cl
}

// echoPeer is a UDP peer on 127.0.0.1 that sends back what it receives.
func echoPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	return echo.Peer(t, net.IPv4(127, 0, 0, 1))
}

// roundTrips sends n numbered packets through relay to peer and counts the
// echoes that come back within the deadline.
func roundTrips(t *testing.T, relay net.PacketConn, peer net.Addr, n, size int) int {
	t.Helper()
	return echo.RoundTrips(t, relay, peer, n, size)
}

// isRefused reports whether err is a TURN error response (the request was
// answered with a refusal rather than lost).
func isRefused(err error) bool {
	return err != nil && !errors.Is(err, context.DeadlineExceeded)
}

// value reads the one metric a collector holds (a counter or gauge child).
func value(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	close(ch)
	var out float64
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			return -1
		}
		switch {
		case d.Counter != nil:
			out = d.Counter.GetValue()
		case d.Gauge != nil:
			out = d.Gauge.GetValue()
		}
	}
	return out
}
