package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/signalling/client"
)

func assertRefused(t *testing.T, err error, codes ...string) {
	t.Helper()
	var re *client.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("join was not refused: err = %v", err)
	}
	for _, c := range codes {
		if re.Code == c {
			return
		}
	}
	t.Fatalf("refused with %q (%s), want one of %v", re.Code, re.Message, codes)
}

func tryJoin(srv *testkit.Server, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: srv.WSURL, Token: token, LoopbackOnly: true})
	if err == nil {
		c.Close()
	}
	return err
}

func TestAdmissionRefusals(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	visitA := srv.BookDemoVisit(t, start, 1)
	legalB := srv.BookDemo(t, start.Add(time.Hour), "legal", 1)
	srv.Clock.Set(start.Add(time.Second))
	signer := srv.Signer(t)
	good := testkit.TokenFromURL(t, visitA.Participants[1].JoinURL)

	t.Run("token for another booking", func(t *testing.T) {
		// Signed by the server's own key, but the participant belongs to
		// another booking.
		tok, err := signer.Issue(auth.JoinClaims{
			BookingID: visitA.ID, ParticipantID: legalB.Participants[1].ID, Role: string(legalB.Participants[1].Role),
			NotBefore: start.Add(-10 * time.Minute), ExpiresAt: visitA.EndsAt,
		})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, tryJoin(srv, tok), "token_invalid")
	})
	t.Run("other booking's own token before its window", func(t *testing.T) {
		assertRefused(t, tryJoin(srv, testkit.TokenFromURL(t, legalB.Participants[1].JoinURL)), "too_early")
	})
	t.Run("expired token", func(t *testing.T) {
		tok, err := signer.Issue(auth.JoinClaims{
			BookingID: visitA.ID, ParticipantID: visitA.Participants[1].ID, Role: string(visitA.Participants[1].Role),
			NotBefore: start.Add(-time.Hour), ExpiresAt: srv.Clock.Now().Add(-time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, tryJoin(srv, tok), "token_expired")
	})
	t.Run("tampered token", func(t *testing.T) {
		parts := strings.Split(good, ".")
		payload := []byte(parts[1])
		payload[len(payload)/2] ^= 0x01
		tampered := parts[0] + "." + string(payload) + "." + parts[2]
		assertRefused(t, tryJoin(srv, tampered), "token_invalid")
	})
	t.Run("token signed with another key", func(t *testing.T) {
		other, err := auth.NewJoinSigner([]byte(strings.Repeat("k", 32)), srv.Clock)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := other.Issue(auth.JoinClaims{
			BookingID: visitA.ID, ParticipantID: visitA.Participants[1].ID, Role: string(visitA.Participants[1].Role),
			NotBefore: start.Add(-time.Hour), ExpiresAt: visitA.EndsAt,
		})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, tryJoin(srv, tok), "token_invalid")
	})
	t.Run("garbage token", func(t *testing.T) {
		assertRefused(t, tryJoin(srv, "not-a-token"), "token_invalid")
	})
	t.Run("join before the window opens", func(t *testing.T) {
		srv.Clock.Set(start.Add(-11 * time.Minute))
		defer srv.Clock.Set(start.Add(time.Second))
		assertRefused(t, tryJoin(srv, good), "too_early")
	})
	t.Run("cancelled booking", func(t *testing.T) {
		token := srv.Login(t, "clerk", "demo-clerk-pass")
		visitC := srv.BookDemoVisit(t, start.Add(2*time.Hour), 1)
		if st := srv.Do(t, http.MethodPost, "/api/v1/bookings/"+itoa(visitC.ID)+"/cancel", token, map[string]string{"reason": "family asked"}, nil); st != http.StatusOK {
			t.Fatalf("cancel: status %d", st)
		}
		srv.Clock.Set(start.Add(2 * time.Hour))
		defer srv.Clock.Set(start.Add(time.Second))
		assertRefused(t, tryJoin(srv, testkit.TokenFromURL(t, visitC.Participants[0].JoinURL)), "booking_cancelled")
	})
	t.Run("valid token is admitted", func(t *testing.T) {
		if err := tryJoin(srv, good); err != nil {
			t.Fatalf("valid join refused: %v", err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rawSocket opens /ws without the client library, to send what a real
// client never would.
func rawSocket(t *testing.T, srv *testkit.Server) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(srv.WSURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	return conn
}

type reply struct {
	Type  string `json:"type"`
	Code  string `json:"code"`
	Fatal bool   `json:"fatal"`
}

func readReply(t *testing.T, conn *websocket.Conn) reply {
	t.Helper()
	var r reply
	if err := conn.ReadJSON(&r); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return r
}

func TestMalformedMessagesGetErrorsNotACrash(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(time.Second))
	conn := rawSocket(t, srv)

	for _, frame := range []string{`not json`, `{"type":`, `[1,2,3]`, `{"type":"offer","sdp":"v=0"}`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		r := readReply(t, conn)
		if r.Type != "error" || r.Fatal {
			t.Fatalf("frame %q: got %+v, want a non-fatal error", frame, r)
		}
	}
	// The connection survived: a valid join still works on it.
	join, _ := json.Marshal(map[string]any{"type": "join", "version": 1, "token": testkit.TokenFromURL(t, b.Participants[0].JoinURL)})
	if err := conn.WriteMessage(websocket.TextMessage, join); err != nil {
		t.Fatal(err)
	}
	if r := readReply(t, conn); r.Type != "welcome" {
		t.Fatalf("after bad frames, join got %+v", r)
	}
	for _, frame := range []string{`{"type":"dance"}`, `{"type":"candidate","target":"sideways"}`, `{"type":"join","token":"x"}`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if r := readReply(t, conn); r.Type != "error" || r.Fatal {
			t.Fatalf("frame %q: got %+v, want a non-fatal error", frame, r)
		}
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if r := readReply(t, conn); r.Type != "pong" {
		t.Fatalf("ping got %+v", r)
	}
}

func TestGarbageFloodClosesTheSocket(t *testing.T) {
	srv := testkit.Start(t)
	conn := rawSocket(t, srv)
	for i := 0; i < 5; i++ {
		if err := conn.WriteMessage(websocket.TextMessage, []byte("garbage")); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	for {
		var r reply
		if err := conn.ReadJSON(&r); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("socket ended with %v, want a normal close", err)
			}
			break
		}
		codes = append(codes, r.Code)
	}
	if len(codes) != 5 || codes[4] != "too_many_errors" {
		t.Fatalf("replies %v, want four bad_message then too_many_errors", codes)
	}
}

func TestOversizedFrameClosesTheSocket(t *testing.T) {
	srv := testkit.Start(t)
	conn := rawSocket(t, srv)
	big := `{"type":"join","token":"` + strings.Repeat("a", 70<<10) + `"}`
	_ = conn.WriteMessage(websocket.TextMessage, []byte(big))
	var r reply
	err := conn.ReadJSON(&r)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && err == nil {
		t.Fatalf("oversized frame answered %+v, want the socket closed", r)
	}
}
