package booking

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/clock"
)

// TestJoinURLs: each participant's link carries a token that JoinSigner
// verifies, naming the right booking, participant and role, valid from ten
// minutes before the start to the end.
func TestJoinURLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultNow())
	clerk := e.login("clerk")
	ids := e.contactIDs()
	sl := e.slot("2026-11-25", "15:00", "Visits room")
	var b Booking
	e.as(clerk.Token, http.MethodPost, "/api/v1/bookings", CreateRequest{PrisonerID: e.demo.PrisonerID, SlotID: sl.ID,
		CallType: CallLegal, ContactIDs: []int64{ids["Priya Shah (solicitor)"]}}).decode(t, http.StatusCreated, &b)

	// A verifier standing inside the window.
	inside := clock.NewOffset(sl.StartsAt.Add(-5 * time.Minute))
	verifier, err := auth.NewJoinSigner([]byte(testKey), inside)
	if err != nil {
		t.Fatal(err)
	}
	wantRoles := []Role{RolePrisoner, RoleLegal}
	if len(b.Participants) != 2 {
		t.Fatalf("participants %+v", b.Participants)
	}
	for i, p := range b.Participants {
		prefix := testPublicURL + "/join#token="
		if !strings.HasPrefix(p.JoinURL, prefix) {
			t.Fatalf("join URL %q", p.JoinURL)
		}
		tok := strings.TrimPrefix(p.JoinURL, prefix)
		c, err := verifier.Verify(tok)
		if err != nil {
			t.Fatalf("participant %d: %v", i, err)
		}
		if c.BookingID != b.ID || c.ParticipantID != p.ID || c.Role != string(wantRoles[i]) ||
			!c.NotBefore.Equal(sl.StartsAt.Add(-10*time.Minute)) || !c.ExpiresAt.Equal(sl.EndsAt) {
			t.Errorf("participant %d claims %+v, booking %d participant %s", i, c, b.ID, p.ID)
		}
		got, err := e.svc.Booking(e.ctx, c.BookingID)
		if err != nil {
			t.Fatal(err)
		}
		if gp, ok := got.Participant(c.ParticipantID); !ok || gp.Role != wantRoles[i] {
			t.Errorf("token's participant %s not found in booking (%+v)", c.ParticipantID, gp)
		}
		// Too early and too late are refused.
		inside.Set(sl.StartsAt.Add(-11 * time.Minute))
		if _, err := verifier.Verify(tok); !errors.Is(err, auth.ErrTokenNotYetValid) {
			t.Errorf("before the window: %v", err)
		}
		inside.Set(sl.EndsAt.Add(time.Second))
		if _, err := verifier.Verify(tok); !errors.Is(err, auth.ErrTokenExpired) {
			t.Errorf("after the window: %v", err)
		}
		inside.Set(sl.StartsAt.Add(-5 * time.Minute))
	}
	// JoinURL straight from the service gives the same claims.
	u, err := e.svc.JoinURL(b, b.Participants[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifier.Verify(strings.TrimPrefix(u, testPublicURL+"/join#token="))
	if err != nil || c.ParticipantID != b.Participants[0].ID {
		t.Errorf("JoinURL: %+v %v", c, err)
	}
}
