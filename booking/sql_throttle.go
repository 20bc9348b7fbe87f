package booking

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordLoginFailure records a failed login and prunes the failures older
// than prune.
func (q sqlQueries) RecordLoginFailure(ctx context.Context, username, clientIP string, at, prune time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM login_failures WHERE at < ?`, unix(prune)); err != nil {
		return fmt.Errorf("prune login failures: %w", err)
	}
	_, err := q.exec(ctx, `INSERT INTO login_failures (username, client_ip, at) VALUES (?, ?, ?)`,
		username, clientIP, unix(at))
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts recent failures by username and by client address.
func (q sqlQueries) LoginFailures(ctx context.Context, username, clientIP string, since time.Time) (LoginFailureCounts, error) {
	var (
		c                    LoginFailureCounts
		userOldest, ipOldest sql.NullInt64
	)
	err := q.queryRow(ctx, `
		SELECT COUNT(CASE WHEN username = ? THEN 1 END), MIN(CASE WHEN username = ? THEN at END),
			COUNT(CASE WHEN client_ip = ? THEN 1 END), MIN(CASE WHEN client_ip = ? THEN at END)
		FROM login_failures WHERE at >= ? AND (username = ? OR client_ip = ?)`,
		username, username, clientIP, clientIP, unix(since), username, clientIP).
		Scan(&c.User, &userOldest, &c.IP, &ipOldest)
	if err != nil {
		return LoginFailureCounts{}, fmt.Errorf("count login failures: %w", err)
	}
	if userOldest.Valid {
		c.UserOldest = fromUnix(userOldest.Int64)
	}
	if ipOldest.Valid {
		c.IPOldest = fromUnix(ipOldest.Int64)
	}
	return c, nil
}

// ClearLoginFailures forgets a username's failed logins.
func (q sqlQueries) ClearLoginFailures(ctx context.Context, username string) error {
	if _, err := q.exec(ctx, `DELETE FROM login_failures WHERE username = ?`, username); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
