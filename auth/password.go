package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// ErrBadPassword is returned when a password does not match its hash.
var ErrBadPassword = errors.New("password does not match")

// maxPasswordLen is bcrypt's input limit.
const maxPasswordLen = 72

// HashPassword hashes a staff password with bcrypt.
func HashPassword(password string) (string, error) {
	if len(password) < 8 || len(password) > maxPasswordLen {
		return "", fmt.Errorf("password must be 8 to %d bytes", maxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword compares password with a bcrypt hash in constant time.
func CheckPassword(hash, password string) error {
	if len(password) > maxPasswordLen {
		return ErrBadPassword
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
		return ErrBadPassword
	}
	return nil
}
