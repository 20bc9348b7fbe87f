package booking

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults of SessionPolicy.
const (
	DefaultLoginFailuresPerUser = 5
	DefaultLoginFailuresPerIP   = 20
	DefaultLoginFailureWindow   = 15 * time.Minute
	DefaultSessionIdleTimeout   = 30 * time.Minute
)

// sessionTouchEvery is how stale a session's last use may be before a
// request records it again: one write a minute per session at most.
const sessionTouchEvery = time.Minute

// SessionPolicy limits staff logins and sessions.
type SessionPolicy struct {
	// LoginFailuresPerUser failed logins for one username within
	// LoginFailureWindow refuse further attempts for it (429
	// too_many_attempts) until the oldest ages out (default 5).
	LoginFailuresPerUser int
	// LoginFailuresPerIP is the same limit for one client address (default
	// 20: a prison's staff often share one address, so it is looser than
	// the per-username limit).
	LoginFailuresPerIP int
	// LoginFailureWindow is how long a failed login counts (default 15
	// minutes).
	LoginFailureWindow time.Duration
	// SessionIdleTimeout ends a session unused for that long (default 30
	// minutes); sessions also end SessionTTL after login, however busy.
	SessionIdleTimeout time.Duration
	// ClientIPHeader, when set, names the request header a trusted reverse
	// proxy puts the client's address in (its last comma-separated entry
	// is used, e.g. X-Forwarded-For). By default the connection's peer
	// address is the client's.
	ClientIPHeader string
}

func (p SessionPolicy) withDefaults() SessionPolicy {
	if p.LoginFailuresPerUser <= 0 {
		p.LoginFailuresPerUser = DefaultLoginFailuresPerUser
	}
	if p.LoginFailuresPerIP <= 0 {
		p.LoginFailuresPerIP = DefaultLoginFailuresPerIP
	}
	if p.LoginFailureWindow <= 0 {
		p.LoginFailureWindow = DefaultLoginFailureWindow
	}
	if p.SessionIdleTimeout <= 0 {
		p.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	return p
}

// throttled is a login refused for too many failures: the refusal and how
// long to wait.
type throttled struct {
	*Refusal
	RetryAfter time.Duration
}

// Unwrap gives the Refusal, so that errors.As finds it.
func (t *throttled) Unwrap() error { return t.Refusal }

// checkThrottle refuses a login attempt for username from clientIP when
// either has failed too often lately; the refusal is audited.
func (s *Service) checkThrottle(ctx context.Context, now time.Time, username, clientIP string, staffID int64) error {
	pol := s.cfg.Sessions
	c, err := s.store.LoginFailures(ctx, username, clientIP, now.Add(-pol.LoginFailureWindow))
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var oldest time.Time
	switch {
	case c.User >= pol.LoginFailuresPerUser:
		oldest = c.UserOldest
	case c.IP >= pol.LoginFailuresPerIP:
		oldest = c.IPOldest
	default:
		return nil
	}
	wait := max(time.Second, oldest.Add(pol.LoginFailureWindow).Sub(now)).Round(time.Second)
	err = s.store.InTx(ctx, func(q Queries) error {
		return appendAudit(ctx, q, now, "anonymous", "login.throttled", loginSubject(staffID),
			map[string]any{"username": username, "clientIp": clientIP, "userFailures": c.User, "ipFailures": c.IP})
	})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit throttled login", slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "login throttled", slog.String("client_ip", clientIP),
		slog.Int("user_failures", c.User), slog.Int("ip_failures", c.IP))
	return &throttled{
		Refusal: refuse(ErrTooManyAttempts, "too many failed logins for this username or from this address; try again in %d seconds",
			int(wait/time.Second)),
		RetryAfter: wait,
	}
}

// loginSubject names the account a login attempt is for in the audit log.
func loginSubject(staffID int64) string {
	if staffID == 0 {
		return "staff:unknown"
	}
	return fmt.Sprintf("staff:%d", staffID)
}

// clientIP is the address a request comes from: the last entry of the
// policy's ClientIPHeader when set (a trusted proxy's), else the peer's
// address without its port.
func (p SessionPolicy) clientIP(r *http.Request) string {
	if p.ClientIPHeader != "" {
		if v := r.Header.Get(p.ClientIPHeader); v != "" {
			parts := strings.Split(v, ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return "unknown"
}
