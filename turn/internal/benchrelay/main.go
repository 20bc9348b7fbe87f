// Command benchrelay runs the turn package's relay alone, on loopback, for
// scripts/bench-turn.sh: the same server code as in gatehouse, in a process
// of its own so its CPU time can be measured against coturn's.
//
// Loopback peers are allowed (the benchmark's peer is on 127.0.0.1), and
// the per-user, per-address and request-rate quotas are lifted, because the
// benchmark drives many sessions from one address with one username. The
// peer policy check, the per-allocation bit-rate accounting and the metrics
// stay on, as in production.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/gatehouse/gatehouse/turn"
)

func main() {
	cfg := turn.DefaultConfig()
	var listen string
	var minPort, maxPort uint
	var secret, cpuProfile string
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	flag.StringVar(&listen, "listen", "127.0.0.1", "listen address")
	flag.IntVar(&cfg.Port, "port", 3478, "UDP and TCP port")
	flag.UintVar(&minPort, "min-port", 49152, "lowest relay port")
	flag.UintVar(&maxPort, "max-port", 65535, "highest relay port")
	flag.StringVar(&secret, "secret", "", "shared secret (TURN REST credentials)")
	flag.StringVar(&cfg.Realm, "realm", cfg.Realm, "realm")
	flag.Parse()
	ip, err := netip.ParseAddr(listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrelay:", err)
		os.Exit(2)
	}
	cfg.ListenIPs = []netip.Addr{ip}
	cfg.RelayPortMin, cfg.RelayPortMax = uint16(minPort), uint16(maxPort)
	cfg.Secret = []byte(secret)
	cfg.AllowPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.MaxAllocationsPerUser, cfg.MaxAllocationsPerIP, cfg.RequestRate = 0, 0, 0

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := turn.New(cfg, turn.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrelay:", err)
		os.Exit(2)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "benchrelay:", err)
		os.Exit(1)
	}
	fmt.Println("ready", srv.URLs()[0])
	<-ctx.Done()
	_ = srv.Close()
}
