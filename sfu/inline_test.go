package sfu

import (
	"testing"

	"github.com/pion/transport/v4/packetio"
)

// An inline buffer buffers until a reader attaches, hands what it holds to
// the reader at once, and from then on has each Write read through the
// reader before it returns; Close tells the reader.
func TestInlineBufferReadsOnTheWritersGoroutine(t *testing.T) {
	ib := newInlineBuffers()
	rw := ib.factory(packetio.RTPBufferPacket, 42)
	if _, ok := ib.factory(packetio.RTCPBufferPacket, 42).(*inlineBuffer); ok {
		t.Fatal("an RTCP buffer was made inline")
	}
	for i := range 3 {
		if _, err := rw.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b := ib.take(42)
	if b == nil || ib.take(42) != nil {
		t.Fatal("take: want the buffer once")
	}
	var got []byte
	buf := make([]byte, 10)
	readOne := func() bool {
		n, err := b.Read(buf)
		if err != nil {
			return false
		}
		got = append(got, buf[:n]...)
		return true
	}
	closed := b.attach(readOne)
	if string(got) != "\x00\x01\x02" {
		t.Fatalf("attach read %v, want what was buffered", got)
	}
	if _, err := rw.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3] != 3 {
		t.Fatalf("after a write: %v, want it read before Write returned", got)
	}
	select {
	case <-closed:
		t.Fatal("closed before Close")
	default:
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	<-closed
	if ib.take(42) != nil {
		t.Error("a closed buffer can still be taken")
	}
}
