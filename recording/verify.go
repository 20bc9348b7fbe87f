package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// VerifyManifest reads dir's manifest and checks every file it names
// against its size and SHA-256. It returns the manifest, and an error
// naming the first file that is missing (ErrMissingFile) or differs
// (ErrHashMismatch), or ErrBadManifest when the manifest cannot be read or
// names anything but a plain file of dir.
func VerifyManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	for _, f := range m.Files {
		if !validFileName(f.Name) {
			return m, fmt.Errorf("%w: file name %q", ErrBadManifest, f.Name)
		}
	}
	for _, f := range m.Files {
		sum, size, err := HashFile(context.Background(), filepath.Join(dir, f.Name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return m, fmt.Errorf("%w: %s", ErrMissingFile, f.Name)
		case err != nil:
			return m, fmt.Errorf("recording: %s: %w", f.Name, err)
		case size != f.Bytes:
			return m, fmt.Errorf("%w: %s: %d bytes, manifest says %d", ErrHashMismatch, f.Name, size, f.Bytes)
		case sum != f.SHA256:
			return m, fmt.Errorf("%w: %s: SHA-256 %s, manifest says %s", ErrHashMismatch, f.Name, sum, f.SHA256)
		}
	}
	return m, nil
}
