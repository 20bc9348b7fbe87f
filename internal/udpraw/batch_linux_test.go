package udpraw

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// loopbackUDP opens a UDP socket on 127.0.0.1.
func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// datagram is n bytes that tell which datagram they are.
func datagram(id byte, n int) []byte {
	return bytes.Repeat([]byte{id}, n)
}

// receive reads want datagrams from c and checks them in order.
func receive(t *testing.T, c *net.UDPConn, want [][]byte) {
	t.Helper()
	buf := make([]byte, 2048)
	for i, w := range want {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i+1, len(want), err)
		}
		if !bytes.Equal(buf[:n], w) {
			t.Fatalf("datagram %d: %d bytes of %d, want %d of %d", i+1, n, buf[0], len(w), w[0])
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("an extra datagram of %d bytes", n)
	}
}

// withFD runs f with the descriptor of c.
func withFD(t *testing.T, c *net.UDPConn, f func(fd int)) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		t.Fatal(err)
	}
}

// TestBatchSendsTrainsInOrder: the datagrams of one address form one
// message (a segmentation train) across those added for other addresses
// between them, a shorter one ends the train, and every datagram arrives
// whole and in its address's order; without segmentation each datagram
// is a message.
func TestBatchSendsTrainsInOrder(t *testing.T) {
	for _, gso := range []bool{true, false} {
		from, a, b := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
		ap, bp := a.LocalAddr().(*net.UDPAddr).AddrPort(), b.LocalAddr().(*net.UDPAddr).AddrPort()
		batch := NewBatch(false, gso, 16)
		var toA, toB [][]byte
		add := func(to netip.AddrPort, p []byte) {
			if !batch.Add(p, to) {
				t.Fatalf("gso %v: batch full at %d datagrams", gso, batch.Len())
			}
			if to == ap {
				toA = append(toA, p)
			} else {
				toB = append(toB, p)
			}
		}
		add(ap, datagram(1, 1000))
		add(bp, datagram(11, 1000))
		add(ap, datagram(2, 1000))
		add(bp, datagram(12, 1000))
		add(ap, datagram(3, 600)) // ends a's train
		add(bp, datagram(13, 1000))
		add(ap, datagram(4, 1000)) // after a shorter one: a message of its own
		if batch.Len() != 7 {
			t.Errorf("gso %v: %d datagrams in the batch, want 7", gso, batch.Len())
		}
		want := 3
		if !gso {
			want = 7
		}
		var msgs int
		var err error
		withFD(t, from, func(fd int) { msgs, err = batch.Send(fd) })
		if err != nil || msgs != want {
			t.Errorf("gso %v: %d messages (%v), want %d", gso, msgs, err, want)
		}
		if batch.Len() != 0 {
			t.Errorf("gso %v: %d datagrams left after sending", gso, batch.Len())
		}
		receive(t, a, toA)
		receive(t, b, toB)
	}
}

// TestBatchResendsFromAFailedMessage: when a train is refused, the
// datagrams of that message and the later ones go one by one, in order,
// and none of an earlier message twice.
func TestBatchResendsFromAFailedMessage(t *testing.T) {
	from, a, b := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
	ap, bp := a.LocalAddr().(*net.UDPAddr).AddrPort(), b.LocalAddr().(*net.UDPAddr).AddrPort()
	batch := NewBatch(false, true, 8)
	a1, b1, a2, b2 := datagram(1, 900), datagram(11, 900), datagram(2, 900), datagram(12, 900)
	for _, d := range []struct {
		p  []byte
		to netip.AddrPort
	}{{a1, ap}, {b1, bp}, {a2, ap}, {b2, bp}} {
		batch.Add(d.p, d.to)
	}
	if n := batch.build(); n != 2 {
		t.Fatalf("%d messages, want 2 trains", n)
	}
	withFD(t, from, func(fd int) { batch.sendEach(fd, 1) }) // message 0 (a's train) went
	batch.Reset()
	receive(t, b, [][]byte{b1, b2})
	receive(t, a, nil)
}

// TestBatchIsBounded: a batch takes no more datagrams than it was made
// for, and a datagram it refuses is not sent.
func TestBatchIsBounded(t *testing.T) {
	from, a := loopbackUDP(t), loopbackUDP(t)
	ap := a.LocalAddr().(*net.UDPAddr).AddrPort()
	batch := NewBatch(false, true, 3)
	var sent [][]byte
	for i := range 4 {
		p := datagram(byte(i+1), 500)
		if batch.Add(p, ap) {
			sent = append(sent, p)
		}
	}
	if len(sent) != 3 {
		t.Fatalf("%d datagrams taken by a batch of 3", len(sent))
	}
	if batch.Add(nil, ap) {
		t.Error("an empty datagram was taken")
	}
	withFD(t, from, func(fd int) {
		if _, err := batch.Send(fd); err != nil {
			t.Error(err)
		}
	})
	receive(t, a, sent)
}
