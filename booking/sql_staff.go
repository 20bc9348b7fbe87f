package booking

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CreateStaff inserts a staff account. PasswordHash must already be a
// bcrypt hash.
func (q sqlQueries) CreateStaff(ctx context.Context, s Staff) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO staff (username, name, role, prison_id, password_hash, disabled, download_recordings)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.Username, s.Name, string(s.Role), nullID(s.PrisonID), s.PasswordHash, s.Disabled, s.DownloadRecordings).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create staff %q: %w", s.Username, q.writeErr(err))
	}
	return id, nil
}

const staffColumns = `id, username, name, role, prison_id, password_hash, disabled, download_recordings`

func scanStaff(sc interface{ Scan(...any) error }) (Staff, error) {
	var (
		s      Staff
		prison sql.NullInt64
	)
	if err := sc.Scan(&s.ID, &s.Username, &s.Name, &s.Role, &prison, &s.PasswordHash, &s.Disabled,
		&s.DownloadRecordings); err != nil {
		return Staff{}, err
	}
	s.PrisonID = prison.Int64
	return s, nil
}

// StaffByID reads a staff account.
func (q sqlQueries) StaffByID(ctx context.Context, id int64) (Staff, error) {
	s, err := scanStaff(q.queryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = ?`, id))
	if err != nil {
		return Staff{}, notFound(err, "staff", id)
	}
	return s, nil
}

// StaffByUsername reads a staff account by its username.
func (q sqlQueries) StaffByUsername(ctx context.Context, username string) (Staff, error) {
	s, err := scanStaff(q.queryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE username = ?`, username))
	if err != nil {
		return Staff{}, notFound(err, "staff", fmt.Sprintf("%q", username))
	}
	return s, nil
}

// CreateSession stores a session.
func (q sqlQueries) CreateSession(ctx context.Context, s Session) error {
	_, err := q.exec(ctx, `
		INSERT INTO sessions (token_hash, staff_id, csrf_token, created_at, expires_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.StaffID, s.CSRFToken, unix(s.CreatedAt), unix(s.ExpiresAt), unix(lastSeen(s)))
	if err != nil {
		return fmt.Errorf("create session for staff %d: %w", s.StaffID, q.writeErr(err))
	}
	return nil
}

// Session reads a session by the hash of its token.
func (q sqlQueries) Session(ctx context.Context, tokenHash string) (Session, error) {
	var (
		s                            Session
		created, expiresAt, lastSeen int64
	)
	err := q.queryRow(ctx, `
		SELECT token_hash, staff_id, csrf_token, created_at, expires_at, last_seen_at FROM sessions WHERE token_hash = ?`,
		tokenHash).Scan(&s.TokenHash, &s.StaffID, &s.CSRFToken, &created, &expiresAt, &lastSeen)
	if err != nil {
		return Session{}, notFound(err, "session", "")
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromUnix(created), fromUnix(expiresAt), fromUnix(lastSeen)
	return s, nil
}

// DeleteSession removes a session; removing a missing one is not an error.
func (q sqlQueries) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := q.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes every session expired at now and returns how
// many it removed.
func (q sqlQueries) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, unix(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
