package udpraw

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrDrop is returned for a datagram the kernel would not take now (a
// full send buffer): UDP may lose it, as a congested network would.
var ErrDrop = errors.New("udpraw: datagram dropped")

// RecvFrom reads one datagram from a non-blocking socket without
// allocating; it returns unix.EAGAIN when none is waiting.
func RecvFrom(fd int, p []byte, sa *unix.RawSockaddrAny) (int, netip.AddrPort, error) {
	salen := uint32(unix.SizeofSockaddrAny)
	n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		0, uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&salen)))
	if e != 0 {
		return 0, netip.AddrPort{}, e
	}
	return int(n), FromSockaddr(sa), nil
}

// FromSockaddr converts a kernel socket address, IPv4-mapped addresses
// unmapped.
func FromSockaddr(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		pb := (*[2]byte)(unsafe.Pointer(&s4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(pb[0])<<8|uint16(pb[1]))
	case unix.AF_INET6:
		s6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		pb := (*[2]byte)(unsafe.Pointer(&s6.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(s6.Addr).Unmap(), uint16(pb[0])<<8|uint16(pb[1]))
	}
	return netip.AddrPort{}
}

// SendTo writes one datagram to ap on a non-blocking socket of family v6
// (IPv4 destinations are mapped on IPv6 sockets) without allocating.
func SendTo(fd int, v6 bool, p []byte, ap netip.AddrPort) error {
	var ptr unsafe.Pointer
	var size uintptr
	var s4 unix.RawSockaddrInet4
	var s6 unix.RawSockaddrInet6
	port := ap.Port()
	if v6 {
		s6.Family = unix.AF_INET6
		pb := (*[2]byte)(unsafe.Pointer(&s6.Port))
		pb[0], pb[1] = byte(port>>8), byte(port)
		s6.Addr = ap.Addr().As16()
		ptr, size = unsafe.Pointer(&s6), unix.SizeofSockaddrInet6
	} else {
		a := ap.Addr().Unmap()
		if !a.Is4() {
			return fmt.Errorf("udpraw: %v on an IPv4 socket: %w", ap, unix.EAFNOSUPPORT)
		}
		s4.Family = unix.AF_INET
		pb := (*[2]byte)(unsafe.Pointer(&s4.Port))
		pb[0], pb[1] = byte(port>>8), byte(port)
		s4.Addr = a.As4()
		ptr, size = unsafe.Pointer(&s4), unix.SizeofSockaddrInet4
	}
	_, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		0, uintptr(ptr), size)
	switch e {
	case 0:
		return nil
	case unix.EAGAIN, unix.ENOBUFS:
		return ErrDrop
	}
	return e
}
