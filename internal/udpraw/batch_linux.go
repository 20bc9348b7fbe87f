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

// Batch is a reusable set of datagrams sent with one sendmmsg(2), each to
// its own address. When it is sent, the datagrams of one address that
// follow one another in its order (whatever was added for other addresses
// between them) and are of equal size travel as one message the kernel
// segments (UDP GSO: one pass down the stack, and one wake-up of the
// receiver, for the train), the last of a train possibly shorter. Each
// address's datagrams keep their order; those of different addresses may
// leave in another order than added. A Batch never allocates once made;
// the buffers added must stay untouched until Send returns. It is not
// safe for concurrent use.
type Batch struct {
	v6  bool
	gso bool

	// The datagrams added, in order.
	data []dgram
	// Built by Send: the messages and their iovecs.
	hdrs  []unix.Mmsghdr
	names []unix.RawSockaddrInet6 // large enough for either family
	ctrl  [][cmsgSpace]byte
	iovs  []unix.Iovec
}

// dgram is one datagram added to a Batch.
type dgram struct {
	p    []byte
	dst  netip.AddrPort
	sent bool // placed in a message
	msg  int  // the message it is in
}

// cmsgSpace is the room for one UDP_SEGMENT control message.
const cmsgSpace = unix.SizeofCmsghdr + 8

// NewBatch returns a batch of up to n datagrams for a socket of family v6,
// sent in segmentation trains when gso.
func NewBatch(v6, gso bool, n int) *Batch {
	return &Batch{
		v6: v6, gso: gso,
		data:  make([]dgram, 0, n),
		hdrs:  make([]unix.Mmsghdr, n),
		names: make([]unix.RawSockaddrInet6, n),
		ctrl:  make([][cmsgSpace]byte, n),
		iovs:  make([]unix.Iovec, n),
	}
}

// Len returns the number of datagrams in the batch.
func (b *Batch) Len() int { return len(b.data) }

// Reset empties the batch.
func (b *Batch) Reset() {
	clear(b.data) // drop the references to the buffers
	b.data = b.data[:0]
}

// Add appends datagram p to ap, an address of the batch's socket family
// (IPv4 destinations are mapped on IPv6 sockets); false when the batch is
// full or p is empty (p is not added).
func (b *Batch) Add(p []byte, ap netip.AddrPort) bool {
	if len(b.data) == cap(b.data) || len(p) == 0 {
		return false
	}
	b.data = append(b.data, dgram{p: p, dst: ap})
	return true
}

// build makes the messages: each datagram not yet placed starts one, and
// with segmentation on, the later datagrams of its address join it while
// they continue its train. It returns the number of messages.
func (b *Batch) build() int {
	m, iov := 0, 0
	for i := range b.data {
		d := &b.data[i]
		if d.sent {
			continue
		}
		d.sent, d.msg = true, m
		h := &b.hdrs[m]
		*h = unix.Mmsghdr{}
		h.Hdr.Name = (*byte)(unsafe.Pointer(&b.names[m]))
		h.Hdr.Namelen = b.sockaddr(m, d.dst)
		h.Hdr.Iov = &b.iovs[iov]
		b.setIov(iov, d.p)
		iov++
		segs, size, seg := 1, len(d.p), len(d.p)
		for j := i + 1; b.gso && j < len(b.data) && segs < MaxSegments; j++ {
			e := &b.data[j]
			if e.sent || e.dst != d.dst {
				continue
			}
			if len(e.p) > seg || size+len(e.p) > maxTrainBytes {
				break // the train ends before it: a message of its own
			}
			e.sent, e.msg = true, m
			b.setIov(iov, e.p)
			iov++
			segs++
			size += len(e.p)
			if len(e.p) < seg {
				break // a shorter datagram ends the train
			}
		}
		h.Hdr.SetIovlen(segs)
		h.Hdr.Control, h.Hdr.Controllen = nil, 0
		if segs > 1 {
			c := (*unix.Cmsghdr)(unsafe.Pointer(&b.ctrl[m][0]))
			c.Level, c.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			c.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&b.ctrl[m][unix.CmsgLen(0)])) = uint16(seg)
			h.Hdr.Control = &b.ctrl[m][0]
			h.Hdr.SetControllen(unix.CmsgSpace(2))
		}
		m++
	}
	return m
}

func (b *Batch) setIov(i int, p []byte) {
	v := &b.iovs[i]
	v.Base = unsafe.SliceData(p)
	v.SetLen(len(p))
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
// segmentation train: the batch has sent the rest datagram by datagram and
// turned segmentation off for what it sends next.
var ErrNoGSO = errors.New("udpraw: UDP segmentation offload refused")

// Send sends the batch on the non-blocking socket fd and empties it,
// returning the number of messages it made. A message the kernel will not
// take now (a full send buffer) is dropped, as a congested network would;
// other failures of single messages are skipped and the first is
// returned once the rest are sent.
func (b *Batch) Send(fd int) (messages int, err error) {
	defer b.Reset()
	n := b.build()
	var first error
	for m := 0; m < n; {
		r, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[m])), uintptr(n-m), 0, 0, 0)
		if e == 0 {
			m += int(r)
			continue
		}
		// sendmmsg fails only for the first message of the call.
		switch {
		case e == unix.EAGAIN || e == unix.ENOBUFS:
		case e == unix.EIO && b.hdrs[m].Hdr.Controllen != 0:
			b.gso = false
			b.sendEach(fd, m)
			return n, ErrNoGSO
		case first == nil:
			first = e
		}
		m++
	}
	return n, first
}

// sendEach sends the datagrams of messages m and after, in the order they
// were added, one system call each.
func (b *Batch) sendEach(fd int, m int) {
	for _, d := range b.data {
		if d.msg >= m {
			_ = SendTo(fd, b.v6, d.p, d.dst) // lost, as on a network
		}
	}
}
