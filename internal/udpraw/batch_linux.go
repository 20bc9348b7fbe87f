package udpraw

import (
	"errors"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxSegments is the most datagrams one message of a Batch carries as a
// UDP segmentation (GSO) train; kernels from 4.18 take 64.
const MaxSegments = 64

// maxTrainBytes bounds a train's payload below the largest UDP datagram.
const maxTrainBytes = 65000

// Batch is a reusable set of datagrams sent with one sendmmsg(2): up to
// its capacity of messages, each to its own address. Datagrams of equal
// size added one after another for the same address travel as one message
// the kernel segments (UDP GSO: one pass down the stack for the train),
// the last of a train possibly shorter. A Batch never allocates once made;
// the buffers added must stay untouched until Send returns. It is not safe
// for concurrent use.
type Batch struct {
	v6    bool
	gso   bool
	hdrs  []unix.Mmsghdr
	names []unix.RawSockaddrInet6 // large enough for either family
	ctrl  [][cmsgSpace]byte
	segs  []uint16 // each message's segment size; 0 for a single datagram
	sizes []int    // each message's payload bytes
	dst   []netip.AddrPort
	iovs  []unix.Iovec
	n     int // messages
	niov  int
}

// cmsgSpace is the room for one UDP_SEGMENT control message.
const cmsgSpace = unix.SizeofCmsghdr + 8

// NewBatch returns a batch of up to msgs messages and datagrams datagrams
// for a socket of family v6, coalescing trains when gso.
func NewBatch(v6, gso bool, msgs, datagrams int) *Batch {
	return &Batch{
		v6: v6, gso: gso,
		hdrs:  make([]unix.Mmsghdr, msgs),
		names: make([]unix.RawSockaddrInet6, msgs),
		ctrl:  make([][cmsgSpace]byte, msgs),
		segs:  make([]uint16, msgs),
		sizes: make([]int, msgs),
		dst:   make([]netip.AddrPort, msgs),
		iovs:  make([]unix.Iovec, datagrams),
	}
}

// Len returns the number of messages in the batch.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch.
func (b *Batch) Reset() { b.n, b.niov = 0, 0 }

// SetGSO turns coalescing of trains on or off for what is added next.
func (b *Batch) SetGSO(on bool) { b.gso = on }

// Add appends datagram p to ap, an address of the batch's socket family
// (IPv4 destinations are mapped on IPv6 sockets); false when the batch is
// full (p is not added). p joins the message last added for ap when it continues a train
// there: same size as its segments, or shorter (which ends the train). So
// each address's datagrams keep their order; those of different addresses
// may be sent in another order than added.
func (b *Batch) Add(p []byte, ap netip.AddrPort) bool {
	if b.niov == len(b.iovs) || len(p) == 0 {
		return false
	}
	if b.gso {
		if m := b.last(ap); m >= 0 && b.joins(m, len(p)) {
			b.appendIov(p)
			b.hdrs[m].Hdr.Iovlen++
			b.sizes[m] += len(p)
			if b.segs[m] == 0 {
				b.segs[m] = uint16(b.sizes[m] - len(p))
			}
			return true
		}
	}
	if b.n == len(b.hdrs) {
		return false
	}
	m := b.n
	b.n++
	b.dst[m], b.segs[m], b.sizes[m] = ap, 0, len(p)
	h := &b.hdrs[m]
	*h = unix.Mmsghdr{}
	h.Hdr.Name = (*byte)(unsafe.Pointer(&b.names[m]))
	h.Hdr.Namelen = b.sockaddr(m, ap)
	h.Hdr.Iov = &b.iovs[b.niov]
	h.Hdr.Iovlen = 1
	b.appendIov(p)
	return true
}

// last returns the index of the last message to ap, or -1.
func (b *Batch) last(ap netip.AddrPort) int {
	for m := b.n - 1; m >= 0; m-- {
		if b.dst[m] == ap {
			return m
		}
	}
	return -1
}

// joins reports whether a datagram of size n continues message m's train:
// the train is the batch's last run of iovecs (so they stay contiguous),
// not ended by a shorter one, and has room.
func (b *Batch) joins(m, n int) bool {
	h := &b.hdrs[m].Hdr
	first := int((uintptr(unsafe.Pointer(h.Iov)) - uintptr(unsafe.Pointer(&b.iovs[0]))) / unix.SizeofIovec)
	if first+int(h.Iovlen) != b.niov || int(h.Iovlen) >= MaxSegments || b.sizes[m]+n > maxTrainBytes {
		return false
	}
	seg := b.segs[m]
	if seg == 0 { // one datagram so far: it sets the size
		return n <= b.sizes[m]
	}
	// Every segment so far is seg long unless the train already ended
	// with a shorter one.
	if b.sizes[m]%int(seg) != 0 {
		return false
	}
	return n <= int(seg)
}

func (b *Batch) appendIov(p []byte) {
	v := &b.iovs[b.niov]
	v.Base = unsafe.SliceData(p)
	v.SetLen(len(p))
	b.niov++
}

// sockaddr writes ap into message m's name and returns its length.
func (b *Batch) sockaddr(m int, ap netip.AddrPort) uint32 {
	port := ap.Port()
	if b.v6 {
		s6 := &b.names[m]
		*s6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16()}
		pb := (*[2]byte)(unsafe.Pointer(&s6.Port))
		pb[0], pb[1] = byte(port>>8), byte(port)
		return unix.SizeofSockaddrInet6
	}
	s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[m]))
	*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}
	pb := (*[2]byte)(unsafe.Pointer(&s4.Port))
	pb[0], pb[1] = byte(port>>8), byte(port)
	return unix.SizeofSockaddrInet4
}

// ErrNoGSO is returned by Send when the kernel or the route refused a
// segmentation train: the caller should turn coalescing off and send the
// rest again, datagram by datagram.
var ErrNoGSO = errors.New("udpraw: UDP segmentation offload refused")

// Send sends the batch on the non-blocking socket fd and empties it. A
// message the kernel will not take now (a full send buffer) is dropped,
// as a congested network would; other failures of single messages are
// skipped and the first is returned once the rest are sent. A train the
// kernel refuses to segment stops the send with ErrNoGSO and *unsent is
// the index of the first message not sent (Resend sends them one by one).
func (b *Batch) Send(fd int) (unsent int, err error) {
	for m := 0; m < b.n; m++ {
		h := &b.hdrs[m].Hdr
		if b.segs[m] != 0 && h.Iovlen > 1 {
			c := (*unix.Cmsghdr)(unsafe.Pointer(&b.ctrl[m][0]))
			c.Level, c.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			c.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&b.ctrl[m][unix.CmsgLen(0)])) = b.segs[m]
			h.Control = &b.ctrl[m][0]
			h.SetControllen(unix.CmsgSpace(2))
		} else {
			h.Control, h.Controllen = nil, 0
		}
	}
	var first error
	for m := 0; m < b.n; {
		r, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[m])), uintptr(b.n-m), 0, 0, 0)
		if e == 0 {
			m += int(r)
			continue
		}
		// sendmmsg fails only for the first message of the call.
		switch {
		case e == unix.EAGAIN || e == unix.ENOBUFS:
		case e == unix.EIO && b.segs[m] != 0:
			return m, ErrNoGSO
		case first == nil:
			first = e
		}
		m++
	}
	b.Reset()
	return 0, first
}

// Resend sends the datagrams of messages from m on, one by one, and
// empties the batch; it returns the first failure other than a drop.
func (b *Batch) Resend(fd int, m int) error {
	var first error
	for ; m < b.n; m++ {
		h := &b.hdrs[m].Hdr
		iovs := unsafe.Slice(h.Iov, h.Iovlen)
		for i := range iovs {
			p := unsafe.Slice(iovs[i].Base, iovs[i].Len)
			if err := SendTo(fd, b.v6, p, b.dst[m]); err != nil && !errors.Is(err, ErrDrop) && first == nil {
				first = err
			}
		}
	}
	b.Reset()
	return first
}
