package recording

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Writer timing: the queue is drained every DrainEvery (or earlier when
// it is half full), so a packet costs the forwarding path no goroutine
// wake-up (a media server shares one Pulse of DrainEvery among all its
// writers); missing packets are waited for up to reorderSpan of media.
const (
	DrainEvery       = 50 * time.Millisecond // a writer's drain period
	reorderSpan      = 500 * time.Millisecond
	reorderWindow    = 512         // packets
	keyframeInterval = time.Second // between key frame requests
	overflowReport   = 10 * time.Second
)

// writer is the state of one track's writer goroutine: reorder window,
// frame assembly, timeline and file.
type writer struct {
	t     *Track
	log   *slog.Logger
	f     *os.File
	mux   *muxer
	asm   assembler
	ro    reorder
	tl    timeline
	video bool
	emit  emitFunc

	ssrc       uint32
	started    bool
	needKey    bool // video: write nothing until a key frame
	keyAskedAt time.Time
	dead       bool // the file failed; packets are discarded

	overflowing bool
	overflowAt  time.Time
	seenDropped uint64
	aborted     int64

	// Results, read by the Call once done is closed.
	frames, keyframes int64
	skipped           int64 // whole frames not written: waiting for a key frame
	gaps              int
	lost              int64
	lastMs, prevMs    int64
	lastDurMs         float64
	durationMs        float64
	err               error
}

func newWriter(t *Track, f *os.File, log *slog.Logger) *writer {
	w := &writer{
		t:       t,
		log:     log,
		f:       f,
		mux:     newMuxer(f, t.codec),
		asm:     t.codec.newAssembler(),
		tl:      timeline{clock: int64(t.clock)},
		video:   t.codec.kind == KindVideo,
		needKey: t.codec.kind == KindVideo,
	}
	w.ro = newReorder(reorderWindow, uint32(w.tl.clock*reorderSpan.Milliseconds()/1000))
	w.emit = w.onPacket
	return w
}

// run drains the queue until stop, then finishes the file. After abort
// it drops what is still queued.
// It wakes on the shared pulse when there is one, else on a ticker of
// its own every period.
func (w *writer) run(every time.Duration, pulse *Pulse, stop, abort <-chan struct{}) {
	defer close(w.t.done)
	var tickC <-chan time.Time
	if pulse == nil {
		tick := time.NewTicker(every)
		defer tick.Stop()
		tickC = tick.C
	}
	for {
		var beat <-chan struct{}
		if pulse != nil {
			beat = pulse.next()
		}
		select {
		case <-tickC:
		case <-beat:
		case <-w.t.kick:
		case <-stop:
			w.drain(abort)
			w.finish()
			return
		}
		w.drain(abort)
	}
}

// drain processes the packets queued when it starts.
func (w *writer) drain(abort <-chan struct{}) {
	for range len(w.t.queue) {
		p := <-w.t.queue
		select {
		case <-abort:
			w.aborted++
			w.release(p.buf)
			continue
		default:
		}
		w.process(p)
	}
	w.checkDrops()
}

func (w *writer) release(b *payloadBuf) { w.t.call.bufs.Put(b) }

func (w *writer) process(p packet) {
	if w.dead {
		w.release(p.buf)
		return
	}
	if w.started && p.ssrc != w.ssrc {
		w.discontinuity()
	}
	w.ssrc, w.started = p.ssrc, true
	if !w.ro.push(p, w.emit) {
		w.release(p.buf)
	}
}

// discontinuity handles a new SSRC: the stream restarted with sequence
// numbers and timestamps of its own. It continues the file at the wall
// time elapsed since the track's first packet.
func (w *writer) discontinuity() {
	w.ro.flush(w.emit)
	w.gaps++
	w.needKey = w.video
	at := time.Since(w.t.firstAt()).Milliseconds()
	w.tl.restart(max(at, w.lastMs+1))
}

// onPacket takes each packet in sequence order.
func (w *writer) onPacket(p packet, lost int) {
	if lost > 0 {
		w.gaps++
		w.lost += int64(lost)
		w.needKey = w.needKey || w.video
		w.log.Debug("recording: packets lost", "file", w.t.name, "lost", lost)
	}
	w.tl.observe(p.ts)
	if len(p.buf.b) > 0 && !w.dead {
		f, ok := w.asm.push(p.buf.b, p.ts, p.marker, lost > 0)
		if w.asm.takeBroken() > 0 && w.video {
			w.needKey = true
		}
		if ok {
			w.write(f)
		}
	}
	w.release(p.buf)
}

// write puts a complete frame in the file.
func (w *writer) write(f frame) {
	if w.video && !f.key && (w.needKey || !w.mux.started) {
		w.skipped++
		w.askKeyframe()
		return
	}
	if !w.mux.started {
		info, ok := w.asm.describe(f)
		if !ok {
			w.skipped++
			w.askKeyframe()
			return
		}
		if err := w.mux.start(info, w.t.firstAt()); err != nil {
			w.failWrite(err)
			return
		}
	}
	w.needKey = false
	ms := max(w.tl.ms(f.ts), w.lastMs, 0)
	if err := w.mux.write(ms, f.key, f.data); err != nil {
		w.failWrite(err)
		return
	}
	w.frames++
	if f.key {
		w.keyframes++
	}
	w.prevMs, w.lastMs = w.lastMs, ms
	switch {
	case !w.video:
		w.lastDurMs = float64(opusSamples(f.data)) / 48
	case w.frames > 1:
		w.lastDurMs = float64(min(max(ms-w.prevMs, 1), 1000))
	default:
		// A first video frame lasts until the next; should none come
		// (a call cut short), give it the least duration, so that the
		// file's Duration still ends after its only block.
		w.lastDurMs = 1
	}
}

// askKeyframe asks the SFU for a key frame, at most once per
// keyframeInterval.
func (w *writer) askKeyframe() {
	ask := w.t.call.opts.RequestKeyframe
	if ask == nil || time.Since(w.keyAskedAt) < keyframeInterval {
		return
	}
	w.keyAskedAt = time.Now()
	ask(w.t.participantID, w.t.trackID)
}

// checkDrops reports packets refused on a full queue: once per episode
// of overflow, and again every overflowReport while it lasts.
func (w *writer) checkDrops() {
	d := w.t.dropped.Load()
	if d == w.seenDropped {
		w.overflowing = false
		return
	}
	n := d - w.seenDropped
	w.seenDropped = d
	w.needKey = w.needKey || w.video
	if !w.overflowing || time.Since(w.overflowAt) >= overflowReport {
		w.overflowAt = time.Now()
		w.t.call.fail(fmt.Errorf("%w: %s: %d packets (%d in all)", ErrQueueFull, w.t.name, n, d))
	}
	w.overflowing = true
}

func (w *writer) failWrite(err error) {
	w.dead = true
	if w.err == nil {
		w.err = err
		w.t.call.fail(fmt.Errorf("%w: %s: %w", ErrWrite, w.t.name, err))
	}
}

// finish emits what the reorder window holds, finalises and closes the
// file.
func (w *writer) finish() {
	w.checkDrops()
	w.ro.flush(w.emit)
	// Refused or aborted packets at the very end leave no hole in the
	// sequence numbers: count them as a gap of their own.
	if int64(w.seenDropped)+w.aborted > w.lost {
		w.gaps++
	}
	if w.frames > 0 {
		w.durationMs = float64(w.lastMs) + w.lastDurMs
	}
	if !w.dead && !w.mux.started {
		// Nothing was written: an empty file of the track's type.
		info := trackInfo{channels: 1}
		if !w.video {
			info.private = opusHead(1)
		}
		if err := w.mux.start(info, w.t.firstAt()); err != nil {
			w.failWrite(err)
		}
	}
	if !w.dead {
		if err := w.mux.finish(w.durationMs); err != nil {
			w.failWrite(err)
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.failWrite(err)
	}
}
