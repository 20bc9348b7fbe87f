package e2e

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/internal/testkit/echo"
	"github.com/gatehouse/gatehouse/turn"
)

// turnSecret is the relay secret of the e2e test servers.
const turnSecret = "e2e-turn-shared-secret-0123456789"

// withRelay runs the built-in relay on 127.0.0.1 with free ports, relayed
// ports in a range of its own, and loopback (where the media server is)
// allow-listed explicitly.
func withRelay(extra func(*app.Config)) func(*app.Config) {
	return func(c *app.Config) {
		c.TURNEnabled = true
		c.TURNSecret = turnSecret
		c.TURN.ListenIPs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		c.TURN.Port = 0
		c.TURN.TLSPort = 0
		c.TURN.RelayPortMin, c.TURN.RelayPortMax = 25000, 29999
		c.TURN.AllowPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		if extra != nil {
			extra(c)
		}
	}
}

// TestWelcomeCarriesRelayCredentialsAndRefreshesThem checks that an
// admitted participant gets the relay's URLs (with the ports really bound)
// and a credential of their own in welcome.iceServers, a fresh one in an
// iceServers message before it expires, and that the relay honours it only
// while the participant is in the call.
func TestWelcomeCarriesRelayCredentialsAndRefreshesThem(t *testing.T) {
	srv := testkit.StartWith(t, withRelay(nil))
	relay := srv.App.TURN()
	if relay == nil {
		t.Fatal("relay not running")
	}
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	p := b.Participants[1]
	c := dial(t, srv, testkit.TokenFromURL(t, p.JoinURL))

	w := c.Welcome()
	if len(w.ICEServers) != 1 {
		t.Fatalf("welcome iceServers = %+v, want one relay entry", w.ICEServers)
	}
	ice := w.ICEServers[0]
	if strings.Join(ice.URLs, " ") != strings.Join(relay.URLs(), " ") {
		t.Fatalf("urls %v, want the relay's %v", ice.URLs, relay.URLs())
	}
	udpAddrs, _, _ := relay.Addrs()
	if !strings.Contains(ice.URLs[0], udpAddrs[0].String()) {
		t.Errorf("UDP URL %q does not carry the bound address %s", ice.URLs[0], udpAddrs[0])
	}
	user, exp, err := turn.Parse(ice.Username)
	if err != nil || user != p.ID {
		t.Fatalf("username %q: user %q, err %v; want participant %s", ice.Username, user, err, p.ID)
	}
	if d := exp.Sub(srv.Clock.Now()); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("credential expires in %v, want 10 minutes", d)
	}
	if ice.Credential != turn.Password([]byte(turnSecret), ice.Username) {
		t.Fatal("credential is not HMAC-SHA1 of the username under the shared secret")
	}

	// The relay accepts it now.
	alloc := allocate(t, udpAddrs[0].String(), ice.Username, ice.Credential.(string))
	if alloc == nil {
		t.Fatal("relay refused the credential of an admitted participant")
	}
	if n := relay.AllocationCount(); n < 1 {
		t.Fatalf("%d allocations", n)
	}

	// 8 minutes in (80% of the lifetime), fresh servers arrive.
	srv.Clock.Advance(8*time.Minute + time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.Next(ctx, "iceServers")
	if err != nil {
		t.Fatalf("no iceServers refresh: %v", err)
	}
	if len(m.ICEServers) != 1 || m.ICEServers[0].Username == ice.Username {
		t.Fatalf("refresh %+v does not carry a new credential", m.ICEServers)
	}
	if _, exp2, _ := turn.Parse(m.ICEServers[0].Username); !exp2.After(exp) {
		t.Errorf("refreshed credential expires %v, not after %v", exp2, exp)
	}

	// Leaving withdraws it: the open allocation closes and the same
	// credential, replayed, is refused.
	if err := c.Leave(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for relay.AllocationCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d allocations still open after the participant left", relay.AllocationCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := allocate(t, udpAddrs[0].String(), m.ICEServers[0].Username, m.ICEServers[0].Credential.(string)); a != nil {
		t.Fatal("credential of a participant who left still allocates")
	}
	if got := metricValue(t, srv, `gatehouse_turn_refusals_total{reason="credential_revoked"}`); got < 1 {
		t.Errorf("credential_revoked refusals = %v", got)
	}
}

// TestNoRelayCredentialsWithoutTURN: with TURN off (the default) the
// welcome carries no ICE servers at all.
func TestNoRelayCredentialsWithoutTURN(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	c := dial(t, srv, testkit.TokenFromURL(t, b.Participants[0].JoinURL))
	if s := c.Welcome().ICEServers; len(s) != 0 {
		t.Fatalf("iceServers %+v without a relay", s)
	}
}

// allocate makes one UDP allocation on the relay at addr and returns it,
// or nil when refused. It is closed when the test ends.
func allocate(t *testing.T, addr, username, password string) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	relayed, err := echo.Allocate(t, pc, addr, username, password, "")
	if err != nil {
		return nil
	}
	return relayed
}
