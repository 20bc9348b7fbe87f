package recording

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recordAudio records the clip's audio for two participants and returns
// the directory and manifest.
func recordAudio(t *testing.T) (string, Manifest) {
	t.Helper()
	clip := loadClip(t)
	dir := t.TempDir()
	c, err := NewCall(dir, "9", time.Now(), Options{QueueLen: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"prisoner:1", "visitor:2"} {
		tr, err := c.AddTrack(id, "mic", KindAudio, "audio/opus", 48000)
		if err != nil {
			t.Fatal(err)
		}
		feed(tr, opusPackets(clip, 1, 1))
	}
	return dir, closeCall(t, c)
}

// VerifyManifest passes on untouched files and names the file after one
// byte of it changes, or when it is missing.
func TestVerifyManifest(t *testing.T) {
	dir, m := recordAudio(t)
	if got, err := VerifyManifest(dir); err != nil || len(got.Files) != 2 {
		t.Fatalf("untouched: %+v %v", got, err)
	}
	victim := m.Files[1].Name
	path := filepath.Join(dir, victim)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyManifest(dir)
	if !errors.Is(err, ErrHashMismatch) || !strings.Contains(err.Error(), victim) || strings.Contains(err.Error(), m.Files[0].Name) {
		t.Errorf("after a flipped byte in %s: %v", victim, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyManifest(dir); !errors.Is(err, ErrMissingFile) || !strings.Contains(err.Error(), victim) {
		t.Errorf("after removing %s: %v", victim, err)
	}
}

// A manifest that names anything but a plain file of its directory is
// refused before any file is read.
func TestVerifyManifestRefusesPaths(t *testing.T) {
	dir, m := recordAudio(t)
	for _, name := range []string{"../escape.webm", "/etc/passwd", "a/b.webm", "..", ".hidden", ManifestName, ""} {
		bad := m
		bad.Files = append([]File{}, m.Files...)
		bad.Files[0].Name = name
		b, _ := json.Marshal(bad)
		if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyManifest(dir); !errors.Is(err, ErrBadManifest) {
			t.Errorf("file name %q: %v", name, err)
		}
	}
}

// A directory with a finished recording is never recorded into again.
func TestNewCallRefusesFinishedRecording(t *testing.T) {
	dir, _ := recordAudio(t)
	if _, err := NewCall(dir, "9", time.Now(), Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("NewCall on a finished recording: %v", err)
	}
}
