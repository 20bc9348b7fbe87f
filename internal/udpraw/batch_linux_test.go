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

// send sends b on the socket of c.
func send(t *testing.T, c *net.UDPConn, b *Batch) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { _, serr = b.Send(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
}

// TestBatchSendsTrainsInOrder: equal-sized datagrams to one address form
// one message (a segmentation train) that a shorter one ends, other
// addresses get messages of their own, and every datagram arrives whole
// and in its address's order; without segmentation each datagram is a
// message.
func TestBatchSendsTrainsInOrder(t *testing.T) {
	for _, gso := range []bool{true, false} {
		from, a, b := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
		ap, bp := a.LocalAddr().(*net.UDPAddr).AddrPort(), b.LocalAddr().(*net.UDPAddr).AddrPort()
		batch := NewBatch(false, gso, 16, 32)
		var toA, toB [][]byte
		add := func(to netip.AddrPort, p []byte) {
			if !batch.Add(p, to) {
				t.Fatalf("gso %v: batch full at %d messages", gso, batch.Len())
			}
			if to == ap {
				toA = append(toA, p)
			} else {
				toB = append(toB, p)
			}
		}
		for i := range 5 {
			add(ap, datagram(byte(i+1), 1000))
		}
		add(ap, datagram(6, 600)) // ends the train
		for i := range 3 {
			add(bp, datagram(byte(10+i), 1000))
		}
		add(ap, datagram(7, 1000)) // after a shorter one: a message of its own
		want := 3
		if !gso {
			want = 10
		}
		if batch.Len() != want {
			t.Errorf("gso %v: %d messages, want %d", gso, batch.Len(), want)
		}
		send(t, from, batch)
		if batch.Len() != 0 {
			t.Errorf("gso %v: %d messages left after sending", gso, batch.Len())
		}
		receive(t, a, toA)
		receive(t, b, toB)
	}
}

// TestBatchIsBounded: a batch takes no more datagrams than it was made
// for, and a datagram it refuses is not sent.
func TestBatchIsBounded(t *testing.T) {
	from, a := loopbackUDP(t), loopbackUDP(t)
	ap := a.LocalAddr().(*net.UDPAddr).AddrPort()
	batch := NewBatch(false, true, 2, 3)
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
	send(t, from, batch)
	receive(t, a, sent)
}
