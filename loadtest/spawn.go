package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// modulePath is the Go module whose ./cmd/gatehouse Spawn builds.
const modulePath = "github.com/gatehouse/gatehouse"

// Bounds of a spawned server's life.
const (
	buildTimeout   = 5 * time.Minute
	startTimeout   = 60 * time.Second
	stopTimeout    = 20 * time.Second
	maxServerLog   = 64 << 10 // tail of the server's stderr kept for errors
	turnRelayPorts = "40000-44999"
)

// SpawnOptions configure a spawned server.
type SpawnOptions struct {
	// Dir is any directory inside the Gatehouse module (default: the
	// working directory).
	Dir string
	// TURN runs the built-in relay on loopback, allowed to reach the media
	// server's loopback addresses, for relay-only scenarios.
	TURN bool
	// SharedUDPPort carries all the server's media on one UDP port
	// (--udp-port), as a deployment with one port open in its firewall.
	SharedUDPPort bool
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Server is a Gatehouse process started by Spawn on loopback.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// PID is the process id, for CPU and memory readings from /proc.
	PID int
	// Logins are the demo staff logins it printed: username -> password.
	Logins map[string]string

	cmd     *exec.Cmd
	tmp     string
	stderr  *tailBuffer
	waited  chan struct{}
	scanned chan struct{}
	waitErr error
}

// Spawn builds ./cmd/gatehouse and starts it on a free loopback port with a
// fresh data directory, media on loopback only, and reads its URL and demo
// logins from what it prints. Stop ends it.
func Spawn(ctx context.Context, opts SpawnOptions) (*Server, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := moduleRoot(ctx, opts.Dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "gatehouse-loadtest-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	bin := filepath.Join(tmp, "gatehouse")
	log.Info("building the server", "package", "./cmd/gatehouse")
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/gatehouse")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: go build ./cmd/gatehouse: %w\n%s", ErrSpawn, err, out)
	}

	args := []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(tmp, "data"),
		"--ice-loopback-only", "--log-level", "warn", "--demo"}
	if opts.SharedUDPPort {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpawn, err)
		}
		args = append(args, "--udp-port", strconv.Itoa(port))
	}
	if opts.TURN {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpawn, err)
		}
		lo, hi, _ := strings.Cut(turnRelayPorts, "-")
		args = append(args, "--turn", "--turn-listen-ips", "127.0.0.1", "--turn-host", "127.0.0.1",
			"--turn-port", strconv.Itoa(port), "--turn-allow-peers", "127.0.0.0/8",
			"--turn-relay-port-min", lo, "--turn-relay-port-max", hi,
			"--turn-max-allocations-per-ip", "0", "--turn-max-allocations-per-user", "0")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATABASE_URL=") // always the embedded store
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	s := &Server{cmd: cmd, tmp: tmp, stderr: &tailBuffer{max: maxServerLog}, waited: make(chan struct{}),
		scanned: make(chan struct{}), Logins: map[string]string{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start: %w", ErrSpawn, err)
	}
	s.PID = cmd.Process.Pid
	lines := make(chan string, 64)
	go func() { // ends when the process closes its stdout
		defer close(s.scanned)
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads after start-up: drop
			}
		}
	}()
	go func() { s.waitErr = cmd.Wait(); close(s.waited) }() // ends with the process
	ok = true
	if err := s.readWelcome(ctx, lines); err != nil {
		s.Stop()
		return nil, err
	}
	log.Info("server started", "url", s.URL, "pid", s.PID)
	return s, nil
}

// readWelcome reads the start-up lines up to "Press Ctrl+C to stop.".
func (s *Server) readWelcome(ctx context.Context, lines <-chan string) error {
	welcomeLine := regexp.MustCompile(`Gatehouse is running\. Open (\S+)`)
	loginLine := regexp.MustCompile(`^\s+(\S+)\s+(\S+)\s+(clerk|security|admin|probation)\s*$`)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	for {
		select {
		case line, open := <-lines:
			if !open {
				<-s.waited
				return fmt.Errorf("%w: exited at start (%v): %s", ErrSpawn, s.waitErr, s.stderr.String())
			}
			if m := welcomeLine.FindStringSubmatch(line); m != nil {
				s.URL = loopbackURL(m[1])
			}
			if m := loginLine.FindStringSubmatch(line); m != nil {
				s.Logins[m[1]] = m[2]
			}
			if strings.HasPrefix(line, "Press Ctrl+C") {
				if s.URL == "" {
					return fmt.Errorf("%w: no URL printed", ErrSpawn)
				}
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("%w: not started in %v: %s", ErrSpawn, startTimeout, s.stderr.String())
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrSpawn, ctx.Err())
		}
	}
}

// loopbackURL replaces the host "localhost" by 127.0.0.1, where the server
// listens.
func loopbackURL(u string) string {
	return strings.Replace(u, "://localhost:", "://127.0.0.1:", 1)
}

// Stop ends the server with SIGTERM (a graceful shutdown), killing it if it
// has not exited after stopTimeout, and removes its data. It returns the
// tail of the server's log when it did not stop cleanly.
func (s *Server) Stop() string {
	defer os.RemoveAll(s.tmp)
	defer func() { <-s.scanned }() // the pipe closes when the process is reaped
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.waited
		return "killed after " + stopTimeout.String() + ": " + s.stderr.String()
	}
	if s.waitErr != nil {
		return s.waitErr.Error() + ": " + s.stderr.String()
	}
	return ""
}

// Log returns the tail of the server's standard error.
func (s *Server) Log() string { return s.stderr.String() }

// moduleRoot finds the root of the Gatehouse module from dir.
func moduleRoot(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: go env GOMOD: %w", ErrSpawn, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("%w: not inside a Go module; run from the Gatehouse repository", ErrSpawn)
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSpawn, err)
	}
	if !bytes.Contains(b, []byte("module "+modulePath+"\n")) {
		return "", fmt.Errorf("%w: %s is not the %s module; run from the Gatehouse repository", ErrSpawn, gomod, modulePath)
	}
	return filepath.Dir(gomod), nil
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1 now.
func freePort() (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = pc.Close()
		return port, nil
	}
	return 0, errors.New("no free port")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var _ io.Writer = (*tailBuffer)(nil)
