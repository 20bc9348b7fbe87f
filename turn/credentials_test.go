package turn

import (
	"errors"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// TestPasswordIsTheTURNRESTHMAC checks the password against a value made
// independently (Python's hmac module), which is what coturn computes for
// use-auth-secret.
func TestPasswordIsTheTURNRESTHMAC(t *testing.T) {
	if got := Password([]byte("gatehouse-shared-secret"), "1700000000:alice"); got != "S/qNLrjggbqVmOm4z861fP98yBY=" {
		t.Fatalf("password %q", got)
	}
}

func TestIssueMatchesPionsRESTHandler(t *testing.T) {
	c, err := NewCredentials([]byte(testSecret), 10*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, exp := c.Issue("participant-1")
	if d := time.Until(exp); d < 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("expires in %v", d)
	}
	// pion's own handler for the convention accepts what we issue.
	h := pionturn.LongTermTURNRESTAuthHandler(testSecret, nil)
	id, key, ok := h(&pionturn.RequestAttributes{Username: user, Realm: "gatehouse"})
	if !ok || id != "participant-1" {
		t.Fatalf("pion refused %q (id %q)", user, id)
	}
	if want := pionturn.GenerateAuthKey(user, "gatehouse", pass); string(key) != string(want) {
		t.Fatal("keys differ")
	}
}

func TestCheck(t *testing.T) {
	clk := clock.NewOffset(time.Unix(1_700_000_000, 0))
	c, _ := NewCredentials([]byte(testSecret), 10*time.Minute, clk)
	now := clk.Now()
	cases := []struct {
		username string
		grace    time.Duration
		want     error
	}{
		{"1700000300:p", 0, nil},
		{"1699999990:p", 0, ErrExpiredCredential},
		{"1699999990:p", time.Hour, nil}, // refreshing an allocation made while valid
		{"1700090000:p", 0, ErrCredentialTooLong},
		{"p", 0, ErrMalformedCredential},
		{"abc:p", 0, ErrMalformedCredential},
		{"1700000300:", 0, ErrMalformedCredential},
		{"-5:p", 0, ErrMalformedCredential},
	}
	for _, tc := range cases {
		if _, err := c.check(tc.username, now, tc.grace); !errors.Is(err, tc.want) {
			t.Errorf("check(%q, grace %v) = %v, want %v", tc.username, tc.grace, err, tc.want)
		}
	}
	if _, err := NewCredentials([]byte("short"), time.Minute, nil); err == nil {
		t.Error("short secret accepted")
	}
}
