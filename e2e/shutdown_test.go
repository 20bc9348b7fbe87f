package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestShutdownTellsParticipantsAndCloses(t *testing.T) {
	srv := testkit.Start(t)
	b, clients := joinLive(t, srv, 1)
	waitMedia(t, b, clients, nil)

	if err := srv.Stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range clients {
		e, err := c.Next(ctx, "ended")
		if err != nil {
			t.Fatal(err)
		}
		if e.Reason != "shutdown" {
			t.Fatalf("ended with %q, want shutdown", e.Reason)
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("socket left open after shutdown")
		}
	}
}
