package sfu

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestSendQueueHoldsABurstAndSendsItTogether: nothing is queued unless
// the reader holds the socket; what is written while it holds leaves at
// release, whole and in order, a subscriber's run of equal packets as one
// message; a discarded queue sends nothing.
func TestSendQueueHoldsABurstAndSendsItTogether(t *testing.T) {
	from, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	to, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	dst := to.LocalAddr().(*net.UDPAddr).AddrPort()
	rc, err := from.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	withFD := func(f func(fd int)) {
		if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
			t.Fatal(err)
		}
	}
	nothingArrives := func(when string) {
		t.Helper()
		_ = to.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, err := to.Read(make([]byte, 2048)); err == nil {
			t.Fatalf("%s: a datagram of %d bytes arrived", when, n)
		}
	}

	var q sendQueue
	withFD(func(fd int) {
		if q.add(fd, []byte("x"), dst) {
			t.Error("a datagram was queued while nobody held the socket")
		}
	})
	q.hold()
	var burst [][]byte
	for i := range sendQueueLen + 3 { // more than a queue: it sends the first full one
		p := bytes.Repeat([]byte{byte(i)}, 1100)
		burst = append(burst, p)
		withFD(func(fd int) {
			if !q.add(fd, p, dst) {
				t.Fatalf("datagram %d not queued while held", i)
			}
		})
	}
	withFD(q.release)
	buf := make([]byte, 2048)
	for i, p := range burst {
		_ = to.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := to.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i+1, len(burst), err)
		}
		if !bytes.Equal(buf[:n], p) {
			t.Fatalf("datagram %d: %d bytes of %d, want 1100 of %d", i+1, n, buf[0], i)
		}
	}
	nothingArrives("after the burst")
	if d, m := q.datagrams.Load(), q.messages.Load(); d != uint64(len(burst)) || m != 2 {
		t.Errorf("%d datagrams in %d messages, want %d in 2", d, m, len(burst))
	}

	q.hold()
	withFD(func(fd int) { q.add(fd, []byte("dropped"), dst) })
	q.discard()
	withFD(q.release)
	nothingArrives("after a discard")
	withFD(func(fd int) {
		if q.add(fd, []byte("x"), dst) {
			t.Error("a datagram was queued after release")
		}
	})
}
