package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestExternalCoturnAcceptsIssuedCredentials runs coturn (turnserver) on
// 127.0.0.1 with use-auth-secret and the same static secret, points
// Gatehouse at it with --turn-urls and --turn-secret (no built-in relay),
// and checks that the credential a participant gets in its welcome
// allocates on coturn, and that a tampered one does not.
func TestExternalCoturnAcceptsIssuedCredentials(t *testing.T) {
	exe, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("turnserver is not installed; scripts/test-deps.sh installs it (Debian package coturn)")
		}
		t.Skip("turnserver is not installed (Debian package coturn)")
	}
	port := freeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port="+strconv.Itoa(port), "--min-port=31000", "--max-port=31999",
		"--use-auth-secret", "--static-auth-secret="+turnSecret, "--realm=gatehouse",
		"--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay", "--log-file=stdout", "--simple-log")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	url := "turn:127.0.0.1:" + strconv.Itoa(port) + "?transport=udp"
	srv := testkit.StartWith(t, func(c *app.Config) {
		c.TURNSecret = turnSecret
		c.TURNURLs = []string{url}
	})
	if srv.App.TURN() != nil {
		t.Fatal("built-in relay running although only an external one is configured")
	}
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	// The test clock stands a day ahead; coturn only requires the expiry
	// to be in the future by its own clock, which it is.
	srv.Clock.Set(start.Add(time.Second))
	c := dial(t, srv, testkit.TokenFromURL(t, b.Participants[0].JoinURL))
	ice := c.Welcome().ICEServers
	if len(ice) != 1 || strings.Join(ice[0].URLs, ",") != url {
		t.Fatalf("welcome iceServers %+v, want coturn's URL", ice)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var relayed net.PacketConn
	for deadline := time.Now().Add(5 * time.Second); relayed == nil && time.Now().Before(deadline); {
		relayed = allocate(t, addr, ice[0].Username, ice[0].Credential.(string))
		if relayed == nil {
			time.Sleep(100 * time.Millisecond) // coturn may still be starting
		}
	}
	if relayed == nil {
		t.Fatal("coturn refused the credential Gatehouse issued")
	}
	if a := allocate(t, addr, ice[0].Username, "x"+ice[0].Credential.(string)); a != nil {
		t.Fatal("coturn accepted a tampered credential")
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
