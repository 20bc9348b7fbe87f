// Package app wires Gatehouse's roles into one process: the booking service
// and its API, signalling, the SFU and the web client, over one HTTP server.
// cmd/gatehouse and the end-to-end tests both build the system through it.
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/sfu"
	"github.com/gatehouse/gatehouse/signalling"
	"github.com/gatehouse/gatehouse/web"
)

// shutdownGrace bounds how long a graceful shutdown waits for calls and
// requests to finish.
const shutdownGrace = 10 * time.Second

// App is one running Gatehouse process.
type App struct {
	cfg      Config
	log      *slog.Logger
	Metrics  *metrics.Metrics
	store    booking.Store
	Bookings *booking.Service
	Signal   *signalling.Server
	media    *sfu.SFU
	demo     booking.Demo
	ln       net.Listener
	baseURL  string
	relay    *relay // nil without TURN
	connTest *web.ConnTest
}

// New opens the store, seeds the demo if asked, and builds every role. It
// listens on cfg.Addr (or ln, when given) but serves nothing until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger, ln net.Listener) (*App, error) {
	if cfg.RelayOnly {
		return nil, errors.New("app: a relay-only configuration runs as a RelayNode")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	// The data directory holds the SQLite store and the join-token key;
	// with PostgreSQL and a secret it is not needed.
	if cfg.DatabaseURL == "" || cfg.Secret == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	a := &App{cfg: cfg, log: log, Metrics: metrics.New(), ln: ln}
	ok := false
	defer func() {
		if !ok {
			a.closeAll()
		}
	}()

	var err error
	if a.baseURL, err = cfg.publicURL(ln.Addr().String()); err != nil {
		return nil, err
	}
	key, err := joinKey(cfg.Secret, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	signer, err := auth.NewJoinSigner(key, cfg.Clock)
	if err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg, log); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.Bookings = booking.NewService(a.store, signer, cfg.Clock, a.Metrics, log.With("role", "booking"),
		booking.Config{PublicURL: a.baseURL, RecordingsDir: cfg.recordingsDir()})
	if cfg.Demo {
		if a.demo, err = booking.Seed(ctx, a.Bookings); err != nil {
			return nil, fmt.Errorf("seed demo: %w", err)
		}
	}
	mediaCfg := cfg.mediaConfig()
	mediaCfg.Auditor = a.Bookings
	mediaCfg.RecordingEvents = recordingEvents{bookings: a.Bookings, clock: cfg.Clock, dir: mediaCfg.RecordingsDir,
		log: log.With("role", "recording")}
	if a.media, err = sfu.New(mediaCfg, log.With("role", "sfu"), a.Metrics); err != nil {
		return nil, err
	}
	var signal atomic.Pointer[signalling.Server]
	admitted := func(pid string) bool { s := signal.Load(); return s != nil && s.Admitted(pid) }
	if a.relay, err = newRelay(cfg, a.baseURL, a.Metrics, log.With("role", "turn"), admitted); err != nil {
		return nil, err
	}
	var sigCfg signalling.Config
	if a.relay != nil {
		sigCfg.ICEIssuer = a.relay.issuer
	}
	a.Signal = signalling.New(sigCfg, a.Bookings, signer, a.media, cfg.Clock,
		log.With("role", "signalling"), a.Metrics)
	signal.Store(a.Signal)
	if a.connTest, err = newConnTest(cfg, a.relay, log.With("role", "conntest")); err != nil {
		return nil, err
	}
	a.Bookings.SetCallEnder(a.Signal)
	a.Bookings.SetLiveCalls(a.Signal)
	ok = true
	return a, nil
}

// openStore opens the booking store: PostgreSQL when cfg.DatabaseURL is
// set, else the embedded SQLite file in cfg.DataDir.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (booking.Store, error) {
	if cfg.DatabaseURL != "" {
		s, err := booking.OpenPostgres(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		log.Info("booking store: PostgreSQL")
		return s, nil
	}
	path := cfg.SQLitePath()
	s, err := booking.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	log.Info("booking store: SQLite", "path", path)
	return s, nil
}

// URL is the public base URL: the address to open in a browser.
func (a *App) URL() string { return a.baseURL }

// Demo returns the seeded demo's logins (empty when not seeded).
func (a *App) Demo() booking.Demo { return a.demo }

// Handler routes every HTTP endpoint of the process.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			a.log.Warn("not ready", "err", err)
			problem.Error(w, http.StatusServiceUnavailable, "store_unreachable", "The booking store does not answer.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.Handle("/api/v1/", booking.NewAPI(a.Bookings, a.log.With("role", "api")))
	mux.Handle("GET /ws", a.Signal)
	mux.Handle("POST /connection-test/", a.connTest.Handler())
	mux.Handle("/", web.Handler())
	return mux
}

// Run serves until ctx ends, then shuts down gracefully: participants are
// told the call is closing, connections close, and the store closes.
func (a *App) Run(ctx context.Context) error {
	srv := newHTTPServer(a.Handler(), a.log)
	clockCtx, stopClock := context.WithCancel(context.Background())
	g := new(errgroup.Group)
	g.Go(func() error { return a.Signal.Run(clockCtx) })
	g.Go(func() error { return a.runRetention(clockCtx, cmp.Or(a.cfg.RetentionInterval, time.Hour)) })
	g.Go(func() error {
		if err := srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	a.log.Info("gatehouse listening", "url", a.baseURL, "addr", a.ln.Addr().String())

	<-ctx.Done()
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if err := a.Signal.Shutdown(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	stopClock()
	if err := g.Wait(); err != nil {
		errs = append(errs, err)
	}
	a.closeAll()
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// newHTTPServer is the process's HTTP server for h, with bounded header
// reads and sizes, logging its errors to log.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// closeAll releases the relay, media server, listener and store.
func (a *App) closeAll() {
	if a.connTest != nil {
		a.connTest.Close()
	}
	a.relay.close()
	if a.media != nil {
		a.media.Close()
	}
	if a.ln != nil {
		_ = a.ln.Close()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("close store", "err", err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
