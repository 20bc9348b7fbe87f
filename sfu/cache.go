package sfu

import "sync"

// maxPacket is the largest RTP packet the media server keeps or forwards.
const maxPacket = 1500

// packetCache keeps the last packets of one incoming stream, as received,
// so that a subscriber's NACK can be answered without asking the
// publisher. Its storage is allocated once; put and get copy.
type packetCache struct {
	mu   sync.Mutex
	data []byte   // size slots of maxPacket bytes
	lens []uint16 // 0: empty
	seqs []uint16
	mask uint16
}

// newPacketCache returns a cache of size packets (a power of two).
func newPacketCache(size int) *packetCache {
	return &packetCache{
		data: make([]byte, size*maxPacket),
		lens: make([]uint16, size),
		seqs: make([]uint16, size),
		mask: uint16(size - 1),
	}
}

// put stores pkt under its sequence number, replacing the oldest.
func (c *packetCache) put(seq uint16, pkt []byte) {
	if len(pkt) > maxPacket {
		return
	}
	i := int(seq & c.mask)
	c.mu.Lock()
	copy(c.data[i*maxPacket:], pkt)
	c.lens[i] = uint16(len(pkt))
	c.seqs[i] = seq
	c.mu.Unlock()
}

// get copies the packet with sequence number seq into dst and returns its
// length, or 0 when it is no longer (or never was) kept.
func (c *packetCache) get(seq uint16, dst []byte) int {
	i := int(seq & c.mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := int(c.lens[i])
	if n == 0 || c.seqs[i] != seq || len(dst) < n {
		return 0
	}
	return copy(dst, c.data[i*maxPacket:i*maxPacket+n])
}

// size is how many packets the cache keeps.
func (c *packetCache) size() int { return len(c.lens) }
