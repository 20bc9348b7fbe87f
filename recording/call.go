package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultQueueLen is the per-track queue length when Options.QueueLen is
// 0: about two seconds of a 720p VP8 layer, ten of Opus.
const DefaultQueueLen = 512

// Options configure a Call.
type Options struct {
	// Log receives the recorder's messages; nil discards them.
	Log *slog.Logger
	// OnFailure is called once per failure (ErrQueueFull, ErrWrite,
	// ErrIncomplete), from the recorder's goroutines or Close, never from
	// Write. It must return promptly: it is meant to raise the alarm.
	OnFailure func(err error)
	// RequestKeyframe, when set, is called (from a writer goroutine, at
	// most once a second per track) while a video track waits for a key
	// frame: at its start and after a loss. It must not block.
	RequestKeyframe func(participantID, trackID string)
	// QueueLen bounds each track's queue, in packets; 0 means
	// DefaultQueueLen.
	QueueLen int
	// Pulse, when set, is the drain clock of the call's writers (shared
	// with other calls, see Pulse); nil gives each writer a ticker of
	// DrainEvery.
	Pulse *Pulse
}

// Call records the tracks of one call into one directory. Its methods are
// safe for concurrent use.
type Call struct {
	dir   string
	id    string
	start time.Time
	opts  Options
	log   *slog.Logger
	every time.Duration // writer drain interval

	bufs  sync.Pool // *payloadBuf, shared by the call's tracks
	stop  chan struct{}
	abort chan struct{}

	mu      sync.Mutex
	tracks  []*Track
	taken   map[string]bool
	closing bool
	endedAt time.Time
	aborted bool

	finMu    sync.Mutex // one finalisation at a time
	manifest *Manifest

	failMu sync.Mutex
	failed error
}

// NewCall starts the recording of call callID, which started at start,
// into dir (created with mode 0700 when missing). A dir that already holds
// a manifest is refused with ErrExists: a finished recording is never
// added to.
func NewCall(dir, callID string, start time.Time, opts Options) (*Call, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Call{
		dir:   dir,
		id:    callID,
		start: start,
		opts:  opts,
		log:   log.With("call", callID),
		every: DrainEvery,
		stop:  make(chan struct{}),
		abort: make(chan struct{}),
		taken: map[string]bool{},
	}
	c.bufs.New = func() any { return &payloadBuf{b: make([]byte, 0, 1500)} }
	return c, nil
}

// Dir returns the call's directory.
func (c *Call) Dir() string { return c.dir }

// AddTrack opens the file of a newly published track and starts its
// writer. kind is "audio" or "video"; mimeType is the codec as Pion names
// it (audio/opus, video/VP8, video/VP9, video/H264), anything else is
// ErrUnsupportedCodec; clockRate 0 means the codec's usual rate.
func (c *Call) AddTrack(participantID, trackID, kind, mimeType string, clockRate uint32) (*Track, error) {
	cd, ok := codecFor(mimeType)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mimeType)
	}
	if kind != cd.kind {
		return nil, fmt.Errorf("%w: %s is not %s", ErrUnsupportedCodec, mimeType, kind)
	}
	if clockRate == 0 {
		clockRate = cd.clock
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil, ErrClosed
	}
	f, name, err := createTrackFile(c.dir, participantID, kind, cd.ext, c.taken)
	if err != nil {
		return nil, err
	}
	t := &Track{
		call:          c,
		participantID: participantID,
		trackID:       trackID,
		name:          name,
		codec:         cd,
		clock:         clockRate,
		queue:         make(chan packet, c.opts.QueueLen),
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	t.w = newWriter(t, f, c.log)
	c.tracks = append(c.tracks, t)
	go t.w.run(c.every, c.opts.Pulse, c.stop, c.abort)
	c.log.Info("recording track", "file", name, "participant", participantID, "codec", cd.name)
	return t, nil
}

// Failed returns the first failure of the recording, or nil.
func (c *Call) Failed() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.failed
}

// fail records and reports a failure.
func (c *Call) fail(err error) {
	c.failMu.Lock()
	if c.failed == nil {
		c.failed = err
	}
	c.failMu.Unlock()
	c.log.Error("recording failure", "err", err)
	if c.opts.OnFailure != nil {
		c.opts.OnFailure(err)
	}
}
