package sfu

import (
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4/packetio"
)

// The receive fast path. Pion hands each received packet from goroutine to
// goroutine: the ICE socket's reader, the DTLS/SRTP demultiplexer, the SRTP
// session's reader (which decrypts), and the track's reader, which forwards
// it. On a media server most of the CPU then goes to the wake-ups, not to
// the packets. A publisher connection's fast path removes the first two
// hand-offs, and the third: its sockets' reader (Pion's ICE goroutine,
// reading through fastConn) decrypts an SRTP packet of a stream we already
// forward with the connection's own keys (srtpkeys.go) and writes it into
// that stream's SRTP read buffer, an inlineBuffer, which reads it at once
// through the track's interceptors (NACK generation, receiver reports,
// transport-wide feedback, whose arrival times are then the socket's)
// before the reader takes the next datagram. Audio is forwarded there too,
// and so is video while its track has one subscriber; for more, the
// layer's own goroutine forwards it (handoff.go), so that forwarding a key
// frame to every subscriber holds up neither the audio nor the other
// layers. On a UDP port
// every connection shares (Config.UDPPort), the port's reader (Pion's ICE
// mux) hands each datagram to the fast path of the stream whose SSRC it
// carries (fastpaths.go).
//
// Pion keeps everything else: STUN, DTLS, RTCP, retransmissions on RTX
// streams, and the first packets of each stream (from which it learns the
// stream and fires OnTrack), until the layer's reader attaches to the
// stream's buffer. If the connection's first packets do not decrypt, they
// go to Pion and the fast path turns itself off. Once one has decrypted,
// the fast path drops what does not: a forgery, or a replay (it keeps a
// replay window, which Pion's own path does not; Pion also checks a
// datagram's source against the ICE candidates, which the fast path leaves
// to the SRTP authentication and the replay window).

// Buffer limits, as Pion's own.
const (
	rtpBufferLimit  = 1000 * 1000
	rtcpBufferLimit = 100 * 1000
)

// fastFailLimit is how many packets may fail to decrypt before the first
// success turns the fast path off for the connection.
const fastFailLimit = 3

// replayWindow is how many packets back the fast path still takes a packet
// it has not seen (a late retransmission on the stream itself), and
// refuses one it has.
const replayWindow = 1024

// fastPath is the receive fast path of one publisher connection.
type fastPath struct {
	log    *slog.Logger
	keys   srtpKeys
	shared *fastPaths // the shared UDP port's router, if the connection is on it

	mu       sync.Mutex
	pending  map[uint32]*inlineBuffer // made by Pion's SRTP session, no reader yet
	attached map[uint32]*inlineBuffer // the fast path decrypts for these, read inline

	// screen tells which streams Pion must not be shown (repair.go),
	// replaced at each negotiation; onRefuse is told of each stream
	// refused (set before use).
	screen   atomic.Pointer[repairRules]
	onRefuse func()

	decMu sync.Mutex // the socket readers decrypt one at a time
	ctx   *srtp.Context
	off   bool
	ok    bool // a packet has decrypted
	fails int
	hdr   rtp.Header
	plain []byte
	taken atomic.Uint64 // packets the fast path carried
}

func newFastPath(log *slog.Logger, shared *fastPaths) *fastPath {
	return &fastPath{
		log:      log,
		shared:   shared,
		pending:  make(map[uint32]*inlineBuffer),
		attached: make(map[uint32]*inlineBuffer),
		plain:    make([]byte, maxPacket),
	}
}

// buffer is the connection's webrtc.SettingEngine.BufferFactory.
func (f *fastPath) buffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	b := packetio.NewBuffer()
	if kind != packetio.RTPBufferPacket {
		b.SetLimitSize(rtcpBufferLimit)
		return b
	}
	b.SetLimitSize(rtpBufferLimit)
	in := &inlineBuffer{Buffer: b, closed: make(chan struct{})}
	in.refuse = func(p []byte) bool {
		if !f.screen.Load().refuses(ssrc, p) {
			return false
		}
		if f.onRefuse != nil {
			f.onRefuse()
		}
		f.log.Warn("publisher stream refused", "ssrc", ssrc, "err", errUnmarkedRepair)
		return true
	}
	f.mu.Lock()
	// Bounded: one per SSRC the connection receives, removed when the
	// stream closes. A new stream of an SSRC replaces the old at once:
	// what arrives now is the new stream's, for Pion until its reader
	// attaches.
	f.pending[ssrc] = in
	f.detach(ssrc)
	f.mu.Unlock()
	in.forget = func() {
		f.mu.Lock()
		if f.pending[ssrc] == in {
			delete(f.pending, ssrc)
		}
		if f.attached[ssrc] == in {
			f.detach(ssrc)
		}
		f.mu.Unlock()
	}
	return in
}

// attach hands ssrc's stream to the fast path, read inline
// (inlineBuffer.attach): readOne runs on the goroutine that decrypts.
// attach returns a channel closed when the stream closes, or nil when the
// connection made no such buffer (its fast path is off): the stream's
// own reader then reads it.
func (f *fastPath) attach(ssrc uint32, readOne func(*burst) bool) <-chan struct{} {
	f.mu.Lock()
	b := f.pending[ssrc]
	delete(f.pending, ssrc)
	f.mu.Unlock()
	if b == nil {
		return nil
	}
	closed := b.attach(readOne)
	f.mu.Lock()
	select {
	case <-b.closed:
	default:
		f.attached[ssrc] = b
		if f.shared != nil {
			f.shared.claim(ssrc, f)
		}
	}
	f.mu.Unlock()
	return closed
}

// detach takes ssrc's stream off the fast path; f.mu is held.
func (f *fastPath) detach(ssrc uint32) {
	if _, ok := f.attached[ssrc]; !ok {
		return
	}
	delete(f.attached, ssrc)
	if f.shared != nil {
		f.shared.release(ssrc, f)
	}
}

// count is how many packets the fast path carried; 0 when it is off.
func (f *fastPath) count() uint64 {
	if f == nil {
		return 0
	}
	return f.taken.Load()
}

// take handles one datagram read from the connection's socket: true when
// it was an SRTP packet of an attached stream, decrypted, written to the
// stream's buffer and read from it (audio, and video to a single
// subscriber, also forwarded, in burst bu), or dropped as a forgery or
// replay; false leaves it to Pion.
func (f *fastPath) take(p []byte, bu *burst) bool {
	if f == nil {
		return false
	}
	ssrc, ok := rtpSSRC(p)
	if !ok {
		return false
	}
	f.mu.Lock()
	in := f.attached[ssrc]
	f.mu.Unlock()
	if in == nil {
		return false
	}
	f.decMu.Lock()
	defer f.decMu.Unlock()
	if f.off {
		return false
	}
	if f.ctx == nil {
		ctx, err := f.keys.remoteContext()
		if err != nil {
			f.off = true
			f.log.Warn("media fast path off: no srtp keys", "err", err)
			return false
		}
		f.ctx = ctx
	}
	plain, err := f.ctx.DecryptRTP(f.plain, p, &f.hdr)
	if err != nil {
		if f.ok {
			// A forgery, a replay or a packet older than the replay
			// window: dropped, as Pion would. (Handing it to Pion would
			// not help: its context has not followed the stream.)
			return true
		}
		if f.fails++; f.fails >= fastFailLimit {
			f.off = true
			f.log.Warn("media fast path off: packets do not decrypt", "err", err)
		}
		return false
	}
	f.ok = true
	f.taken.Add(1)
	_, _ = in.write(plain, bu)
	return true
}

// rtpSSRC returns the SSRC of an RTP packet; false for anything else
// (RTCP: RFC 5761, payload types 64-95 with the marker bit).
func rtpSSRC(p []byte) (uint32, bool) {
	if len(p) < 12 || p[0]&0xc0 != 0x80 || (p[1] >= 192 && p[1] <= 223) {
		return 0, false
	}
	return binary.BigEndian.Uint32(p[8:12]), true
}

// inlineBuffer is a stream's SRTP read buffer (a packetio.Buffer) that,
// once a reader is attached, has whoever writes to it (the fast path, or
// Pion's SRTP session for packets already on their way) drain it through
// the reader.
type inlineBuffer struct {
	*packetio.Buffer
	forget    func()
	closeOnce sync.Once
	closed    chan struct{}

	// refuse screens the stream's first packet (repair.go): true closes
	// the stream before Pion learns of it.
	refuse func(p []byte) bool

	mu    sync.Mutex
	drain func(*burst)
	seen  bool // a packet was written

	readMu sync.Mutex // one drain at a time
}

// Write buffers p and, when a reader is attached, drains the buffer
// through it on the calling goroutine. A stream whose first packet is
// refused is closed.
func (b *inlineBuffer) Write(p []byte) (int, error) { return b.write(p, nil) }

// write is Write, what the reader forwards sent in burst bu.
func (b *inlineBuffer) write(p []byte, bu *burst) (int, error) {
	b.mu.Lock()
	first := !b.seen
	b.seen = true
	b.mu.Unlock()
	if first && b.refuse != nil && b.refuse(p) {
		_ = b.Close()
		return 0, errUnmarkedRepair
	}
	n, err := b.Buffer.Write(p)
	if err != nil {
		return n, err
	}
	b.mu.Lock()
	drain := b.drain
	b.mu.Unlock()
	if drain != nil {
		b.readMu.Lock()
		drain(bu)
		b.readMu.Unlock()
	}
	return n, nil
}

// attach makes readOne the buffer's reader: it is called on the writer's
// goroutine while the buffer holds data, and must read one packet through
// the track (which ends up in Read) and handle it, forwarding in the
// writer's burst, reporting false when the track has ended. attach drains
// what is already buffered, then returns a channel closed when the stream
// closes.
func (b *inlineBuffer) attach(readOne func(*burst) bool) <-chan struct{} {
	ended := false
	drain := func(bu *burst) {
		for !ended && b.Buffer.Size() > 0 {
			if !readOne(bu) {
				ended = true
			}
		}
	}
	b.readMu.Lock()
	b.mu.Lock()
	b.drain = drain
	b.mu.Unlock()
	drain(nil)
	b.readMu.Unlock()
	return b.closed
}

// Close closes the buffer and tells the attached reader.
func (b *inlineBuffer) Close() error {
	b.closeOnce.Do(func() {
		close(b.closed)
		b.forget()
	})
	return b.Buffer.Close()
}
