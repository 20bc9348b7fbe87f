package booking

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// SessionTTL is how long a staff login lasts.
const SessionTTL = 12 * time.Hour

// Bounds of login input.
const (
	maxUsernameLen = 64
	maxPasswordLen = 72 // bcrypt's limit
	maxTokenLen    = 128
)

// dummyHash is a bcrypt hash (default cost) of a password no account has.
// Logins for unknown usernames are checked against it, so they take as long
// as logins with a wrong password and the two cannot be told apart.
const dummyHash = "$2a$10$mLN/ppi3NJWpBUZTmcR5mO7a4JN20lxclxPXu85PiF0ahmjVvquyC"

// loginResult is what a successful login hands back. Token is shown once;
// only its hash is stored.
type loginResult struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
	Staff     Staff
}

// login checks a username and password from clientIP and opens a
// session. Every attempt is audited. Failures are a *Refusal with
// ErrBadCredentials whatever the cause (unknown user, wrong password,
// disabled account) and count against the username and the address: too
// many lately (see SessionPolicy) and the attempt is refused before the
// password is checked, with ErrTooManyAttempts (a *throttled).
func (s *Service) login(ctx context.Context, username, password, clientIP string) (loginResult, error) {
	badCreds := refuse(ErrBadCredentials, "the username or password is wrong")
	if username == "" || len(username) > maxUsernameLen || password == "" {
		return loginResult{}, refuse(ErrValidation, "username (at most %d bytes) and password are required", maxUsernameLen)
	}
	now := s.clock.Now()
	st, err := s.store.StaffByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return loginResult{}, fmt.Errorf("login: %w", err)
	}
	if err := s.checkThrottle(ctx, now, username, clientIP, st.ID); err != nil {
		return loginResult{}, err
	}
	switch {
	case st.ID == 0:
		_ = auth.CheckPassword(dummyHash, password)
		s.auditLoginFailure(ctx, now, username, clientIP, 0, "")
		return loginResult{}, badCreds
	case auth.CheckPassword(st.PasswordHash, password) != nil:
		s.auditLoginFailure(ctx, now, username, clientIP, st.ID, "")
		return loginResult{}, badCreds
	case st.Disabled:
		s.auditLoginFailure(ctx, now, username, clientIP, st.ID, "disabled")
		return loginResult{}, badCreds
	}
	res := loginResult{
		Token:     newSecret(),
		CSRFToken: newSecret(),
		ExpiresAt: now.Add(SessionTTL).UTC().Truncate(time.Second),
		Staff:     st,
	}
	sess := Session{TokenHash: hashToken(res.Token), StaffID: st.ID, CSRFToken: res.CSRFToken,
		CreatedAt: now, ExpiresAt: res.ExpiresAt, LastSeenAt: now}
	err = s.store.InTx(ctx, func(q Queries) error {
		if _, err := q.DeleteExpiredSessions(ctx, now); err != nil {
			return err
		}
		if err := q.ClearLoginFailures(ctx, username); err != nil {
			return err
		}
		if err := q.CreateSession(ctx, sess); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(st), "login", staffActor(st),
			map[string]any{"username": st.Username, "role": st.Role})
	})
	if err != nil {
		return loginResult{}, fmt.Errorf("login: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "staff logged in", slog.Int64("staff_id", st.ID),
		slog.String("role", string(st.Role)))
	return res, nil
}

// auditLoginFailure records a failed login, for the audit log and for
// throttling; a failure to record it is logged, not returned, so it cannot
// change the answer the client sees. why is "" or "disabled".
func (s *Service) auditLoginFailure(ctx context.Context, now time.Time, username, clientIP string, staffID int64, why string) {
	subject := loginSubject(staffID)
	detail := map[string]any{"username": username, "clientIp": clientIP}
	if why != "" {
		detail["reason"] = why
	}
	err := s.store.InTx(ctx, func(q Queries) error {
		if err := q.RecordLoginFailure(ctx, username, clientIP, now, now.Add(-s.cfg.Sessions.LoginFailureWindow)); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, "anonymous", "login.failed", subject, detail)
	})
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit failed login", slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "staff login refused", slog.String("subject", subject))
}

// authenticate finds the live session of token and its staff member. It
// returns a *Refusal with ErrUnauthenticated when there is none.
func (s *Service) authenticate(ctx context.Context, token string) (Staff, Session, error) {
	unauth := refuse(ErrUnauthenticated, "log in first; the session is missing, expired or ended")
	if token == "" || len(token) > maxTokenLen {
		return Staff{}, Session{}, unauth
	}
	sess, err := s.store.Session(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return Staff{}, Session{}, unauth
	} else if err != nil {
		return Staff{}, Session{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.clock.Now()
	if !now.Before(sess.ExpiresAt) {
		return Staff{}, Session{}, unauth
	}
	if idle := now.Sub(sess.LastSeenAt); idle >= s.cfg.Sessions.SessionIdleTimeout {
		// Ended by idleness: forget it now rather than at the next login.
		if err := s.store.DeleteSession(ctx, sess.TokenHash); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "delete idle session", slog.String("error", err.Error()))
		}
		return Staff{}, Session{}, unauth
	}
	st, err := s.store.StaffByID(ctx, sess.StaffID)
	if errors.Is(err, ErrNotFound) {
		return Staff{}, Session{}, unauth
	} else if err != nil {
		return Staff{}, Session{}, fmt.Errorf("authenticate: %w", err)
	}
	if st.Disabled {
		return Staff{}, Session{}, unauth
	}
	if st, err = withCaseload(ctx, s.store, st); err != nil {
		return Staff{}, Session{}, fmt.Errorf("authenticate: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		if err := s.store.TouchSession(ctx, sess.TokenHash, now); err != nil {
			return Staff{}, Session{}, fmt.Errorf("authenticate: %w", err)
		}
		sess.LastSeenAt = now.UTC().Truncate(time.Second)
	}
	return st, sess, nil
}

// checkCSRF compares a request's CSRF header with the session's token in
// constant time.
func checkCSRF(sess Session, header string) bool {
	return header != "" && subtle.ConstantTimeCompare([]byte(header), []byte(sess.CSRFToken)) == 1
}

// logout ends a session and audits it.
func (s *Service) logout(ctx context.Context, st Staff, sess Session) error {
	now := s.clock.Now()
	err := s.store.InTx(ctx, func(q Queries) error {
		if err := q.DeleteSession(ctx, sess.TokenHash); err != nil {
			return err
		}
		return appendAudit(ctx, q, now, staffActor(st), "logout", staffActor(st), map[string]any{})
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
