// Command gatehouse runs the Gatehouse video-visits platform. With no
// configuration it runs every role in one process on an embedded SQLite
// store and seeds a demo prison.
//
// `gatehouse --roles turn` runs the TURN relay alone, as a node of its
// own; --roles booking,media runs the rest without it.
//
// `gatehouse audit verify` checks the hash-chained audit log of the store
// the server uses (same flags) and names the first broken entry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/app"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "audit" {
		os.Exit(runAudit(os.Args[2:], lookupEnv, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, lookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintln(stderr, "gatehouse: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.RelayOnly {
		return runRelay(ctx, cfg, log, stdout)
	}
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	printWelcome(stdout, a)
	if err := a.Run(ctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// runRelay is `gatehouse --roles turn`: the TURN relay alone.
func runRelay(ctx context.Context, cfg app.Config, log *slog.Logger, stdout io.Writer) int {
	n, err := app.NewRelayNode(ctx, cfg, log, nil)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nGatehouse TURN relay is running: %s\n", strings.Join(n.URLs(), " "))
	fmt.Fprintf(stdout, "  Health and metrics: http://%s/healthz, /metrics\nPress Ctrl+C to stop.\n", n.Addr())
	if err := n.Run(ctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func printWelcome(w io.Writer, a *app.App) {
	fmt.Fprintf(w, "\nGatehouse is running. Open %s\n", a.URL())
	fmt.Fprintf(w, "  Staff booking page: %s/staff\n", a.URL())
	if d := a.Demo(); len(d.Logins) > 0 {
		fmt.Fprintln(w, "  Demo staff logins (demo prison HMP Demo):")
		for _, l := range d.Logins {
			fmt.Fprintf(w, "    %-10s %-22s %s\n", l.Username, l.Password, l.Role)
		}
	}
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}
