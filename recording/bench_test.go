package recording

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// stream repeats packets as one endless stream: pass k continues the
// sequence numbers and shifts the timestamps by k times span.
type stream struct {
	pkts []*rtp.Packet
	span uint32
	i    int
	h    rtp.Header
}

func newStream(pkts []*rtp.Packet, frames int, samples uint32) *stream {
	return &stream{pkts: pkts, span: uint32(frames) * samples}
}

// next returns the next packet's header and payload.
func (s *stream) next() (*rtp.Header, []byte) {
	p := s.pkts[s.i%len(s.pkts)]
	pass := uint32(s.i / len(s.pkts))
	s.h = p.Header
	s.h.SequenceNumber = p.SequenceNumber + uint16(pass*uint32(len(s.pkts)))
	s.h.Timestamp = p.Timestamp + pass*s.span
	s.i++
	return &s.h, p.Payload
}

// benchTrack is a benchmark's recorded track. Every rotateEvery packets
// it is closed and removed and a new one opened, off the clock, so the
// files stay small however long the benchmark runs.
type benchTrack struct {
	b          *testing.B
	kind, mime string
	idle       bool // the writer goroutine never drains: the benchmark does
	c          *Call
	tr         *Track
	n          int
}

const rotateEvery = 1 << 16

func newBenchTrack(b *testing.B, kind, mimeType string, idle bool) *benchTrack {
	bt := &benchTrack{b: b, kind: kind, mime: mimeType, idle: idle}
	bt.open()
	return bt
}

func (bt *benchTrack) open() {
	c, err := NewCall(bt.b.TempDir(), "bench", time.Now(), Options{})
	if err != nil {
		bt.b.Fatal(err)
	}
	if bt.idle {
		c.every = time.Hour
	}
	if bt.tr, err = c.AddTrack("p", "t", bt.kind, bt.mime, 0); err != nil {
		bt.b.Fatal(err)
	}
	bt.c = c
}

// close closes the call and checks that everything was written.
func (bt *benchTrack) close() {
	if bt.idle {
		bt.tr.w.drain(nil)
	}
	closeCall(bt.b, bt.c)
	if w := bt.tr.w; w.frames == 0 || bt.tr.dropped.Load() > 0 || w.lost > 0 {
		bt.b.Fatalf("%d frames, %d dropped, %d lost", w.frames, bt.tr.dropped.Load(), w.lost)
	}
	if err := os.RemoveAll(bt.c.Dir()); err != nil {
		bt.b.Fatal(err)
	}
}

// write writes one packet, and rotates the call when it is time.
func (bt *benchTrack) write(h *rtp.Header, payload []byte) {
	bt.tr.Write(h, payload)
	bt.n++
	if bt.n%rotateEvery == 0 {
		bt.b.StopTimer()
		bt.close()
		bt.open()
		bt.b.StartTimer()
	}
}

// drained waits until the writer goroutine has taken everything queued.
func drained(tr *Track) {
	for len(tr.queue) > 0 {
		select {
		case tr.kick <- struct{}{}:
		default:
		}
		runtime.Gosched()
	}
}

// BenchmarkTrackWriteRTP is the cost of Track.Write on the forwarding
// path, for 1280x720 VP8 packets (about 1 kB each). "idle": the writer is
// not running meanwhile (how it is between its drains, 50 ms apart);
// "draining": the writer goroutine drains the same queue meanwhile
// (contention for the queue and the buffer pool). The writer catches up
// off the clock every few hundred packets, so none is dropped.
func BenchmarkTrackWriteRTP(b *testing.B) {
	clip := loadClip(b)
	vp, keys := vp8Packets(clip, 2, 1, 1)
	for _, idle := range []bool{true, false} {
		name := map[bool]string{true: "idle", false: "draining"}[idle]
		b.Run(name, func(b *testing.B) {
			bt := newBenchTrack(b, KindVideo, "video/VP8", idle)
			s := newStream(vp, len(keys), 3000)
			b.ReportAllocs()
			for b.Loop() {
				bt.write(s.next())
				if bt.n%256 == 0 {
					b.StopTimer()
					if idle {
						bt.tr.w.drain(nil)
					} else {
						drained(bt.tr)
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			bt.close()
		})
	}
}

// benchRecord measures recording end to end, per packet, on one
// goroutine and on the clock: Track.Write, and the writer's work
// (reorder, depacketize, assemble, mux, file writes) done inline every 64
// packets.
func benchRecord(b *testing.B, kind, mimeType string, pkts []*rtp.Packet, frames int, samples uint32) {
	bt := newBenchTrack(b, kind, mimeType, true)
	s := newStream(pkts, frames, samples)
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		h, payload := s.next()
		bytes += int64(len(payload))
		bt.write(h, payload)
		if bt.n%64 == 0 {
			bt.tr.w.drain(nil)
		}
	}
	bt.tr.w.drain(nil)
	b.StopTimer()
	b.SetBytes(bytes / int64(b.N))
	bt.close()
}

// BenchmarkRecordVP8 records the clip's 1280x720 VP8 layer.
func BenchmarkRecordVP8(b *testing.B) {
	clip := loadClip(b)
	vp, keys := vp8Packets(clip, 2, 1, 1)
	benchRecord(b, KindVideo, "video/VP8", vp, len(keys), 3000)
}

// BenchmarkRecordOpus records the clip's Opus audio.
func BenchmarkRecordOpus(b *testing.B) {
	clip := loadClip(b)
	benchRecord(b, KindAudio, "audio/opus", opusPackets(clip, 1, 1), len(clip.Audio), 960)
}
