package e2e

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestNoGoroutineOutlivesAStoppedServer holds a three-party call, then
// closes the clients and stops the server, and requires the goroutine count
// to come back to where it was: every goroutine the SFU, signalling and the
// clients start has an owner that ends it.
func TestNoGoroutineOutlivesAStoppedServer(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := testkit.Start(t)
		b, clients := joinLive(t, srv, 2)
		waitMedia(t, b, clients, nil)
		for _, c := range clients {
			c.Close()
		}
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Pion closes some transports asynchronously; allow them a moment.
		now := runtime.NumGoroutine()
		if now <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after stopping:\n%s", before, now, interesting(string(buf[:n])))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// interesting drops the test framework's own goroutines from a dump.
func interesting(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "gatehouse") {
			continue
		}
		keep = append(keep, g)
	}
	return strings.Join(keep, "\n\n")
}
