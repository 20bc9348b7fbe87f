// Command loadtest books visits on a Gatehouse server, joins them with real
// Pion clients that publish a VP8 simulcast and Opus clip and subscribe to
// each other, and reports join times, latency, loss, jitter, freezes,
// received bitrate per layer and the server's packets per CPU-second. It
// exits 1 when a call does not connect or a connected participant's audio
// stops for 3 s mid-call, 2 when the run cannot start.
//
//	go run ./loadtest/cmd/loadtest --spawn --scenario one-to-one --calls 10
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	cfg        loadtest.Config
	scenario   string
	spawn      bool
	spawnPort  bool
	jsonOut    string
	reportOut  string
	noSimul    bool
	timeout    time.Duration
	logLevel   string
	noProgress bool
	sweep      []int
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, s := range loadtest.AllScenarios() {
		names = append(names, string(s))
	}
	fs.StringVar(&o.cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the Gatehouse server (ignored with --spawn)")
	fs.StringVar(&o.cfg.User, "user", "admin", "staff administrator's username (the run creates a prison, rooms, prisoners and contacts)")
	fs.StringVar(&o.cfg.Password, "password", "demo-admin-pass", "that administrator's password")
	fs.StringVar(&o.scenario, "scenario", string(loadtest.OneToOne), "what to run: "+strings.Join(names, ", "))
	fs.IntVar(&o.cfg.Calls, "calls", 0, "number of calls (one-to-one visits for mixed); 0: the scenario's default (one-to-one 10, group 2, fanout 1, turn 2, mixed 4)")
	fs.IntVar(&o.cfg.GroupCalls, "group-calls", 1, "group calls of --participants people, for the mixed scenario")
	fs.IntVar(&o.cfg.Participants, "participants", 0, "people per call for group, fanout and mixed's group calls, 2 to 11; 0: the scenario's default (group 5, fanout 11, mixed 3)")
	fs.DurationVar(&o.cfg.Duration, "duration", 30*time.Second, "steady window measured after every call has connected")
	fs.DurationVar(&o.cfg.Ramp, "ramp", 5*time.Second, "time over which the joins are spread")
	fs.DurationVar(&o.cfg.JoinTimeout, "join-timeout", 20*time.Second, "how long a participant may take to receive a decodable frame from everyone else before its call counts as not connected")
	fs.BoolVar(&o.noSimul, "no-simulcast", false, "publish only the full-size layer (f) instead of three simulcast layers")
	fs.BoolVar(&o.cfg.AudioOnly, "audio-only", false, "publish audio only")
	fs.StringVar(&o.jsonOut, "json", "", "write the full result as JSON to this file (- for standard output)")
	fs.StringVar(&o.reportOut, "report", "", "write an HTML report with plots to this file")
	fs.BoolVar(&o.spawnPort, "spawn-udp-port", false, "with --spawn: carry the server's media on one UDP port (--udp-port), as behind a firewall with one port open")
	fs.BoolVar(&o.spawn, "spawn", false, "build ./cmd/gatehouse and run it on loopback with a fresh data directory for the test (measures its CPU and memory from /proc too); run from the repository")
	fs.IntVar(&o.cfg.ServerPID, "server-pid", 0, "process id of a server on this machine, to read its CPU and memory from /proc (set by --spawn)")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound on the whole run; 0: ramp + join timeout + duration + 3 minutes")
	fs.StringVar(&o.logLevel, "log-level", "warn", "log level on standard error: debug, info, warn or error")
	fs.BoolVar(&o.noProgress, "no-progress", false, "no live progress line, even on a terminal")
	var sweep string
	fs.StringVar(&sweep, "sweep", "", "comma-separated call counts (e.g. 5,10,20,40) to run one after another against the same server, instead of --calls, stopping after the first with 1% loss or more or a call that did not connect; reports the most calls with less than 1% loss")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadtest [flags]\n\nBooks calls on a Gatehouse server, joins them with real WebRTC clients that\npublish and subscribe, and measures them. Exits 1 if a call does not connect.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(sweep, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("--sweep: %q is not a positive number", f)
		}
		o.sweep = append(o.sweep, n)
	}
	o.cfg.Scenario = loadtest.Scenario(o.scenario)
	o.cfg.Simulcast = !o.noSimul
	if o.cfg.Scenario != loadtest.Mixed {
		o.cfg.GroupCalls = 0
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(stderr, "loadtest: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	o.cfg.Log = log
	if f, ok := stdout.(*os.File); ok && isTerminal(f) && !o.noProgress {
		o.cfg.Progress = stdout
	}
	timeout := o.timeout
	if timeout <= 0 {
		timeout = (o.cfg.Ramp + o.cfg.JoinTimeout + o.cfg.Duration + 3*time.Minute) * time.Duration(max(1, len(o.sweep)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if o.spawn {
		srv, err := loadtest.Spawn(ctx, loadtest.SpawnOptions{TURN: o.cfg.Scenario == loadtest.TURN, SharedUDPPort: o.spawnPort, Log: log})
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 2
		}
		defer func() {
			if problem := srv.Stop(); problem != "" {
				fmt.Fprintln(stderr, "loadtest: the server did not stop cleanly:", problem)
			}
		}()
		o.cfg.URL = srv.URL
		o.cfg.ServerPID = srv.PID
		if pw, ok := srv.Logins[o.cfg.User]; ok {
			o.cfg.Password = pw
		}
		fmt.Fprintf(stdout, "Started %s (pid %d)\n", srv.URL, srv.PID)
	}
	if len(o.sweep) > 0 {
		return runSweep(ctx, o, stdout, stderr)
	}
	summary := stdout
	if o.jsonOut == "-" {
		summary = stderr // standard output holds the JSON alone
	}
	res, err := loadtest.Run(ctx, o.cfg)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	res.WriteSummary(summary)
	code := 0
	if !res.OK() {
		fmt.Fprintf(summary, "FAIL: %d of %d calls did not connect; %d audio streams stopped mid-call\n",
			res.FailedCalls, res.Calls, res.AudioStops)
		code = 1
	}
	if o.jsonOut != "" {
		if err := writeFile(o.jsonOut, stdout, res.WriteJSON); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			code = max(code, 2)
		}
	}
	if o.reportOut != "" {
		if err := writeFile(o.reportOut, stdout, func(w io.Writer) error { return loadtest.WriteHTML(w, res) }); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			code = max(code, 2)
		} else {
			fmt.Fprintf(summary, "Report: %s\n", o.reportOut)
		}
	}
	return code
}

// maxLoss is the steady-window loss, in percent, at which a sweep stops.
const maxLoss = 1.0

// runSweep runs the scenario with each call count of the sweep in turn,
// until one loses maxLoss percent or more or has a call that does not
// connect. It writes a JSON array of the results and one HTML report per
// step (the count before the file's extension). It fails only when the
// first step does not connect.
func runSweep(ctx context.Context, o options, stdout, stderr io.Writer) int {
	var results []*loadtest.Result
	best := 0
	for _, n := range o.sweep {
		cfg := o.cfg
		cfg.Calls = n
		fmt.Fprintf(stdout, "== %d calls\n", n)
		res, err := loadtest.Run(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			break
		}
		res.WriteSummary(stdout)
		results = append(results, res)
		if o.reportOut != "" {
			ext := filepath.Ext(o.reportOut)
			path := fmt.Sprintf("%s-%d%s", strings.TrimSuffix(o.reportOut, ext), n, ext)
			if err := writeFile(path, stdout, func(w io.Writer) error { return loadtest.WriteHTML(w, res) }); err != nil {
				fmt.Fprintln(stderr, "loadtest:", err)
			}
		}
		if !res.OK() || res.SteadyLoss.Percent >= maxLoss {
			break
		}
		best = n
	}
	fmt.Fprintf(stdout, "\n%-6s %-10s %-10s %-10s %-12s %-14s\n", "calls", "connected", "loss %", "join p95", "server CPU", "packets/CPU-s")
	for _, r := range results {
		fmt.Fprintf(stdout, "%-6d %-10s %-10.3f %-10.0f %-12s %-14.0f\n", r.Calls, fmt.Sprintf("%d/%d", r.ConnectedCalls, r.Calls),
			r.SteadyLoss.Percent, r.JoinMs.P95, fmt.Sprintf("%.0f%%", r.Server.CPUPercent), r.Server.PacketsPerCPUSecond)
	}
	fmt.Fprintf(stdout, "Most concurrent calls with less than %.0f%% loss: %d\n", maxLoss, best)
	if o.jsonOut != "" {
		err := writeFile(o.jsonOut, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(results)
		})
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 2
		}
	}
	if best == 0 {
		return 1
	}
	return 0
}

// writeFile writes with write to path, or to stdout for "-".
func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
