package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// Sentinel errors returned by JoinSigner.Verify.
var (
	// ErrTokenInvalid covers malformed, tampered and wrongly signed tokens.
	ErrTokenInvalid = errors.New("join token invalid")
	// ErrTokenExpired means the token's validity window has closed.
	ErrTokenExpired = errors.New("join token expired")
	// ErrTokenNotYetValid means the token's validity window has not opened.
	ErrTokenNotYetValid = errors.New("join token not yet valid")
)

// joinAudience pins join tokens so that no other token signed with the same
// key can be replayed as one.
const joinAudience = "gatehouse-join"

// JoinClaims are what a join token says: this participant, in this role, may
// join this booking between NotBefore and ExpiresAt.
type JoinClaims struct {
	BookingID     int64
	ParticipantID string
	Role          string
	NotBefore     time.Time
	ExpiresAt     time.Time
}

type joinJWT struct {
	BookingID int64  `json:"bid"`
	Role      string `json:"role"`
	jwt.RegisteredClaims
}

// JoinSigner issues and verifies join tokens (HS256 JWTs) under one secret.
type JoinSigner struct {
	key   []byte
	clock clock.Clock
}

// NewJoinSigner returns a signer using key, which must be at least 32 bytes.
func NewJoinSigner(key []byte, c clock.Clock) (*JoinSigner, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("join token key is %d bytes, need at least 32", len(key))
	}
	return &JoinSigner{key: append([]byte(nil), key...), clock: c}, nil
}

// Issue signs c.
func (s *JoinSigner) Issue(c JoinClaims) (string, error) {
	if c.BookingID <= 0 || c.ParticipantID == "" || c.Role == "" {
		return "", fmt.Errorf("issue join token: %w: incomplete claims", ErrTokenInvalid)
	}
	claims := joinJWT{
		BookingID: c.BookingID,
		Role:      c.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.ParticipantID,
			Audience:  jwt.ClaimStrings{joinAudience},
			NotBefore: jwt.NewNumericDate(c.NotBefore),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			IssuedAt:  jwt.NewNumericDate(s.clock.Now()),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign join token: %w", err)
	}
	return tok, nil
}

// Verify checks signature, audience and validity window, and returns the
// claims. Errors wrap ErrTokenInvalid, ErrTokenExpired or ErrTokenNotYetValid.
func (s *JoinSigner) Verify(token string) (JoinClaims, error) {
	if len(token) == 0 || len(token) > 4096 {
		return JoinClaims{}, ErrTokenInvalid
	}
	var claims joinJWT
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(joinAudience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.clock.Now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return JoinClaims{}, fmt.Errorf("%w: %v", ErrTokenExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return JoinClaims{}, fmt.Errorf("%w: %v", ErrTokenNotYetValid, err)
	case err != nil:
		return JoinClaims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if claims.BookingID <= 0 || claims.Subject == "" || claims.Role == "" || claims.NotBefore == nil {
		return JoinClaims{}, fmt.Errorf("%w: missing claims", ErrTokenInvalid)
	}
	return JoinClaims{
		BookingID:     claims.BookingID,
		ParticipantID: claims.Subject,
		Role:          claims.Role,
		NotBefore:     claims.NotBefore.Time,
		ExpiresAt:     claims.ExpiresAt.Time,
	}, nil
}
