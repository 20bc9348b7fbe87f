package turn

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// These tests drive the relay with coturn's turnutils_uclient, an
// independent TURN client, against turnutils_peer as the peer, all on
// 127.0.0.1. uclient exits 0 even when every packet is lost, so the tests
// read its "Total lost packets" line.

// tool finds a coturn utility: a failure in CI, a skip elsewhere.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; scripts/test-deps.sh installs it (Debian package coturn)", name)
	}
	t.Skipf("%s is not installed (Debian package coturn); run scripts/test-deps.sh", name)
	return ""
}

// startPeer runs turnutils_peer on 127.0.0.1 on a free port outside the
// relay range and waits until it echoes.
func startPeer(t *testing.T) int {
	t.Helper()
	exe := tool(t, "turnutils_peer")
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port // ephemeral: above the test relay range
	_ = probe.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return port
		}
		time.Sleep(50 * time.Millisecond) // refused until the peer has bound
	}
	t.Fatal("turnutils_peer does not echo")
	return 0
}

var lostRE = regexp.MustCompile(`Total lost packets (\d+) \(([\d.]+)%\)`)

// uclient runs turnutils_uclient with args (bounded in time) and returns
// its output and the lost-packet count (-1 when it printed no total).
func uclient(t *testing.T, args ...string) (string, int) {
	t.Helper()
	exe := tool(t, "turnutils_uclient")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("turnutils_uclient %v timed out:\n%s", args, tail(out))
	}
	_ = err // uclient's exit code says nothing about loss
	m := lostRE.FindSubmatch(out)
	if m == nil {
		return string(out), -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return string(out), n
}

func tail(b []byte) string {
	if lines := bytes.Split(b, []byte("\n")); len(lines) > 25 {
		b = bytes.Join(lines[len(lines)-25:], []byte("\n"))
	}
	return string(b)
}

func relayPorts(s *Server) (udp, tcp, tlsPort string) {
	u, c, l := s.Addrs()
	udp = strconv.Itoa(u[0].(*net.UDPAddr).Port)
	tcp = strconv.Itoa(c[0].(*net.TCPAddr).Port)
	if len(l) > 0 {
		tlsPort = strconv.Itoa(l[0].(*net.TCPAddr).Port)
	}
	return
}

func TestUclientRelaysWithoutLoss(t *testing.T) {
	tool(t, "turnutils_uclient")
	peer := startPeer(t)
	cfg := testConfig()
	cfg.TLS = selfSignedTLS(t)
	s, m := startServer(t, cfg)
	udp, tcp, tlsPort := relayPorts(s)
	const msgs = 200
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"udp", []string{"-p", udp}},
		{"tcp", []string{"-t", "-p", tcp}},
		{"tls", []string{"-t", "-S", "-p", tlsPort}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, _ := s.Credentials().Issue("uclient-" + tc.name)
			args := append([]string{"-e", "127.0.0.1", "-r", strconv.Itoa(peer), "-u", user, "-w", pass,
				"-n", strconv.Itoa(msgs), "-l", "120", "-m", "2"}, tc.args...)
			out, lost := uclient(t, append(args, "127.0.0.1")...)
			if lost != 0 {
				t.Fatalf("lost %d packets (want 0):\n%s", lost, tail([]byte(out)))
			}
			if got := value(m.RelayedPackets.WithLabelValues(tc.name, "to_peer")); got < 2*msgs {
				t.Errorf("relayed_packets_total{%s,to_peer} = %v, want >= %d", tc.name, got, 2*msgs)
			}
		})
	}
}

func TestUclientBadCredentialsRefused(t *testing.T) {
	tool(t, "turnutils_uclient")
	peer := startPeer(t)
	s, m := startServer(t, testConfig())
	udp, _, _ := relayPorts(s)
	creds := s.Credentials()
	expiredUser, expiredPass, _ := creds.IssueFor("uclient", -time.Minute)
	goodUser, goodPass, _ := creds.Issue("uclient")
	for _, tc := range []struct{ name, user, pass, reason string }{
		{"expired", expiredUser, expiredPass, "credential_expired"},
		{"tampered", goodUser, tamper(goodPass), "credential_bad_password"},
		{"tampered expiry", bumpExpiry(goodUser), goodPass, "credential_bad_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := value(m.Refusals.WithLabelValues(tc.reason))
			out, lost := uclient(t, "-e", "127.0.0.1", "-r", strconv.Itoa(peer), "-u", tc.user, "-w", tc.pass,
				"-n", "10", "-p", udp, "127.0.0.1")
			if lost == 0 || bytes.Contains([]byte(out), []byte("Received relay addr")) {
				t.Fatalf("allocation granted with a bad credential:\n%s", tail([]byte(out)))
			}
			if value(m.Refusals.WithLabelValues(tc.reason)) <= before {
				t.Errorf("refusals{%s} did not grow:\n%s", tc.reason, tail([]byte(out)))
			}
		})
	}
	if n := value(m.RelayedPackets.WithLabelValues("udp", "to_peer")); n != 0 {
		t.Errorf("%v packets relayed with bad credentials", n)
	}
}

// TestUclientRefusedPeer runs the relay with its default policy (no
// allow-list), so the loopback peer is in a refused range: the channel
// bind is refused and nothing reaches the peer.
func TestUclientRefusedPeer(t *testing.T) {
	tool(t, "turnutils_uclient")
	peer := startPeer(t)
	cfg := testConfig()
	cfg.AllowPeers = nil
	s, m := startServer(t, cfg)
	udp, _, _ := relayPorts(s)
	user, pass, _ := s.Credentials().Issue("uclient")
	out, lost := uclient(t, "-e", "127.0.0.1", "-r", strconv.Itoa(peer), "-u", user, "-w", pass, "-n", "10", "-p", udp, "127.0.0.1")
	if lost == 0 {
		t.Fatalf("packets reached a refused peer:\n%s", tail([]byte(out)))
	}
	if value(m.Refusals.WithLabelValues("peer_loopback")) == 0 {
		t.Fatalf("no peer_loopback refusal counted:\n%s", tail([]byte(out)))
	}
	if n := value(m.RelayedPackets.WithLabelValues("udp", "to_peer")); n != 0 {
		t.Errorf("%v packets relayed to a refused peer", n)
	}
}
