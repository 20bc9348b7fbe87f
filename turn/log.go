package turn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

// pionLogs adapts pion's leveled loggers to slog. Pion logs per packet at
// info level ("no permission for ..."), so its info becomes debug; its
// warnings and errors are kept but rate-limited, as an attacker can cause
// them at will.
type pionLogs struct {
	log   *slog.Logger
	limit *logLimiter
}

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), limit: f.limit}
}

type pionLogger struct {
	log   *slog.Logger
	limit *logLimiter
}

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	if level >= slog.LevelWarn && !l.limit.allow("pion") {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }

// logLimiter lets through at most perWindow log lines of a kind per window,
// then one summary line with how many were suppressed. Refusals are counted
// in metrics in full; the log shows examples.
type logLimiter struct {
	perWindow int
	window    time.Duration
	log       *slog.Logger

	mu    sync.Mutex
	kinds map[string]*logWindow
}

type logWindow struct {
	start      time.Time
	n          int
	suppressed int
}

func newLogLimiter(log *slog.Logger, perWindow int, window time.Duration) *logLimiter {
	return &logLimiter{perWindow: perWindow, window: window, log: log, kinds: make(map[string]*logWindow)}
}

// allow reports whether a line of kind may be logged now.
func (l *logLimiter) allow(kind string) bool {
	now := time.Now()
	l.mu.Lock()
	w := l.kinds[kind]
	if w == nil {
		w = &logWindow{start: now}
		l.kinds[kind] = w
	}
	var suppressed int
	if now.Sub(w.start) >= l.window {
		suppressed = w.suppressed
		*w = logWindow{start: now}
	}
	ok := w.n < l.perWindow
	if ok {
		w.n++
	} else {
		w.suppressed++
	}
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Warn("turn: log lines suppressed", "kind", kind, "suppressed", suppressed, "window", l.window)
	}
	return ok
}
