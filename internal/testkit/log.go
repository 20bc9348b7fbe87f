package testkit

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
)

// failureLogLines is how many of its last lines a logger of a failed test
// prints.
const failureLogLines = 400

// Log returns a debug-level logger for test t (the server's, or one of the
// test's clients'), with args as attributes. With GATEHOUSE_TEST_LOG set it
// writes to standard error as it goes; otherwise it keeps its last
// failureLogLines lines and prints them only if t fails, so that a failure
// seen once in CI comes with what led to it. Each line carries its time:
// the tails of several loggers merge by it.
func Log(t testing.TB, args ...any) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug})).With(args...)
}

func logWriter(t testing.TB) io.Writer {
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		return os.Stderr
	}
	r := &lineRing{lines: make([]string, failureLogLines)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the last log lines before the failure:\n%s", r.String())
		}
	})
	return r
}

// lineRing keeps the last lines written to it. slog handlers write one
// whole line per call.
type lineRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.lines[r.next] = string(bytes.TrimRight(p, "\n"))
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
	return len(p), nil
}

func (r *lineRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	if r.full {
		out = append(out, r.lines[r.next:]...)
	}
	out = append(out, r.lines[:r.next]...)
	return strings.Join(out, "\n")
}
