package recording

import "errors"

// Errors of the package. Failures reported through Options.OnFailure and
// Call.Failed wrap ErrQueueFull, ErrWrite or ErrIncomplete.
var (
	// ErrClosed: the call is closed (or closing).
	ErrClosed = errors.New("recording: call closed")
	// ErrExists: the directory already holds a finished recording.
	ErrExists = errors.New("recording: directory already holds a manifest")
	// ErrUnsupportedCodec: no container mapping for the track's codec.
	ErrUnsupportedCodec = errors.New("recording: unsupported codec")
	// ErrQueueFull: a track's queue was full and packets were dropped.
	ErrQueueFull = errors.New("recording: queue full, packets dropped")
	// ErrWrite: a file could not be written; its track stopped recording.
	ErrWrite = errors.New("recording: write failed")
	// ErrIncomplete: Close ran out of time before the files were final.
	ErrIncomplete = errors.New("recording: not finalised in time")
	// ErrHashMismatch: a file's size or SHA-256 differs from the manifest.
	ErrHashMismatch = errors.New("recording: file does not match the manifest")
	// ErrMissingFile: a file named in the manifest is missing.
	ErrMissingFile = errors.New("recording: file missing")
	// ErrBadManifest: the manifest cannot be read or names an unsafe file.
	ErrBadManifest = errors.New("recording: bad manifest")
	// ErrBadContainer: Inspect could not read the file as WebM/Matroska.
	ErrBadContainer = errors.New("recording: bad container")
)
