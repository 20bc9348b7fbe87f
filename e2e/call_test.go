package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/signalling/client"
)

// minPackets is how many RTP packets of each kind every participant must
// receive from every other before a call counts as carrying media.
const minPackets = 40

// joinLive books a visit with n visitors, moves the clock into it, and
// connects and publishes one client per participant.
func joinLive(t *testing.T, srv *testkit.Server, visitors int) (booking.Booking, []*client.Client) {
	t.Helper()
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, visitors)
	srv.Clock.Set(start.Add(time.Second))
	clients := make([]*client.Client, len(b.Participants))
	for i, p := range b.Participants {
		clients[i] = dial(t, srv, testkit.TokenFromURL(t, p.JoinURL))
	}
	for _, c := range clients {
		publish(t, c)
	}
	return b, clients
}

func dial(t *testing.T, srv *testkit.Server, token string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: srv.WSURL, Token: token, LoopbackOnly: true})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func publish(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Publish(ctx); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// waitMedia waits until every client has received at least minPackets more
// audio and video packets than in base from every other participant.
func waitMedia(t *testing.T, b booking.Booking, clients []*client.Client, base map[[2]int]client.Counts) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		missing := ""
		for i, c := range clients {
			for j, p := range b.Participants {
				if i == j {
					continue
				}
				got := c.Received(p.ID)
				was := base[[2]int{i, j}]
				if got.Audio-was.Audio < minPackets || got.Video-was.Video < minPackets {
					missing = b.Participants[i].Name + " from " + p.Name
				}
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media did not flow: %s", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, c := range clients {
		for j, p := range b.Participants {
			if i != j {
				got := c.Received(p.ID)
				t.Logf("%s received from %s: %d audio, %d video RTP packets", b.Participants[i].Name, p.Name, got.Audio, got.Video)
			}
		}
	}
}

func snapshot(b booking.Booking, clients []*client.Client) map[[2]int]client.Counts {
	m := make(map[[2]int]client.Counts)
	for i, c := range clients {
		for j, p := range b.Participants {
			m[[2]int{i, j}] = c.Received(p.ID)
		}
	}
	return m
}

func TestTwoPartyCallCarriesMediaBothWays(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)
}

func TestThreePartyCallCarriesEveryonesMedia(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 2)
	waitMedia(t, b, clients, nil)
}

func TestLeaveAndRejoinMidCall(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 2)
	waitMedia(t, b, clients, nil)

	// The last visitor hangs up; the others are told.
	if err := clients[2].Leave(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	left, err := clients[0].Next(ctx, "participantLeft")
	if err != nil {
		t.Fatal(err)
	}
	if left.ParticipantID != b.Participants[2].ID {
		t.Fatalf("participantLeft names %q, want %q", left.ParticipantID, b.Participants[2].ID)
	}
	<-clients[2].Done()

	// They come back with the same join link, and media flows again
	// between all three.
	base := snapshot(b, clients)
	clients[2] = dial(t, srv, testkit.TokenFromURL(t, b.Participants[2].JoinURL))
	publish(t, clients[2])
	for j := range b.Participants {
		base[[2]int{2, j}] = client.Counts{}
	}
	waitMedia(t, b, clients, base)
}

func TestSecondConnectionReplacesTheFirst(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)

	base := snapshot(b, clients)
	again := dial(t, srv, testkit.TokenFromURL(t, b.Participants[1].JoinURL))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ended, err := clients[1].Next(ctx, "ended")
	if err != nil {
		t.Fatal(err)
	}
	if ended.Reason != "replaced" {
		t.Fatalf("old connection ended with %q, want replaced", ended.Reason)
	}
	publish(t, again)
	clients[1] = again
	for j := range b.Participants {
		base[[2]int{1, j}] = client.Counts{}
	}
	waitMedia(t, b, clients, base)
}

func TestWaitingRoomThenLive(t *testing.T) {
	srv := testkit.Start(t)
	start := testkit.NextSlotStart(srv.Clock.Now())
	b := srv.BookDemoVisit(t, start, 1)
	srv.Clock.Set(start.Add(-5 * time.Minute))

	c := dial(t, srv, testkit.TokenFromURL(t, b.Participants[0].JoinURL))
	if st := c.Welcome().Call.State; st != "waiting" {
		t.Fatalf("state %q before the start, want waiting", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Clock.Set(start)
	m, err := c.Next(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != "live" {
		t.Fatalf("state %q at the start, want live", m.State)
	}
}

func TestCallWarnsThenEndsOnTime(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	srv.Clock.Set(b.EndsAt.Add(-5*time.Minute + 100*time.Millisecond))
	for _, c := range clients {
		w, err := c.Next(ctx, "warning")
		if err != nil {
			t.Fatal(err)
		}
		if w.MinutesLeft != 5 {
			t.Fatalf("first warning says %d minutes, want 5", w.MinutesLeft)
		}
	}
	srv.Clock.Set(b.EndsAt.Add(-time.Minute + 100*time.Millisecond))
	for _, c := range clients {
		w, err := c.Next(ctx, "warning")
		if err != nil {
			t.Fatal(err)
		}
		if w.MinutesLeft != 1 {
			t.Fatalf("second warning says %d minutes, want 1", w.MinutesLeft)
		}
	}
	srv.Clock.Set(b.EndsAt.Add(100 * time.Millisecond))
	for _, c := range clients {
		e, err := c.Next(ctx, "ended")
		if err != nil {
			t.Fatal(err)
		}
		if e.Reason != "time" {
			t.Fatalf("ended with %q, want time", e.Reason)
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("socket stayed open after the end")
		}
	}
	// The booking records its outcome, and joining again is refused: a
	// late join does not extend the call.
	got, err := srv.App.Bookings.Booking(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != booking.StatusCompleted {
		t.Fatalf("booking status %q after the end, want completed", got.Status)
	}
	_, err = client.Dial(ctx, client.Options{URL: srv.WSURL, Token: testkit.TokenFromURL(t, b.Participants[0].JoinURL), LoopbackOnly: true})
	assertRefused(t, err, "token_expired", "call_ended", "booking_cancelled")
}

func TestFivePersonVisitCarriesEveryonesMedia(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 4)
	if len(clients) != 5 {
		t.Fatalf("%d participants, want the prisoner and 4 visitors", len(clients))
	}
	waitMedia(t, b, clients, nil)
}

func TestCancellingALiveCallEndsIt(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)

	token := srv.Login(t, "clerk", "demo-clerk-pass")
	if st := srv.Do(t, "POST", "/api/v1/bookings/"+itoa(b.ID)+"/cancel", token, map[string]string{"reason": "prisoner unwell"}, nil); st != 200 {
		t.Fatalf("cancel: status %d", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range clients {
		e, err := c.Next(ctx, "ended")
		if err != nil {
			t.Fatal(err)
		}
		if e.Reason != "cancelled" {
			t.Fatalf("ended with %q, want cancelled", e.Reason)
		}
	}
}
