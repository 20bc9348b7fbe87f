package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
)

// envName is the environment variable of a flag: data-dir -> GATEHOUSE_DATA_DIR.
func envName(flagName string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags, falling back to environment variables for every
// flag not given on the command line, then to app.DefaultConfig.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (app.Config, error) {
	cfg := app.DefaultConfig()
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(out)
	var natIPs, roleList string
	var portMin, portMax uint
	fs.StringVar(&roleList, "roles", "all", "roles this process runs: all, booking,media (with ,turn for the built-in relay), or turn (the relay alone, with /healthz and /metrics on --addr)")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "HTTP listen address")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the embedded SQLite store and the join-token key")
	fs.StringVar(&cfg.RecordingsDir, "recordings-dir", cfg.RecordingsDir, "directory for call recordings (default: recordings in --data-dir)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL of the booking store, e.g. postgres://gatehouse@db/gatehouse (default: the embedded SQLite store in --data-dir)")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base URL participants' browsers reach (default derived from --addr)")
	fs.StringVar(&cfg.Secret, "secret", cfg.Secret, "join-token signing secret, at least 32 characters (default: a random key kept in --data-dir)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "seed the demo prison into an empty store")
	fs.BoolVar(&cfg.ICELoopbackOnly, "ice-loopback-only", cfg.ICELoopbackOnly, "offer only loopback media candidates (browsers on this machine)")
	fs.StringVar(&natIPs, "ice-public-ips", "", "comma-separated public media addresses to advertise (1:1 NAT)")
	fs.UintVar(&portMin, "udp-port-min", 0, "lowest UDP port for media (0: any)")
	fs.UintVar(&portMax, "udp-port-max", 0, "highest UDP port for media (0: any)")
	fs.IntVar(&cfg.UDPPort, "udp-port", cfg.UDPPort, "one UDP port for all media (an ICE UDP mux; 0: a port per connection, see --udp-port-min/max)")
	fastPath := fs.Bool("media-fast-path", !cfg.NoMediaFastPath, "decrypt and forward received media on the socket's reader (false: Pion's own receive path, for comparison or if it misbehaves)")
	fs.BoolVar(&cfg.MediaBatchOwnSockets, "media-batch-own-sockets", cfg.MediaBatchOwnSockets, "with a port per connection, send what a burst forwards to a subscriber in one system call (always so on --udp-port); experimental")
	turnFlags := addTURNFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: gatehouse [flags]\n\nRuns every Gatehouse role in one process (see --roles). Every flag can also be set by\nthe environment variable named beside it.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = " (default " + strconv.Quote(f.DefValue) + ")"
			}
			fmt.Fprintf(out, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if natIPs != "" {
		cfg.NAT1To1IPs = strings.Split(natIPs, ",")
	}
	if portMin > 65535 || portMax > 65535 || portMin > portMax {
		return cfg, fmt.Errorf("udp port range %d-%d is not valid", portMin, portMax)
	}
	cfg.UDPPortMin, cfg.UDPPortMax = uint16(portMin), uint16(portMax)
	cfg.NoMediaFastPath = !*fastPath
	if err := turnFlags.apply(&cfg); err != nil {
		return cfg, err
	}
	if err := applyRoles(roleList, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func lookupEnv(name string) string { return os.Getenv(name) }
