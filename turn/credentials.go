package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what the TURN REST convention and coturn use.
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// Credential errors, as the relay's authentication reports them.
var (
	// ErrMalformedCredential is a username not of the form "expiry:user".
	ErrMalformedCredential = errors.New("turn: malformed credential")
	// ErrExpiredCredential is a credential whose expiry has passed.
	ErrExpiredCredential = errors.New("turn: credential expired")
	// ErrCredentialTooLong is a credential expiring further ahead than any
	// this deployment issues: a sign of a forged or misconfigured issuer.
	ErrCredentialTooLong = errors.New("turn: credential lifetime too long")
	// ErrRevoked is a credential of a user who is no longer admitted (it
	// was captured or kept after the participant left the call).
	ErrRevoked = errors.New("turn: credential revoked")
)

// MinSecretLength is the shortest shared secret accepted.
const MinSecretLength = 16

// Credentials issues and checks ephemeral TURN credentials in the TURN REST
// convention (draft-uberti-behave-turn-rest-00), as coturn's
// use-auth-secret / static-auth-secret expects:
//
//	username = "<unix expiry>:<user id>"
//	password = base64(HMAC-SHA1(secret, username))
//
// The server needs no state to check them, so an external coturn sharing the
// secret accepts them too.
type Credentials struct {
	secret   []byte
	lifetime time.Duration
	clock    clock.Clock
}

// NewCredentials returns an issuer of credentials valid for lifetime under
// secret. A nil clock means the system clock.
func NewCredentials(secret []byte, lifetime time.Duration, c clock.Clock) (*Credentials, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("turn: shared secret must be at least %d bytes", MinSecretLength)
	}
	if lifetime <= 0 {
		return nil, errors.New("turn: credential lifetime must be positive")
	}
	if c == nil {
		c = clock.Real{}
	}
	return &Credentials{secret: append([]byte(nil), secret...), lifetime: lifetime, clock: c}, nil
}

// Lifetime is how long issued credentials are valid.
func (c *Credentials) Lifetime() time.Duration { return c.lifetime }

// Issue returns a credential for user valid for the configured lifetime.
func (c *Credentials) Issue(user string) (username, password string, expires time.Time) {
	return c.IssueFor(user, c.lifetime)
}

// IssueFor returns a credential for user valid for d (at most the
// configured lifetime is sensible; the relay refuses longer ones).
func (c *Credentials) IssueFor(user string, d time.Duration) (username, password string, expires time.Time) {
	expires = c.clock.Now().Add(d).Truncate(time.Second)
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + user
	return username, c.Password(username), expires
}

// Password is the password of username under the shared secret.
func (c *Credentials) Password(username string) string {
	return Password(c.secret, username)
}

// Password is base64(HMAC-SHA1(secret, username)).
func Password(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Parse splits a username into its expiry and user id.
func Parse(username string) (user string, expires time.Time, err error) {
	ts, user, ok := strings.Cut(username, ":")
	if !ok || user == "" || len(username) > 256 {
		return "", time.Time{}, ErrMalformedCredential
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return "", time.Time{}, ErrMalformedCredential
	}
	return user, time.Unix(sec, 0), nil
}

// check validates username for a request at now: well formed, not
// expired by more than grace, not expiring further ahead than the lifetime
// allows (plus a minute of clock skew).
func (c *Credentials) check(username string, now time.Time, grace time.Duration) (string, error) {
	user, exp, err := Parse(username)
	if err != nil {
		return "", err
	}
	if !now.Before(exp.Add(grace)) {
		return user, ErrExpiredCredential
	}
	if exp.After(now.Add(c.lifetime + time.Minute)) {
		return user, ErrCredentialTooLong
	}
	return user, nil
}
