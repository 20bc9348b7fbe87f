package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

func TestJoinTokenRoundTripAndRefusals(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := clock.NewOffset(now)
	s, err := NewJoinSigner([]byte(strings.Repeat("s", 32)), clk)
	if err != nil {
		t.Fatal(err)
	}
	claims := JoinClaims{BookingID: 7, ParticipantID: "p1", Role: "visitor", NotBefore: now.Add(-10 * time.Minute), ExpiresAt: now.Add(30 * time.Minute)}
	tok, err := s.Issue(claims)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.BookingID != 7 || got.ParticipantID != "p1" || got.Role != "visitor" || !got.ExpiresAt.Equal(claims.ExpiresAt) {
		t.Fatalf("claims changed in transit: %+v", got)
	}

	clk.Set(now.Add(-11 * time.Minute))
	if _, err := s.Verify(tok); !errors.Is(err, ErrTokenNotYetValid) {
		t.Errorf("before the window: %v, want ErrTokenNotYetValid", err)
	}
	clk.Set(now.Add(31 * time.Minute))
	if _, err := s.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("after the window: %v, want ErrTokenExpired", err)
	}
	clk.Set(now)

	other, _ := NewJoinSigner([]byte(strings.Repeat("o", 32)), clk)
	forged, _ := other.Issue(claims)
	for name, bad := range map[string]string{
		"other key": forged,
		"truncated": tok[:len(tok)-3],
		"empty":     "",
		"huge":      strings.Repeat("a", 5000),
		"alg none":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + strings.Split(tok, ".")[1] + ".",
	} {
		if _, err := s.Verify(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: %v, want ErrTokenInvalid", name, err)
		}
	}
	if _, err := NewJoinSigner([]byte("short"), clk); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	if _, err := s.Issue(JoinClaims{}); err == nil {
		t.Error("empty claims were signed")
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2") {
		t.Fatalf("not a bcrypt hash: %q", h)
	}
	if err := CheckPassword(h, "correct horse"); err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if err := CheckPassword(h, "wrong horse"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-character password was hashed")
	}
}
