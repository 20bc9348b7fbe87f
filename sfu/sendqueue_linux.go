package sfu

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/udpraw"
)

// sendQueueLen is how many datagrams a media socket holds back while its
// reader works through what it has read.
const sendQueueLen = 32

// sendQueue batches what a media socket sends while its reader holds it:
// from the datagram it read until the socket has no more to read (or the
// reader hands one to Pion), what is forwarded on the way (audio, video to
// a single subscriber: the fast path) is copied here and then sent with
// one system call, a subscriber's run of equal-sized packets (a video
// frame) as one UDP segmentation train (udpraw.Batch). A burst of packets
// read together thus costs the kernel one pass per subscriber and frame
// instead of one per packet, and the receiver one wake-up. Nothing waits
// longer than the reader takes to handle the burst it read with it; a
// datagram is never held once the reader sleeps. It matters on the UDP
// port every connection shares (Config.UDPPort), where what a publisher's
// packets are forwarded to leaves by the socket that read them; with a
// port per connection they leave by each subscriber's own socket, which
// nobody holds.
type sendQueue struct {
	mu      sync.Mutex
	holding bool
	n       int
	slab    []byte // sendQueueLen slots of maxPacket bytes, made on first hold
	batch   *udpraw.Batch
	v6      bool
	noGSO   bool

	// What was sent held back, for tests and figures.
	datagrams, messages atomic.Uint64
}

// hold makes writes queue until release.
func (q *sendQueue) hold() {
	q.mu.Lock()
	q.holding = true
	q.mu.Unlock()
}

// add queues p for ap when the queue is held, sending what is queued
// first when it is full; false when not held or p does not fit a slot
// (the caller sends it itself, after flushing). fd must stay open.
func (q *sendQueue) add(fd int, p []byte, ap netip.AddrPort) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.holding {
		return false
	}
	if len(p) > maxPacket || (!q.v6 && !ap.Addr().Unmap().Is4()) {
		q.flushLocked(fd)
		return false
	}
	if q.slab == nil {
		q.slab = make([]byte, sendQueueLen*maxPacket)
		q.batch = udpraw.NewBatch(q.v6, !q.noGSO, sendQueueLen, sendQueueLen)
	}
	if q.n == sendQueueLen {
		q.flushLocked(fd)
	}
	slot := q.slab[q.n*maxPacket : q.n*maxPacket+len(p)]
	copy(slot, p)
	if !q.batch.Add(slot, ap) {
		q.flushLocked(fd)
		slot = q.slab[:len(p)]
		copy(slot, p)
		q.batch.Add(slot, ap)
	}
	q.n++
	return true
}

// release sends what is queued and stops holding. fd must stay open.
func (q *sendQueue) release(fd int) {
	q.mu.Lock()
	q.flushLocked(fd)
	q.holding = false
	q.mu.Unlock()
}

// discard drops what is queued (the socket is closing) and stops holding.
func (q *sendQueue) discard() {
	q.mu.Lock()
	if q.batch != nil {
		q.batch.Reset()
	}
	q.n, q.holding = 0, false
	q.mu.Unlock()
}

// flushLocked sends what is queued; q.mu is held. A route that refuses
// segmentation trains turns them off for the socket, and the rest goes
// datagram by datagram. A datagram lost here is lost as on the network:
// the writer was told it was sent.
func (q *sendQueue) flushLocked(fd int) {
	if q.n == 0 {
		return
	}
	q.datagrams.Add(uint64(q.n))
	q.messages.Add(uint64(q.batch.Len()))
	unsent, err := q.batch.Send(fd)
	if errors.Is(err, udpraw.ErrNoGSO) {
		q.noGSO = true
		q.batch.SetGSO(false)
		_ = q.batch.Resend(fd, unsent)
	}
	q.n = 0
}
