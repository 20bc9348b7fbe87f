package recording

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// Close stops recording: it refuses further packets, lets every writer
// write what is queued, finalises the files, hashes them and writes
// manifest.json, which it returns.
//
// When ctx ends first, Close tells the writers to drop what is still
// queued and finish at once, reports ErrIncomplete (wrapping ctx's error)
// as a failure and returns it; the writers still finish their files on
// their own, and a later Close returns the manifest. Once a manifest is
// written, Close returns it again.
func (c *Call) Close(ctx context.Context) (Manifest, error) {
	c.mu.Lock()
	if !c.closing {
		c.closing = true
		c.endedAt = time.Now()
		for _, t := range c.tracks {
			t.closed.Store(true)
		}
		close(c.stop)
	}
	tracks := slices.Clone(c.tracks)
	c.mu.Unlock()

	for _, t := range tracks {
		select {
		case <-t.done:
		case <-ctx.Done():
			c.mu.Lock()
			first := !c.aborted
			if first {
				c.aborted = true
				close(c.abort)
			}
			c.mu.Unlock()
			err := fmt.Errorf("%w: %w", ErrIncomplete, ctx.Err())
			if first {
				c.fail(err)
			}
			return Manifest{}, err
		}
	}
	return c.finalize(ctx, tracks)
}

// finalize hashes the finished files and writes the manifest, once.
func (c *Call) finalize(ctx context.Context, tracks []*Track) (Manifest, error) {
	c.finMu.Lock()
	defer c.finMu.Unlock()
	if c.manifest != nil {
		return *c.manifest, nil
	}
	m := Manifest{
		CallID:    c.id,
		StartedAt: c.start.UTC(),
		EndedAt:   c.endedAt.UTC(),
		Files:     []File{},
	}
	for _, t := range tracks {
		w := t.w
		sum, size, err := HashFile(ctx, filepath.Join(c.dir, t.name))
		if err != nil {
			return Manifest{}, fmt.Errorf("recording: %w", err)
		}
		f := File{
			Name:           t.name,
			ParticipantID:  t.participantID,
			TrackID:        t.trackID,
			Kind:           t.codec.kind,
			Codec:          t.codec.name,
			SHA256:         sum,
			Bytes:          size,
			DurationMs:     int64(w.durationMs + 0.5),
			Frames:         w.frames,
			Keyframes:      w.keyframes,
			Gaps:           w.gaps,
			LostPackets:    w.lost,
			DroppedPackets: int64(w.seenDropped) + w.aborted,
		}
		if ns := t.first.Load(); ns != 0 {
			f.StartOffsetMs = time.Unix(0, ns).Sub(c.start).Milliseconds()
		}
		if w.err != nil {
			f.Error = w.err.Error()
		}
		m.Files = append(m.Files, f)
	}
	if err := writeManifest(c.dir, m); err != nil {
		return Manifest{}, err
	}
	c.manifest = &m
	c.log.Info("recording closed", "files", len(m.Files))
	return m, nil
}
