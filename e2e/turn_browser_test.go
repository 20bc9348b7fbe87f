package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// testCA makes a certificate authority and a server certificate it signs
// for 127.0.0.1, as a real deployment's TURN-over-TLS certificate would be.
// It returns the server's TLS configuration and the base64 SHA-256 hash of
// the server key's SPKI, which Chromium is told to trust
// (--ignore-certificate-errors-spki-list): the browser's own trust store is
// never touched.
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Gatehouse test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}},
	}
	return cfg, base64.StdEncoding.EncodeToString(sum[:])
}

// mediaPath is window.gatehouse.path() of the join page.
type mediaPath struct {
	Kind          string `json:"kind"`
	Type          string `json:"type"`
	Protocol      string `json:"protocol"`
	RelayProtocol string `json:"relayProtocol"`
}

func (p mediaPath) String() string {
	if p.Kind == "relay" {
		return "relay/" + p.RelayProtocol
	}
	return p.Kind + "/" + p.Type + "/" + p.Protocol
}

// relayServer runs the app with the built-in relay, TLS included.
func relayServer(t *testing.T, extra func(*app.Config)) (*testkit.Server, string) {
	t.Helper()
	tlsCfg, spki := testCA(t)
	srv := testkit.StartWith(t, withRelay(func(c *app.Config) {
		c.TURN.TLS = tlsCfg
		if extra != nil {
			extra(c)
		}
	}))
	if urls := srv.App.TURN().URLs(); len(urls) != 3 {
		t.Fatalf("relay URLs %v, want UDP, TCP and TLS", urls)
	}
	return srv, spki
}

// connPaths is window.gatehouse.paths(): each peer connection's path.
type connPaths struct {
	Pub *mediaPath `json:"pub"`
	Sub *mediaPath `json:"sub"`
}

// settleTime is how long a browser's ICE is given to settle on its best
// working path. On a loaded CI machine the better relayed pair (TCP) may
// answer well after the first (TLS) was nominated: 10 s was seen to be
// too short there.
const settleTime = 25 * time.Second

// holdVisit opens both join links of a new visit in two browsers made by
// newTab, runs setup on each page before pressing Join, waits until each
// decodes minFrames frames of the other, and returns each page's connection
// paths, once the page shows one and settled (when not nil) accepts them,
// or settleTime has passed.
func holdVisit(t *testing.T, srv *testkit.Server, newTab func() context.Context, setup string, settled func(connPaths) bool) []connPaths {
	t.Helper()
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	tabs := make([]context.Context, len(b.Participants))
	for i, p := range b.Participants {
		tabs[i] = newTab()
		ctx, cancel := context.WithTimeout(tabs[i], 30*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate(p.JoinURL), chromedp.WaitEnabled(chromedp.ID("join")))
		if err == nil && setup != "" {
			_, err = chromedp.Run(ctx, chromedp.Evaluate[any](setup))
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("join")))
		}
		cancel()
		if err != nil {
			t.Fatalf("%s: open join page: %v", p.Name, err)
		}
	}
	waitFrames(t, b, tabs)
	paths := make([]connPaths, len(tabs))
	for i, tab := range tabs {
		deadline := time.Now().Add(settleTime)
		for {
			ctx, cancel := context.WithTimeout(tab, 5*time.Second)
			p, err := chromedp.Run(ctx, chromedp.Evaluate[connPaths](`window.gatehouse.paths()`, chromedp.EvalAwaitPromise))
			var shown string
			if err == nil {
				shown, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('call-path').textContent`))
			}
			cancel()
			if err != nil {
				t.Fatalf("%s: read path: %v", b.Participants[i].Name, err)
			}
			up := p.Pub != nil && p.Sub != nil && !strings.HasPrefix(shown, "Connecting")
			if up && (settled == nil || settled(p) || time.Now().After(deadline)) {
				paths[i] = p
				t.Logf("%s: publisher path %s, subscriber path %s, shown as %q", b.Participants[i].Name, p.Pub, p.Sub, shown)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no media path shown (%q)", b.Participants[i].Name, shown)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return paths
}

// waitFrames waits until every tab has decoded minFrames video frames.
func waitFrames(t *testing.T, b booking.Booking, tabs []context.Context) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	stats := make([]pageStats, len(tabs))
	for {
		done := true
		for i, tab := range tabs {
			ctx, cancel := context.WithTimeout(tab, 5*time.Second)
			var err error
			stats[i], err = chromedp.Run(ctx, chromedp.Evaluate[pageStats](`window.gatehouse.stats()`, chromedp.EvalAwaitPromise))
			cancel()
			if err != nil {
				t.Fatalf("%s: read stats: %v", b.Participants[i].Name, err)
			}
			if stats[i].FramesDecoded < minFrames {
				done = false
			}
		}
		if done {
			for i, s := range stats {
				t.Logf("%s decoded %d frames from %d packets", b.Participants[i].Name, s.FramesDecoded, s.PacketsReceived)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames not decoded in time: %+v", stats)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestBrowsersHoldAVisitThroughTheRelay forces both browsers onto the
// relay (iceTransportPolicy 'relay'), over UDP, then TCP, then TLS with a
// certificate from a test CA, and requires each to decode frames of the
// other, the page to show the relay path, and the relay's metrics to count
// the traffic on that transport.
func TestBrowsersHoldAVisitThroughTheRelay(t *testing.T) {
	exe := chromium(t)
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			srv, spki := relayServer(t, nil)
			newTab := func() context.Context {
				return browserWith(t, exe, map[string]any{"ignore-certificate-errors-spki-list": spki})
			}
			paths := holdVisit(t, srv, newTab, fmt.Sprintf(`window.gatehouse.forceRelay(%q)`, transport), nil)
			for i, p := range paths {
				for _, mp := range []*mediaPath{p.Pub, p.Sub} {
					if mp.Kind != "relay" || mp.RelayProtocol != transport {
						t.Errorf("browser %d media path %s, want relay/%s", i, mp, transport)
					}
				}
			}
			sample := fmt.Sprintf(`gatehouse_turn_relayed_packets_total{direction="to_peer",transport=%q}`, transport)
			if n := metricValue(t, srv, sample); n < 100 {
				t.Errorf("%s = %v, want the call's packets", sample, n)
			}
		})
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// noUDP makes Chromium send no UDP at all, as on a network that blocks
// it: WebRTC may only use TCP (here, TURN over TCP or TLS).
const noUDP = "disable_non_proxied_udp"

// TestCallFallsBackInOrder lets ICE choose, with every path offered, on
// networks that allow less and less: with everything open the call goes
// direct over UDP; with UDP blocked (so neither the media server nor the
// relay's UDP can be reached) it goes through the relay over TCP, which
// ranks above TLS; with UDP blocked and the relay's TCP port unreachable
// too, over TLS. No page hook forces anything here.
//
// The order is checked on the publisher connection, where the browser
// controls ICE and keeps the highest-priority pair that works. On the
// subscriber connection the media server (Pion) controls ICE and nominates
// the first relayed pair that works, which may be TLS when TCP also would:
// there only "through the relay" is required.
func TestCallFallsBackInOrder(t *testing.T) {
	exe := chromium(t)
	cases := []struct {
		name    string
		policy  string
		deadTCP bool
		want    string
	}{
		{"open network: direct UDP", "", false, "direct/host/udp"},
		{"UDP blocked: relay over TCP", noUDP, false, "relay/tcp"},
		{"UDP and TCP 3478 blocked: relay over TLS", noUDP, true, "relay/tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var extra func(*app.Config)
			if tc.deadTCP {
				tlsPort, dead := freePort(t), freePort(t)
				extra = func(c *app.Config) {
					c.TURN.TLSPort = tlsPort
					// Advertised as an operator would behind port forwarding;
					// nothing listens on the TCP one.
					c.TURNURLs = []string{
						fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", dead),
						fmt.Sprintf("turns:127.0.0.1:%d?transport=tcp", tlsPort),
					}
				}
			}
			srv, spki := relayServer(t, extra)
			flags := map[string]any{"ignore-certificate-errors-spki-list": spki}
			if tc.policy != "" {
				flags["webrtc-ip-handling-policy"] = tc.policy
			}
			// The browser may nominate the first relayed pair that works
			// (TLS) and move to a better one (TCP) once that one answers:
			// what counts is where it settles.
			paths := holdVisit(t, srv, func() context.Context { return browserWith(t, exe, flags) }, "",
				func(p connPaths) bool { return p.Pub.String() == tc.want })
			for i, p := range paths {
				if p.Pub.String() != tc.want {
					t.Errorf("browser %d publisher path %s, want %s", i, p.Pub, tc.want)
				}
				if wantKind := strings.SplitN(tc.want, "/", 2)[0]; p.Sub.Kind != wantKind {
					t.Errorf("browser %d subscriber path %s, want %s", i, p.Sub, wantKind)
				}
			}
		})
	}
}
