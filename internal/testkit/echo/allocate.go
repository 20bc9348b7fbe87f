package echo

import (
	"fmt"
	"net"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// Allocate makes one UDP allocation on the TURN relay at server (host:port)
// from conn with a long-term credential, and returns the relayed
// connection, or the relay's refusal. The client and the allocation are
// closed when the test ends; conn stays the caller's.
func Allocate(t testing.TB, conn net.PacketConn, server, user, pass, realm string) (net.PacketConn, error) {
	t.Helper()
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: server, TURNServerAddr: server, Conn: conn,
		Username: user, Password: pass, Realm: realm, RTO: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		cl.Close()
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("allocate on %s: %w", server, err)
	}
	t.Cleanup(func() { _ = relay.Close(); cl.Close() })
	return relay, nil
}
