package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// A stream read through reusedAttrs gives the interceptors above it the
// header of each packet read, parsed into the same map and header every
// time: reading allocates nothing. Attributes a caller passes down go
// through untouched.
func TestReusedAttrsDescribeEachPacketWithoutAllocating(t *testing.T) {
	pkts := make([][]byte, 4)
	for i := range pkts {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(100 + i), Timestamp: 9000, SSRC: 7}
		if i%2 == 0 {
			if err := h.SetExtension(3, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		pkts[i] = b
	}
	next := 0
	raw := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n := copy(b, pkts[next%len(pkts)])
		next++
		return n, a, nil
	})
	// Above it, readers as Pion's NACK generator and receiver reports are:
	// they take the header from the attributes.
	var seen *rtp.Header
	inner := (&reusedAttrs{}).BindRemoteStream(&interceptor.StreamInfo{SSRC: 7}, raw)
	top := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := inner.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = make(interceptor.Attributes)
		}
		h, err := a.GetRTPHeader(b[:n])
		seen = h
		return n, a, err
	})
	buf := make([]byte, 1500)
	for i := range 8 {
		if _, _, err := top.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
		if want := uint16(100 + i%len(pkts)); seen.SequenceNumber != want {
			t.Fatalf("read %d: header of sequence number %d, want %d", i, seen.SequenceNumber, want)
		}
		if ext := seen.GetExtension(3); (i%2 == 0) != (len(ext) == 1) || (ext != nil && ext[0] != byte(i%len(pkts))) {
			t.Fatalf("read %d: extension %v", i, ext)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _, _ = top.Read(buf, nil) }); allocs != 0 {
		t.Errorf("%v allocations per read, want 0", allocs)
	}
	mine := interceptor.Attributes{"k": "v"}
	if _, a, _ := inner.Read(buf, mine); a["k"] != "v" || len(a) != 1 {
		t.Errorf("a caller's attributes came back as %v", a)
	}
}

// A stream written through reusedAttrs hands the interceptors below it
// the same map for every packet, emptied of what the last one noted:
// writing allocates nothing. Attributes a caller passes go through.
func TestReusedAttrsOnTheWayOutWithoutAllocating(t *testing.T) {
	type key struct{}
	writes := 0
	// Below it, a writer as Pion's bandwidth estimator is: it notes
	// something in the attributes of each packet.
	below := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, a interceptor.Attributes) (int, error) {
		if a == nil {
			t.Fatal("no attributes")
		}
		if _, ok := a[key{}]; ok {
			t.Fatal("the last packet's attributes came with this one")
		}
		a.Set(key{}, uint8(h.SequenceNumber))
		writes++
		return 0, nil
	})
	w := (&reusedAttrs{}).BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, below)
	h := &rtp.Header{Version: 2, SSRC: 7}
	payload := make([]byte, 100)
	for i := range 4 {
		h.SequenceNumber = uint16(i)
		if _, err := w.Write(h, payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = w.Write(h, payload, nil) }); allocs != 0 {
		t.Errorf("%v allocations per write, want 0", allocs)
	}
	mine := interceptor.Attributes{"k": "v"}
	if _, err := w.Write(h, payload, mine); err != nil || mine["k"] != "v" || len(mine) != 2 {
		t.Errorf("a caller's attributes: %v, %v", mine, err)
	}
	if writes != 4+101+1 { // AllocsPerRun runs it once more to warm up
		t.Errorf("%d writes reached the writer below, want 106", writes)
	}
}
