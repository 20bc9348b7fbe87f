package sfu

import (
	"io"
	"sync"

	"github.com/pion/transport/v4/packetio"
)

// Inline forwarding. Pion's receive path hands each packet from goroutine
// to goroutine: the ICE socket's reader, the DTLS/SRTP demultiplexer, the
// SRTP session's reader (which decrypts), and finally the track's reader,
// which forwards it. Every hand-off is a wake-up, and on a busy server
// most of the CPU goes to them rather than to the packets. The last one is
// removed here: each publisher connection's SRTP read buffers are
// inlineBuffers, and once a layer's reader has attached to its buffer, the
// SRTP session's goroutine itself reads each packet it writes through the
// track's interceptors (NACK generation, receiver reports, transport-wide
// feedback) and forwards it, before it reads the next from the network.

// Buffer limits, as Pion's own.
const (
	rtpBufferLimit  = 1000 * 1000
	rtcpBufferLimit = 100 * 1000
)

// inlineBuffers makes the SRTP read buffers of one publisher connection and
// keeps its RTP ones by SSRC until a layer's reader attaches.
type inlineBuffers struct {
	mu     sync.Mutex
	bySSRC map[uint32]*inlineBuffer
}

func newInlineBuffers() *inlineBuffers {
	return &inlineBuffers{bySSRC: make(map[uint32]*inlineBuffer)}
}

// factory is the connection's webrtc.SettingEngine.BufferFactory.
func (ib *inlineBuffers) factory(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	b := packetio.NewBuffer()
	if kind != packetio.RTPBufferPacket {
		b.SetLimitSize(rtcpBufferLimit)
		return b
	}
	b.SetLimitSize(rtpBufferLimit)
	in := &inlineBuffer{Buffer: b, closed: make(chan struct{})}
	ib.mu.Lock()
	// Bounded: one per SSRC the connection receives, removed when the
	// stream closes or is taken.
	ib.bySSRC[ssrc] = in
	ib.mu.Unlock()
	in.forget = func() {
		ib.mu.Lock()
		if ib.bySSRC[ssrc] == in {
			delete(ib.bySSRC, ssrc)
		}
		ib.mu.Unlock()
	}
	return in
}

// take returns the RTP buffer of ssrc for a reader to attach to, or nil.
func (ib *inlineBuffers) take(ssrc uint32) *inlineBuffer {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	b := ib.bySSRC[ssrc]
	delete(ib.bySSRC, ssrc)
	return b
}

// inlineBuffer is a packetio.Buffer that, once attached, has the writer
// (the SRTP session's goroutine) drain it through the attached reader.
type inlineBuffer struct {
	*packetio.Buffer
	forget    func()
	closeOnce sync.Once
	closed    chan struct{}

	mu    sync.Mutex
	drain func()

	readMu sync.Mutex // one drain at a time: the writer's, or the attach's
}

// Write buffers p and, when a reader is attached, drains the buffer
// through it on the calling goroutine.
func (b *inlineBuffer) Write(p []byte) (int, error) {
	n, err := b.Buffer.Write(p)
	if err != nil {
		return n, err
	}
	b.mu.Lock()
	drain := b.drain
	b.mu.Unlock()
	if drain != nil {
		b.readMu.Lock()
		drain()
		b.readMu.Unlock()
	}
	return n, nil
}

// attach makes readOne the buffer's reader: it is called on the writer's
// goroutine while the buffer holds data, and must read one packet through
// the track (which ends up in Read) and handle it, reporting false when
// the track has ended. attach drains what is already buffered, then
// returns a channel closed when the stream closes.
func (b *inlineBuffer) attach(readOne func() bool) <-chan struct{} {
	ended := false
	drain := func() {
		for !ended && b.Buffer.Size() > 0 {
			if !readOne() {
				ended = true
			}
		}
	}
	b.readMu.Lock()
	b.mu.Lock()
	b.drain = drain
	b.mu.Unlock()
	drain()
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
