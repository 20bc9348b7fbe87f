package recording

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the manifest's file name in a call's directory.
const ManifestName = "manifest.json"

// Manifest describes a finished recording: one entry per track file.
type Manifest struct {
	CallID    string    `json:"callId"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
	Files     []File    `json:"files"`
}

// File is one track's file in a Manifest.
type File struct {
	Name          string `json:"name"`
	ParticipantID string `json:"participantId"`
	TrackID       string `json:"trackId"`
	Kind          string `json:"kind"`  // audio or video
	Codec         string `json:"codec"` // opus, vp8, vp9 or h264
	SHA256        string `json:"sha256"`
	Bytes         int64  `json:"bytes"`
	// StartOffsetMs is when the track's first packet arrived, from the
	// call's start: the file's time 0 on the call's timeline.
	StartOffsetMs int64 `json:"startOffsetMs"`
	// DurationMs is the media's duration from the file's time 0 to the
	// end of its last frame.
	DurationMs int64 `json:"durationMs"`
	// Frames counts video frames or audio packets written.
	Frames    int64 `json:"frames"`
	Keyframes int64 `json:"keyframes"`
	// Gaps counts the places where media is missing: runs of lost or
	// dropped packets and stream restarts.
	Gaps           int   `json:"gaps"`
	LostPackets    int64 `json:"lostPackets"`
	DroppedPackets int64 `json:"droppedPackets"` // refused on a full queue or by an aborted Close
	// Error is the write error that stopped the track, if any.
	Error string `json:"error,omitempty"`
}

// writeManifest writes m as indented JSON into dir atomically: a synced
// temporary file renamed over ManifestName, then the directory synced.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".manifest-*.tmp")
	if err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("recording: manifest: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("recording: manifest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	return nil
}

// HashFile returns the hex SHA-256 and the size of the file at path (the
// manifest's own hash, for instance). It stops when ctx ends.
func HashFile(ctx context.Context, path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		size += int64(n)
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), size, nil
		}
		if err != nil {
			return "", 0, err
		}
	}
}
