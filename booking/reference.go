package booking

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// referenceAlphabet has no 0/O, 1/I or L, so a reference read out over the
// phone cannot be misheard as another.
const referenceAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ReferenceLength is the length of a booking reference.
const ReferenceLength = 8

// newReference returns a random reference from crypto/rand, drawing bytes
// and rejecting those that would bias the alphabet.
func newReference() string {
	const n = len(referenceAlphabet)
	const limit = 256 - 256%n // largest multiple of n not above 256
	out := make([]byte, 0, ReferenceLength)
	var buf [16]byte
	for len(out) < ReferenceLength {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(out) < ReferenceLength {
				out = append(out, referenceAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}

// uniqueReference draws references until one is not taken. Inside InTx no
// other writer can take it before the booking is inserted.
func uniqueReference(ctx context.Context, q BookingQueries) (string, error) {
	for range 10 {
		ref := newReference()
		taken, err := q.ReferenceTaken(ctx, ref)
		if err != nil {
			return "", err
		}
		if !taken {
			return ref, nil
		}
	}
	return "", fmt.Errorf("no free booking reference after 10 draws")
}

// newParticipantID returns an opaque participant id: 16 hex characters.
func newParticipantID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSecret returns 32 random bytes, base64url without padding: session
// tokens and CSRF tokens.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is how a session token is stored: hex SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
