package sfu

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/udpraw"
)

// sendQueueLen is how many datagrams a media socket holds back while it
// is held (udpraw.MaxSegments: a frame to one subscriber fits a train).
const sendQueueLen = udpraw.MaxSegments

// sendHoldMax is the longest a datagram waits in a held queue: one added
// later first sends those queued. The bandwidth estimator takes a packet
// as sent when it is written, so a datagram held long would look delayed
// on the network: a key frame read slowly (a loaded machine) would then
// read as congestion, and the estimate fall. A frame's packets read at
// normal speed take a small part of it.
const sendHoldMax = time.Millisecond

// sendQueue batches what a media socket sends while bursts hold it
// (burst.go): a socket reader's, from the datagram it read until it has
// no more to read (or hands one to Pion), and a layer's goroutine's while
// it forwards what was handed to it (handoff.go). What is written
// meanwhile is copied here and then sent with one system call, each
// subscriber's run of equal-sized packets (a video frame) as one UDP
// segmentation train (udpraw.Batch). A burst thus costs the kernel one
// pass per subscriber and frame instead of one per packet, and the
// receiver one wake-up. Every release sends what is queued, so nothing
// waits longer than the burst of the holder that released it; a datagram
// is never held once nobody holds the socket. On the UDP port every
// connection shares (Config.UDPPort) every subscriber's packets leave by
// the port's sockets, so one message carries several subscribers'; with a
// port per connection and Config.BatchOwnSockets, each subscriber's own
// socket batches its own.
type sendQueue struct {
	mu    sync.Mutex
	holds int // holders now
	n     int
	first time.Time // when the oldest queued datagram was written
	slab  []byte    // sendQueueLen slots of maxPacket bytes, made on first hold
	batch *udpraw.Batch
	v6    bool

	// What was sent held back, for tests and figures.
	datagrams, messages atomic.Uint64
}

// hold makes writes queue until the matching release.
func (q *sendQueue) hold() {
	q.mu.Lock()
	q.holds++
	q.mu.Unlock()
}

// add queues p for ap when the queue is held, sending what is queued
// first when it is full or its oldest has waited sendHoldMax; false when
// not held or p does not fit a slot (the caller sends it itself, after
// flushing). fd must stay open.
func (q *sendQueue) add(fd int, p []byte, ap netip.AddrPort) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.holds == 0 {
		return false
	}
	if len(p) > maxPacket || (!q.v6 && !ap.Addr().Unmap().Is4()) {
		q.flushLocked(fd)
		return false
	}
	if q.slab == nil {
		q.slab = make([]byte, sendQueueLen*maxPacket)
		q.batch = udpraw.NewBatch(q.v6, true, sendQueueLen)
	}
	if q.n == sendQueueLen || (q.n > 0 && time.Since(q.first) > sendHoldMax) {
		q.flushLocked(fd)
	}
	if q.n == 0 {
		q.first = time.Now()
	}
	slot := q.slab[q.n*maxPacket : q.n*maxPacket+len(p)]
	copy(slot, p)
	q.batch.Add(slot, ap) // room: the batch holds as many as the slab
	q.n++
	return true
}

// release sends what is queued and ends one hold. fd must stay open.
func (q *sendQueue) release(fd int) {
	q.mu.Lock()
	q.flushLocked(fd)
	q.holds = max(q.holds-1, 0)
	q.mu.Unlock()
}

// discard drops what is queued and every hold (the socket is closing).
func (q *sendQueue) discard() {
	q.mu.Lock()
	if q.batch != nil {
		q.batch.Reset()
	}
	q.n, q.holds = 0, 0
	q.mu.Unlock()
}

// flushLocked sends what is queued; q.mu is held. A route that refuses
// segmentation trains has the batch send the rest datagram by datagram
// and turn trains off for good (udpraw.ErrNoGSO). A datagram lost here is
// lost as on the network: the writer was told it was sent.
func (q *sendQueue) flushLocked(fd int) {
	if q.n == 0 {
		return
	}
	q.datagrams.Add(uint64(q.n))
	msgs, _ := q.batch.Send(fd)
	q.messages.Add(uint64(msgs))
	q.n = 0
}
