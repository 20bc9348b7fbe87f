package sfu

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/recording"
)

// ErrNoRecordingDir is returned when a room is asked to record and the
// media server has nowhere to write.
var ErrNoRecordingDir = errors.New("sfu: no recordings directory configured")

// recordingCloseTimeout bounds flushing and hashing a call's recordings.
const recordingCloseTimeout = 30 * time.Second

// RecordingEvents is told about each room's recording. Its methods must not
// block for long: they run on the room's goroutines.
type RecordingEvents interface {
	// RecordingStarted: the room records into dir from at.
	RecordingStarted(roomID, dir string, at time.Time)
	// RecordingFailed: the recording lost media or could not be written.
	// It is an alarm; the recording goes on where it can.
	RecordingFailed(roomID string, err error)
	// RecordingFinished: the call ended and the manifest is written.
	RecordingFinished(roomID string, m recording.Manifest)
}

// roomRecorder records every track of a room, each into its own file, from
// the first packet to the end of the call: the audio, and the video as the
// participants see it (the highest simulcast layer any of them is given,
// spliced into one stream at key frames), so that recording never asks a
// publisher for a layer nobody else receives.
type roomRecorder struct {
	room *Room
	call *recording.Call
	dir  string

	mu     sync.Mutex
	tracks []*upTrack
	done   bool

	alarms sync.WaitGroup // failure reports in flight
}

// trackRecorder feeds one track to its file, following the layer it is
// told to record.
type trackRecorder struct {
	w *recording.Track

	mu     sync.Mutex
	splice        // the layer recorded now, and the file's numbering
	target int    // the layer to record; switched to on its key frame
	ssrc   uint32 // the file's one SSRC (the first layer's)
	out    rtp.Header
}

func newTrackRecorder(w *recording.Track, layer int, clock uint32) *trackRecorder {
	return &trackRecorder{w: w, splice: splice{current: layer, clock: clock}, target: layer}
}

// write records one packet of layer q (its payload without padding;
// padding-only packets too, so that their sequence numbers are not taken
// for loss) if it belongs to the recorded stream; it copies what it keeps
// and never blocks.
func (tr *trackRecorder) write(q int, h *rtp.Header, payload []byte, keyframe bool, now int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	seq, ts, _, ok := tr.take(q, tr.target, h, keyframe, false, now)
	if !ok {
		return
	}
	if tr.ssrc == 0 {
		tr.ssrc = h.SSRC
	}
	o := &tr.out
	o.Version, o.Padding, o.Marker, o.PayloadType = 2, h.Padding, h.Marker, h.PayloadType
	o.SequenceNumber, o.Timestamp, o.SSRC = seq, ts, tr.ssrc
	tr.w.Write(o, payload)
}

// layers returns the layer recorded now and the one to record.
func (tr *trackRecorder) layers() (current, target int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.current, tr.target
}

// follow sets the layer to record; it reports whether that changed.
func (tr *trackRecorder) follow(q int) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if q == tr.target {
		return false
	}
	tr.target = q
	return true
}

// recordedLayer returns the layer the recorder wants, or -1.
func (t *upTrack) recordedLayer() int {
	if tr := t.rec.Load(); tr != nil {
		_, target := tr.layers()
		return target
	}
	return -1
}

// viewersLayer returns the highest layer any participant (monitors aside)
// is given of t, or layerPause.
func (t *upTrack) viewersLayer() int {
	best := layerPause
	for _, d := range *t.downs.Load() {
		if _, target, _, _ := d.layerState(); !d.sub.hidden && target > best {
			best = target
		}
	}
	return best
}

// followViewers points a simulcast track's recorder at the highest layer
// any participant is given (monitors aside), and asks for its key frame
// when that changes; with nobody watching it keeps its layer. It returns
// the layers the recorder needs kept on.
func (t *upTrack) followViewers() (current, target int) {
	tr := t.rec.Load()
	if tr == nil {
		return layerPause, layerPause
	}
	if t.simulcast {
		if best := t.viewersLayer(); best != layerPause && tr.follow(best) {
			t.requestKeyframe(best, false)
		}
	}
	current, target = tr.layers()
	if current != target {
		t.requestKeyframe(target, false) // throttled
	}
	return current, target
}

// StartRecording records the room from now to its end, asked by actor. A
// legal call is refused with ErrLegalPrivilege and the refusal audited; no
// file is created. Starting twice is harmless.
func (r *Room) StartRecording(actor string) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return ErrClosed
	case r.policy.Legal:
		r.mu.Unlock()
		return r.refusePrivileged(actor, "recorder")
	case r.rec != nil:
		r.mu.Unlock()
		return nil
	}
	root := r.sfu.cfg.RecordingsDir
	if root == "" {
		r.mu.Unlock()
		r.recordingFailed(ErrNoRecordingDir)
		return ErrNoRecordingDir
	}
	rec := &roomRecorder{room: r, dir: filepath.Join(root, r.id)}
	now := time.Now()
	call, err := recording.NewCall(rec.dir, r.id, now, recording.Options{Log: r.log, OnFailure: rec.failed,
		RequestKeyframe: rec.requestKeyframe, Pulse: r.sfu.recordingPulse()})
	if err != nil {
		r.mu.Unlock()
		err = fmt.Errorf("start recording: %w", err)
		r.recordingFailed(err)
		return err
	}
	rec.call = call
	r.rec = rec
	var tracks []*upTrack
	for _, p := range r.participants {
		tracks = append(tracks, p.published...)
	}
	r.mu.Unlock()
	r.log.Info("recording", "dir", rec.dir, "actor", actor)
	if ev := r.sfu.cfg.RecordingEvents; ev != nil {
		ev.RecordingStarted(r.id, rec.dir, now)
	}
	for _, t := range tracks {
		rec.add(t)
	}
	return nil
}

// RecordingError returns the first failure of the room's recording, or nil.
func (r *Room) RecordingError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recErr
}

// Recording reports whether the room is being recorded.
func (r *Room) Recording() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec != nil
}

// add starts recording track t.
func (rec *roomRecorder) add(t *upTrack) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done || t.rec.Load() != nil {
		return
	}
	layer := 0
	if t.kind == webrtc.RTPCodecTypeVideo && t.simulcast {
		// Start with what participants are given, else the lowest
		// layer offered: followViewers moves it from there.
		layer = t.viewersLayer()
		if layer == layerPause {
			layer = t.qualities()[0]
		}
	}
	w, err := rec.call.AddTrack(t.owner.id, t.trackID, t.kind.String(), t.codec.MimeType, t.codec.ClockRate)
	if err != nil {
		rec.failedLocked(fmt.Errorf("record %s: %w", t.id, err))
		return
	}
	t.rec.Store(newTrackRecorder(w, layer, t.codec.ClockRate))
	rec.tracks = append(rec.tracks, t)
	rec.room.sfu.media.RecordedTracks.Inc()
	t.requestKeyframe(layer, true) // a recording starts on a key frame
}

// forget drops the tracks of p, who left: they get no more packets, and
// the recorder must not keep them, and with them p's connections and
// packet caches, until the call ends. Their files stay in the call until
// it finishes.
func (rec *roomRecorder) forget(p *Participant) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return // finish let go of every track
	}
	kept := rec.tracks[:0]
	for _, t := range rec.tracks {
		if t.owner != p {
			kept = append(kept, t)
			continue
		}
		t.rec.Store(nil)
		rec.room.sfu.media.RecordedTracks.Dec()
	}
	clear(rec.tracks[len(kept):])
	rec.tracks = kept
}

// requestKeyframe asks a recorded track's publisher for a key frame of the
// recorded layer (the recorder lost video and waits for one).
func (rec *roomRecorder) requestKeyframe(participantID, trackID string) {
	rec.mu.Lock()
	var found *upTrack
	for _, t := range rec.tracks {
		if t.owner.id == participantID && t.trackID == trackID {
			found = t
		}
	}
	rec.mu.Unlock()
	if found != nil {
		if q := found.recordedLayer(); q >= 0 {
			found.requestKeyframe(q, false)
		}
	}
}

// finish stops recording, closes the files and writes the manifest.
func (rec *roomRecorder) finish() {
	rec.mu.Lock()
	if rec.done {
		rec.mu.Unlock()
		return
	}
	rec.done = true
	for _, t := range rec.tracks {
		t.rec.Store(nil)
	}
	rec.room.sfu.media.RecordedTracks.Sub(float64(len(rec.tracks)))
	rec.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), recordingCloseTimeout)
	defer cancel()
	m, err := rec.call.Close(ctx)
	rec.alarms.Wait()
	r := rec.room
	if err != nil {
		r.recordingFailed(fmt.Errorf("finish recording: %w", err))
		return
	}
	r.log.Info("recording finished", "dir", rec.dir, "files", len(m.Files))
	if ev := r.sfu.cfg.RecordingEvents; ev != nil {
		ev.RecordingFinished(r.id, m)
	}
}

// failed is the recording's failure callback: it must not block, so the
// alarm is raised on a goroutine finish waits for.
func (rec *roomRecorder) failed(err error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.failedLocked(err)
}

func (rec *roomRecorder) failedLocked(err error) {
	if rec.done {
		rec.room.recordingFailed(err) // finish is on the way: report in line
		return
	}
	rec.alarms.Add(1)
	go func() {
		defer rec.alarms.Done()
		rec.room.recordingFailed(err)
	}()
}

// recordingFailed raises the alarm: metric, log, audit and the room's
// recording events.
func (r *Room) recordingFailed(err error) {
	r.mu.Lock()
	if r.recErr == nil {
		r.recErr = err
	}
	r.mu.Unlock()
	r.sfu.media.RecordingFailures.Inc()
	r.log.Error("RECORDING FAILURE", "err", err)
	r.audit(systemActor, "recording.failed", map[string]any{"room": r.id, "error": err.Error()})
	if ev := r.sfu.cfg.RecordingEvents; ev != nil {
		ev.RecordingFailed(r.id, err)
	}
}

// recordingPulse returns the drain clock all the server's recorders share
// (one wake-up a period for every recorded track, not one per track),
// starting it on first use; nil once the server is closed.
func (s *SFU) recordingPulse() *recording.Pulse {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pulse == nil && !s.closed {
		s.pulse = recording.NewPulse(recording.DrainEvery)
	}
	return s.pulse
}
