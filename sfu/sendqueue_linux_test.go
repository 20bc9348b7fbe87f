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
// message; with two holders each release sends and the last ends the
// hold; a discarded queue sends nothing.
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
		p := bytes.Repeat([]byte{byte(i)}, 1000)
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
			t.Fatalf("datagram %d: %d bytes of %d, want 1000 of %d", i+1, n, buf[0], i)
		}
	}
	nothingArrives("after the burst")
	if d, m := q.datagrams.Load(), q.messages.Load(); d != uint64(len(burst)) || m != 2 {
		t.Errorf("%d datagrams in %d messages, want %d in 2", d, m, len(burst))
	}

	// Two holders: each release sends what is queued, and the queue
	// stays held until the last one releases.
	q.hold()
	q.hold()
	withFD(func(fd int) { q.add(fd, []byte("first"), dst) })
	withFD(q.release)
	if n, err := readOne(to, buf); err != nil || string(buf[:n]) != "first" {
		t.Fatalf("the first release sent %q, %v", buf[:n], err)
	}
	withFD(func(fd int) {
		if !q.add(fd, []byte("second"), dst) {
			t.Fatal("not queued while another holder holds")
		}
	})
	nothingArrives("while the other holder holds")
	withFD(q.release)
	if n, err := readOne(to, buf); err != nil || string(buf[:n]) != "second" {
		t.Fatalf("the last release sent %q, %v", buf[:n], err)
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

// readOne reads one datagram from c within two seconds.
func readOne(c *net.UDPConn, buf []byte) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	return c.Read(buf)
}

// batched is how many datagrams the sockets of set sent held back, and in
// how many messages.
func batched(set *socketSet) (datagrams, messages uint64, sockets int) {
	set.mu.Lock()
	defer set.mu.Unlock()
	for _, s := range set.sockets {
		c := s.(*fastUDPConn)
		datagrams += c.sendq.datagrams.Load()
		messages += c.sendq.messages.Load()
	}
	return datagrams, messages, len(set.sockets)
}

// TestSharedPortHandOffSendsInBatches: on the shared UDP port, with the
// layers' goroutines forwarding to two subscribers each (handoff.go) in
// bursts, every subscriber keeps receiving, and the port sent fewer
// messages than datagrams.
func TestSharedPortHandOffSendsInBatches(t *testing.T) {
	room, _ := sharedPortRoom(t)
	a, b := exchangeAV(t, room, 200)
	aHad, bHad := a.count("b", "video"), b.count("a", "video")
	c := joinPeer(t, room, "c")
	waitFor(t, 10*time.Second, "the third peer and the first two to receive video", func() bool {
		return c.count("a", "video") > 300 && c.count("b", "video") > 300 &&
			a.count("b", "video") > aHad+300 && b.count("a", "video") > bHad+300 &&
			c.count("a", "audio") > 50 && c.count("b", "audio") > 50
	})
	for _, p := range []*peer{a, b} {
		if n := handedOff(t, room, p.part); n < 100 {
			t.Errorf("%s: %d packets handed off with two subscribers, want at least 100", p.part.id, n)
		}
	}
	datagrams, messages, sockets := batched(&room.sfu.apis.shared.sockets)
	if sockets == 0 {
		t.Fatal("the shared port adopted no socket")
	}
	t.Logf("held sends: %d datagrams in %d messages", datagrams, messages)
	if datagrams < 500 || messages >= datagrams {
		t.Errorf("held sends: %d datagrams in %d messages, want batches", datagrams, messages)
	}
}

// TestOwnSocketsSendInBatches: with a port per connection and
// Config.BatchOwnSockets, what a publisher socket's reader forwards to one
// subscriber, and then what the layers' goroutines forward to two, leaves
// each subscriber's own socket in batches, and everyone keeps receiving.
// Without it, nothing is held.
func TestOwnSocketsSendInBatches(t *testing.T) {
	if off := joinPeer(t, testRoom(t), "off"); off.part.sockets != nil {
		t.Fatal("own sockets are batched by default")
	}
	room, err := newTestSFUWith(t, Config{BatchOwnSockets: true}).Room("r1", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if room.sfu.apis.shared != nil {
		t.Fatal("the test room has a shared port")
	}
	a, b := exchangeAV(t, room, 300)
	for _, p := range []*peer{a, b} {
		datagrams, messages, sockets := batched(p.part.sockets)
		t.Logf("%s, one subscriber: %d sockets sent %d datagrams held in %d messages", p.part.id, sockets, datagrams, messages)
		if sockets == 0 || datagrams < 100 || messages >= datagrams {
			t.Errorf("%s: %d sockets sent %d datagrams held in %d messages, want batches", p.part.id, sockets, datagrams, messages)
		}
	}
	aHad, bHad := a.count("b", "video"), b.count("a", "video")
	before, _, _ := batched(a.part.sockets)
	c := joinPeer(t, room, "c")
	waitFor(t, 10*time.Second, "the third peer and the first two to receive video", func() bool {
		return c.count("a", "video") > 300 && c.count("b", "video") > 300 &&
			a.count("b", "video") > aHad+300 && b.count("a", "video") > bHad+300 &&
			c.count("a", "audio") > 50 && c.count("b", "audio") > 50
	})
	if n := handedOff(t, room, b.part); n < 100 {
		t.Errorf("b: %d packets handed off with two subscribers, want at least 100", n)
	}
	for _, p := range []*peer{a, c} {
		datagrams, messages, _ := batched(p.part.sockets)
		t.Logf("%s, with three in the room: %d datagrams held in %d messages", p.part.id, datagrams, messages)
		if messages >= datagrams {
			t.Errorf("%s: %d datagrams held in %d messages, want batches", p.part.id, datagrams, messages)
		}
	}
	if after, _, _ := batched(a.part.sockets); after < before+100 {
		t.Errorf("a's sockets sent %d datagrams held since the third joined, want at least 100", after-before)
	}
}
