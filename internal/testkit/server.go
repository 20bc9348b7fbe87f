// Package testkit starts a whole Gatehouse process inside a test, on
// loopback, with a clock the test can move, and drives its real HTTP API.
package testkit

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/clock"
)

// Secret is the join-token secret of test servers, so tests can forge and
// tamper with tokens.
const Secret = "testkit-join-token-secret-0123456789abcdef"

// Server is a running test instance of the whole system.
type Server struct {
	App   *app.App
	URL   string // http://127.0.0.1:PORT
	WSURL string // ws://127.0.0.1:PORT/ws
	Clock *clock.Offset
	stop  func() error
}

// Start runs every role on a fresh store in t.TempDir with the demo seeded,
// media restricted to loopback and the clock set to now. It stops when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with configure applied to the configuration last
// (nil: none), for tests of optional parts such as the TURN relay.
func StartWith(t testing.TB, configure func(*app.Config)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	clk := clock.NewOffset(time.Now())
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Secret = Secret
	cfg.ICELoopbackOnly = true
	cfg.Clock = clk
	cfg.PublicURL = "http://" + ln.Addr().String()
	if configure != nil {
		configure(&cfg)
	}
	log := Log(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, ln)
	if err != nil {
		cancel()
		t.Fatalf("start app: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	s := &Server{
		App:   a,
		URL:   cfg.PublicURL,
		WSURL: "ws" + strings.TrimPrefix(cfg.PublicURL, "http") + "/ws",
		Clock: clk,
	}
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			done <- err // a second Stop sees the same result
			return err
		case <-time.After(30 * time.Second):
			return errors.New("app did not shut down in 30 s")
		}
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("app shutdown: %v", err)
		}
	})
	return s
}

// Stop shuts the server down gracefully, as SIGTERM would, and returns what
// the shutdown reported. It may be called more than once.
func (s *Server) Stop() error { return s.stop() }

// Signer returns a join-token signer with the server's secret and clock.
func (s *Server) Signer(t testing.TB) *auth.JoinSigner {
	t.Helper()
	sg, err := auth.NewJoinSigner([]byte(Secret), s.Clock)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// TokenFromURL returns the token in a join link's fragment.
func TokenFromURL(t testing.TB, joinURL string) string {
	t.Helper()
	_, tok, ok := strings.Cut(joinURL, "#token=")
	if !ok || tok == "" {
		t.Fatalf("join URL %q has no token", joinURL)
	}
	return tok
}
