package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/turn"
)

// ErrRelayNeedsSecret refuses a relay node without the shared secret: the
// signalling nodes issue credentials under it, so it must be given, not
// made up.
var ErrRelayNeedsSecret = errors.New("the turn role needs --turn-secret, the secret the signalling nodes issue TURN credentials with")

// RelayNode is the process of `gatehouse --roles turn`: the TURN relay
// alone, with /healthz and /metrics on the HTTP address. It holds no call
// state: like coturn with use-auth-secret, it checks each credential
// against the shared secret only, so a credential stays usable until it
// expires even after its participant has left the call (the built-in relay
// of a process running signalling refuses it at once).
type RelayNode struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	relay   *turn.Server
	cancel  context.CancelFunc
	ln      net.Listener
}

// NewRelayNode starts the relay of cfg.TURN under cfg.TURNSecret and
// listens for HTTP on ln (nil: cfg.Addr). Run serves until its context
// ends.
func NewRelayNode(ctx context.Context, cfg Config, log *slog.Logger, ln net.Listener) (*RelayNode, error) {
	if cfg.TURNSecret == "" {
		return nil, ErrRelayNeedsSecret
	}
	secret, err := loadOrMakeKey(cfg.TURNSecret, "", turnKeyFile, turn.MinSecretLength)
	if err != nil {
		return nil, fmt.Errorf("--turn-secret: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	m := metrics.New()
	tcfg := cfg.TURN
	tcfg.Secret = secret
	srv, err := turn.New(tcfg, turn.WithLogger(log.With("role", "turn")), turn.WithMetrics(metrics.NewTURN(m.Registry)),
		turn.WithClock(cfg.Clock))
	if err != nil {
		return nil, err
	}
	if ln == nil {
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
		}
	}
	rctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(rctx); err != nil {
		cancel()
		_ = ln.Close()
		return nil, err
	}
	return &RelayNode{log: log, metrics: m, relay: srv, cancel: cancel, ln: ln}, nil
}

// URLs are the relay's TURN URLs, with the ports really bound.
func (n *RelayNode) URLs() []string { return n.relay.URLs() }

// Addr is the HTTP address of /healthz and /metrics.
func (n *RelayNode) Addr() net.Addr { return n.ln.Addr() }

// Handler serves /healthz and /metrics.
func (n *RelayNode) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "role": "turn"})
	})
	mux.Handle("GET /metrics", n.metrics.Handler())
	return mux
}

// Run serves until ctx ends, then stops the HTTP server and the relay
// (every allocation closes).
func (n *RelayNode) Run(ctx context.Context) error {
	srv := newHTTPServer(n.Handler(), n.log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(n.ln) }()
	n.log.Info("gatehouse turn relay running", "urls", n.URLs(), "http", n.ln.Addr().String())
	var errs []error
	select {
	case <-ctx.Done():
	case err := <-served:
		served <- err
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("http: %w", err))
	}
	n.cancel()
	if err := n.relay.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("turn: %w", err))
	}
	n.log.Info("stopped")
	return errors.Join(errs...)
}
