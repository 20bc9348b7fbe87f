package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/recording"
)

// recordingEventTimeout bounds one write of a recording's state.
const recordingEventTimeout = 5 * time.Second

// recordingEvents keeps the booking service's record of each call's
// recording in step with the media server (sfu.RecordingEvents). Media
// rooms are named by booking id.
type recordingEvents struct {
	bookings *booking.Service
	clock    clock.Clock // the booking service's, so retention dates agree
	dir      string      // the recordings root
	log      *slog.Logger
}

func (e recordingEvents) bookingID(roomID string) (int64, bool) {
	id, err := strconv.ParseInt(roomID, 10, 64)
	if err != nil {
		e.log.Error("recording of a room that is no booking", "room", roomID)
		return 0, false
	}
	return id, true
}

// RecordingStarted implements sfu.RecordingEvents.
// The start is dated on the booking service's clock (like the staff
// actions the playback timeline sets against it), not the media server's.
func (e recordingEvents) RecordingStarted(roomID, dir string, _ time.Time) {
	id, ok := e.bookingID(roomID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordingEventTimeout)
	defer cancel()
	if err := e.bookings.RecordingStarted(ctx, id, dir, e.clock.Now()); err != nil {
		e.log.Error("record recording start", "booking", id, "err", err)
	}
}

// RecordingFailed implements sfu.RecordingEvents.
func (e recordingEvents) RecordingFailed(roomID string, cause error) {
	id, ok := e.bookingID(roomID)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordingEventTimeout)
	defer cancel()
	if err := e.bookings.RecordingFailed(ctx, id, cause.Error()); err != nil {
		e.log.Error("record recording failure", "booking", id, "err", err)
	}
}

// RecordingFinished implements sfu.RecordingEvents: the manifest's own
// hash goes into the store, so that a manifest edited later is detected.
func (e recordingEvents) RecordingFinished(roomID string, _ recording.Manifest) {
	id, ok := e.bookingID(roomID)
	if !ok {
		return
	}
	sum, err := fileSHA256(filepath.Join(e.dir, roomID, recording.ManifestName))
	ctx, cancel := context.WithTimeout(context.Background(), recordingEventTimeout)
	defer cancel()
	if err != nil {
		e.log.Error("hash recording manifest", "booking", id, "err", err)
		if err := e.bookings.RecordingFailed(ctx, id, "manifest unreadable: "+err.Error()); err != nil {
			e.log.Error("record recording failure", "booking", id, "err", err)
		}
		return
	}
	if err := e.bookings.RecordingFinished(ctx, id, sum, e.clock.Now()); err != nil {
		e.log.Error("record recording end", "booking", id, "err", err)
	}
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// runRetention deletes recordings past their prison's retention (unless
// held) at start and then every interval, until ctx ends.
func (a *App) runRetention(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.Bookings.PurgeRecordings(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("recording retention", "err", err)
		case n > 0:
			a.log.Info("recordings deleted after their retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
