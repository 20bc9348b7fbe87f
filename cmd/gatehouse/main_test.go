package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	env := map[string]string{
		"GATEHOUSE_ADDR":            "127.0.0.1:9999",
		"GATEHOUSE_DATA_DIR":        "/srv/gatehouse",
		"GATEHOUSE_DEMO":            "false",
		"GATEHOUSE_DATABASE_URL":    "postgres://gatehouse@db.internal/gatehouse",
		"GATEHOUSE_UDP_PORT_MIN":    "50000",
		"GATEHOUSE_UDP_PORT_MAX":    "50100",
		"GATEHOUSE_MEDIA_FAST_PATH": "false",
	}
	cfg, err := parseConfig([]string{"--data-dir", "from-flag"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.Demo || cfg.UDPPortMin != 50000 || cfg.UDPPortMax != 50100 {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	if !cfg.NoMediaFastPath {
		t.Fatal("GATEHOUSE_MEDIA_FAST_PATH=false not applied")
	}
	if def, err := parseConfig(nil, func(string) string { return "" }, io.Discard); err != nil || def.NoMediaFastPath {
		t.Fatalf("the receive fast path is off by default (%v)", err)
	}
	if cfg.DatabaseURL != "postgres://gatehouse@db.internal/gatehouse" {
		t.Fatalf("GATEHOUSE_DATABASE_URL not applied: %q", cfg.DatabaseURL)
	}
	if cfg.DataDir != "from-flag" {
		t.Fatalf("flag should win over environment, got data dir %q", cfg.DataDir)
	}

	var help bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &help); err == nil {
		t.Fatal("--help should stop parsing")
	}
	for _, name := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_DATA_DIR", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_PUBLIC_URL", "GATEHOUSE_SECRET", "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_DEMO", "GATEHOUSE_ICE_LOOPBACK_ONLY", "GATEHOUSE_ICE_PUBLIC_IPS", "GATEHOUSE_UDP_PORT_MIN", "GATEHOUSE_UDP_PORT_MAX", "GATEHOUSE_MEDIA_FAST_PATH"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("--help does not list %s", name)
		}
	}
}

func TestBadFlagValuesAreRefused(t *testing.T) {
	for _, args := range [][]string{{"--udp-port-min", "70000"}, {"--udp-port-min", "10", "--udp-port-max", "5"}, {"stray"}} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	env := map[string]string{"GATEHOUSE_DEMO": "perhaps"}
	if _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard); err == nil {
		t.Error("GATEHOUSE_DEMO=perhaps accepted")
	}
}

// TestBinaryStartsSeedsAndStopsGracefully builds the real binary, runs it
// as a newcomer would (plus a free port and a temporary data directory),
// checks the printed URL and demo logins and the health endpoints, then
// sends SIGTERM and expects a clean exit 0.
func TestBinaryStartsSeedsAndStopsGracefully(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, lines, stderr := startBinary(ctx, t, buildBinary(t), "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--ice-loopback-only")
	urlRE := regexp.MustCompile(`Open (http://\S+)`)
	var base string
	var printed strings.Builder
	for _, line := range lines {
		printed.WriteString(line + "\n")
		if m := urlRE.FindStringSubmatch(line); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("no URL printed:\n%s\nstderr:\n%s", printed.String(), stderr.String())
	}
	for _, want := range []string{"clerk", "security", "admin", "/staff"} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("start-up text lacks %q:\n%s", want, printed.String())
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		resp, err := http.Get(strings.Replace(base, "localhost", "127.0.0.1", 1) + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		if path == "/metrics" {
			for _, m := range []string{"gatehouse_sfu_rooms", "gatehouse_sfu_participants", "gatehouse_sfu_published_tracks", "gatehouse_sfu_forwarded_packets_total", "gatehouse_sfu_forwarded_bytes_total", "process_cpu_seconds_total"} {
				if !bytes.Contains(body, []byte(m)) {
					t.Errorf("/metrics lacks %s", m)
				}
			}
		}
	}
	stopBinary(t, cmd, stderr)
}

// buildBinary builds gatehouse into the test's temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs bin with args and returns it with the lines it printed
// up to "Press Ctrl+C" and its standard error so far and to come.
func startBinary(ctx context.Context, t *testing.T, bin string, args ...string) (*exec.Cmd, []string, *syncBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "Press Ctrl+C") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return cmd, lines, stderr
}

// stopBinary sends SIGTERM and expects a clean exit with "stopped" logged.
func stopBinary(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no clean stop logged:\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
