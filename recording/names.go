package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxNameBase is the longest participant part of a file name, in bytes.
const maxNameBase = 64

// safeBase turns a participant id into a file name part of ASCII letters,
// digits, '-' and '_' only (anything else becomes '_'), so that no id can
// name a path, a hidden file or a device.
func safeBase(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= maxNameBase {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "participant"
	}
	return b.String()
}

// createTrackFile creates <participant>-<kind>-<n><ext> in dir with the
// lowest n from 1 that no file of either extension has yet (in taken or
// on disk: an earlier session's files are never overwritten).
func createTrackFile(dir, participantID, kind, ext string, taken map[string]bool) (*os.File, string, error) {
	base := safeBase(participantID)
	for n := 1; n <= 10000; n++ {
		stem := fmt.Sprintf("%s-%s-%d", base, kind, n)
		if taken[stem] || exists(filepath.Join(dir, stem+".webm")) || exists(filepath.Join(dir, stem+".mkv")) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, stem+ext), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("recording: %w", err)
		}
		taken[stem] = true
		return f, stem + ext, nil
	}
	return nil, "", fmt.Errorf("recording: no free file name for %s %s in %s", base, kind, dir)
}

// exists reports whether path names anything.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// validFileName reports whether a manifest may name name: a plain file
// name in the directory, never a path.
func validFileName(name string) bool {
	return name != "" && name != "." && name != ".." && name != ManifestName &&
		!strings.ContainsAny(name, `/\`) && filepath.Base(name) == name && !strings.HasPrefix(name, ".")
}
