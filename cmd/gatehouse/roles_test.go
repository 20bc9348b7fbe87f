package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/testkit/echo"
	"github.com/gatehouse/gatehouse/turn"
)

func TestRolesFlag(t *testing.T) {
	for _, tc := range []struct {
		args            []string
		env             string
		relayOnly, turn bool
		err             error
	}{
		{args: nil},
		{args: []string{"--roles", "all"}},
		{args: []string{"--roles", "all", "--turn"}, turn: true},
		{args: []string{"--roles", "booking,media"}},
		{args: []string{"--roles", "media, booking ,turn"}, turn: true},
		{args: []string{"--roles", "turn"}, relayOnly: true},
		{env: "turn", relayOnly: true},
		{args: []string{"--roles", "booking"}, err: ErrRolesApart},
		{args: []string{"--roles", "media,turn"}, err: ErrRolesApart},
		{args: []string{"--roles", "web"}, err: ErrUnknownRole},
		{args: []string{"--roles", ""}},
		{args: []string{"--roles", "booking,media", "--turn"}, err: errors.New("any")},
	} {
		getenv := func(k string) string {
			if k == "GATEHOUSE_ROLES" {
				return tc.env
			}
			return ""
		}
		cfg, err := parseConfig(tc.args, getenv, io.Discard)
		switch {
		case tc.err != nil && err == nil:
			t.Errorf("%v: accepted", tc.args)
		case tc.err == ErrRolesApart || tc.err == ErrUnknownRole:
			if !errors.Is(err, tc.err) {
				t.Errorf("%v: error %v, want %v", tc.args, err, tc.err)
			}
		case tc.err == nil && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.err == nil && (cfg.RelayOnly != tc.relayOnly || cfg.TURNEnabled != tc.turn):
			t.Errorf("%v (env %q): relay only %v, built-in relay %v; want %v, %v", tc.args, tc.env, cfg.RelayOnly, cfg.TURNEnabled, tc.relayOnly, tc.turn)
		}
	}
}

// TestBinaryRunsTheRelayAlone runs `gatehouse --roles turn` as an operator
// would on a relay node: it prints the relay's URLs, relays a client's
// packets to a peer and back under a credential issued with the shared
// secret (as a signalling node issues them), counts them in /metrics, and
// stops cleanly on SIGTERM. Without the secret it refuses to start.
func TestBinaryRunsTheRelayAlone(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "--roles", "turn", "--addr", "127.0.0.1:0").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "--turn-secret") {
		t.Fatalf("started without --turn-secret (err %v):\n%s", err, out)
	}

	const secret = "relay-node-shared-secret-0123456789"
	cmd, lines, stderr := startBinary(ctx, t, bin, "--roles", "turn", "--addr", "127.0.0.1:0", "--turn-secret", secret,
		"--turn-listen-ips", "127.0.0.1", "--turn-port", "0", "--turn-allow-peers", "127.0.0.0/8",
		"--turn-relay-port-min", "25000", "--turn-relay-port-max", "29999")
	udpRE := regexp.MustCompile(`turn:(\S+)\?transport=udp`)
	httpRE := regexp.MustCompile(`http://(\S+)/healthz`)
	var server, health string
	for _, line := range lines {
		if m := udpRE.FindStringSubmatch(line); m != nil {
			server = m[1]
		}
		if m := httpRE.FindStringSubmatch(line); m != nil {
			health = m[1]
		}
	}
	if server == "" || health == "" {
		t.Fatalf("relay URL or health address not printed; stderr:\n%s", stderr.String())
	}

	creds, err := turn.NewCredentials([]byte(secret), 10*time.Minute, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := creds.Issue("node-test")
	if got := relayEchoes(t, server, user, pass, 20); got != 20 {
		t.Fatalf("%d of 20 echoes through the relay node", got)
	}
	resp, err := http.Get("http://" + health + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`gatehouse_turn_relayed_packets_total\{direction="to_peer",transport="udp"\} (\d\d+)`).Match(body) {
		t.Errorf("/metrics does not count the relayed packets:\n%s", grepLines(body, "gatehouse_turn_relayed"))
	}
	stopBinary(t, cmd, stderr)
}

// relayEchoes allocates on the relay at server over UDP and counts the
// echoes of n packets sent through it to an echo peer on 127.0.0.1.
func relayEchoes(t *testing.T, server, user, pass string, n int) int {
	t.Helper()
	peer := echo.Peer(t, net.IPv4(127, 0, 0, 1))
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	relay, err := echo.Allocate(t, conn, server, user, pass, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	return echo.RoundTrips(t, relay, peer.LocalAddr(), n, 100)
}

func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
