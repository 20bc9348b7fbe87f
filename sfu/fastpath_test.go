package sfu

import (
	"crypto/rand"
	"log/slog"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4/packetio"
)

// checkFastPath fails t unless the fast path carried all but each
// stream's first packets of what the room's publishers sent.
func checkFastPath(t *testing.T, room *Room) {
	t.Helper()
	ps, ts := room.snapshot()
	for _, p := range ps {
		fast, all := p.fast.taken.Load(), received(ts, p)
		t.Logf("%s: %d of %d received packets on the fast path", p.id, fast, all)
		if all < 300 || fast < all*9/10 {
			t.Errorf("%s: %d of %d packets on the fast path, want at least 90%%", p.id, fast, all)
		}
	}
}

// received is how many packets the server read from p's published layers.
func received(ts []*upTrack, p *Participant) uint64 {
	var n uint64
	for _, t := range ts {
		if t.owner != p {
			continue
		}
		for i := range t.layers {
			if l := t.layers[i].Load(); l != nil {
				l.mu.Lock()
				n += l.stats.packets
				l.mu.Unlock()
			}
		}
	}
	return n
}

// Switched off, the fast path takes nothing and Pion's own receive path
// carries the media.
func TestFastPathOffLeavesMediaToPion(t *testing.T) {
	room, err := newTestSFUWith(t, Config{NoFastPath: true}).Room("r1", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	exchangeAV(t, room, 60)
	ps, _ := room.snapshot()
	for _, p := range ps {
		if p.fast != nil || p.fast.count() != 0 {
			t.Errorf("%s: a fast path (%d packets) with it switched off", p.id, p.fast.count())
		}
	}
}

// attachedFastPath returns a fast path with keys no peer has and an
// attached stream of ssrc whose reader counts what it reads.
func attachedFastPath(t testing.TB, ssrc uint32) (*fastPath, *int) {
	t.Helper()
	f := newFastPath(slog.New(slog.DiscardHandler), nil)
	secret := make([]byte, 48)
	cr := make([]byte, 32)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(cr)
	f.keys.masterSecret, f.keys.clientRandom = secret, cr
	f.keys.hello, f.keys.profile, f.keys.suite = true, srtp.ProtectionProfileAeadAes128Gcm, 0xc02b
	rw := f.buffer(packetio.RTPBufferPacket, ssrc)
	b, _ := rw.(*inlineBuffer)
	reads := 0
	buf := make([]byte, maxPacket)
	if f.attach(ssrc, func(*burst) bool {
		if _, err := b.Read(buf); err != nil {
			return false
		}
		reads++
		return true
	}) == nil {
		t.Fatal("attach: no buffer")
	}
	return f, &reads
}

// sealed is an SRTP packet of ssrc under ctx.
func sealed(t *testing.T, ctx *srtp.Context, ssrc uint32, seq uint16) []byte {
	t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 3000, SSRC: ssrc}, Payload: make([]byte, 100)}
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ctx.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Packets the connection's keys decrypt are read inline; a connection
// whose first packets never decrypt leaves them to Pion and turns its fast
// path off.
func TestFastPathDecryptsWithTheConnectionsKeysOrStandsAside(t *testing.T) {
	f, reads := attachedFastPath(t, 7)
	own, err := f.keys.remoteContext()
	if err != nil {
		t.Fatal(err)
	}
	first := sealed(t, own, 7, 5)
	if !f.take(first, nil) || *reads != 1 {
		t.Fatalf("a packet under the connection's keys: reads %d, want taken and read", *reads)
	}
	// Once a packet has decrypted, a replay is dropped, a late packet not
	// seen before (a retransmission) is read, a forgery is dropped.
	if !f.take(first, nil) || *reads != 1 {
		t.Errorf("a replay: taken and read (%d reads), want taken and dropped", *reads)
	}
	if !f.take(sealed(t, own, 7, 2), nil) || *reads != 2 {
		t.Errorf("a late packet: %d reads, want it read", *reads)
	}
	forged := sealed(t, own, 7, 6)
	forged[20] ^= 1
	if !f.take(forged, nil) || *reads != 2 {
		t.Errorf("a forged packet: %d reads, want it taken and dropped", *reads)
	}
	if f.take(sealed(t, own, 8, 1), nil) {
		t.Error("a packet of a stream not attached was taken")
	}
	// A new stream of the same SSRC (a track published again) is Pion's
	// until its own reader attaches.
	f.buffer(packetio.RTPBufferPacket, 7)
	if f.take(sealed(t, own, 7, 20), nil) || *reads != 2 {
		t.Errorf("a packet of a new, unattached stream: %d reads, want it left to Pion", *reads)
	}
	if f.take([]byte{0x80, 200, 0, 1, 0, 0, 0, 7, 0, 0, 0, 7}, nil) {
		t.Error("an RTCP packet was taken")
	}

	g, reads := attachedFastPath(t, 7)
	key, salt := make([]byte, 16), make([]byte, 12)
	other, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fastFailLimit {
		if g.take(sealed(t, other, 7, uint16(i)), nil) {
			t.Fatal("a packet under other keys was taken")
		}
	}
	mine, err := g.keys.remoteContext()
	if err != nil {
		t.Fatal(err)
	}
	if g.take(sealed(t, mine, 7, 10), nil) || *reads != 0 {
		t.Error("the fast path still takes packets after its first ones failed")
	}
}

// BenchmarkFastPathTake measures the fast path's own cost per received
// datagram: the SSRC lookup, SRTP decryption (AES-128-GCM) and the write
// into the stream's buffer, read back by a reader that discards it (the
// track's interceptors and forwarding are measured by BenchmarkForward).
func BenchmarkFastPathTake(b *testing.B) {
	const ring = 4096
	f, _ := attachedFastPath(b, 7)
	own, err := f.keys.remoteContext()
	if err != nil {
		b.Fatal(err)
	}
	pkts := make([][]byte, ring)
	for i := range pkts {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i / 5 * 3000), SSRC: 7}, Payload: make([]byte, 1100)}
		raw, err := pkt.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		if pkts[i], err = own.EncryptRTP(nil, raw, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(1100)
	b.ResetTimer()
	for i := range b.N {
		if i%ring == 0 && i > 0 {
			b.StopTimer()
			f.ctx = nil // a fresh replay window for the ring's next pass
			b.StartTimer()
		}
		if !f.take(pkts[i%ring], nil) {
			b.Fatal("not taken")
		}
	}
}

// On a shared port, a datagram goes to the fast path whose stream claims
// its SSRC; an SSRC two connections claim goes to neither (Pion's mux
// routes by address), until one lets go.
func TestSharedPortRoutesBySSRCUnlessTwoClaimIt(t *testing.T) {
	s := newFastPaths()
	f, fReads := attachedFastPath(t, 7)
	g, gReads := attachedFastPath(t, 7)
	fCtx, err := f.keys.remoteContext()
	if err != nil {
		t.Fatal(err)
	}
	gCtx, err := g.keys.remoteContext()
	if err != nil {
		t.Fatal(err)
	}
	s.claim(7, f)
	if !s.take(sealed(t, fCtx, 7, 1), nil) || *fReads != 1 {
		t.Fatalf("a claimed SSRC: %d reads, want routed and read", *fReads)
	}
	s.claim(7, g)
	if s.take(sealed(t, gCtx, 7, 1), nil) || s.take(sealed(t, fCtx, 7, 2), nil) {
		t.Error("an SSRC two connections claim was routed")
	}
	s.release(7, f)
	if !s.take(sealed(t, gCtx, 7, 2), nil) || *gReads != 1 {
		t.Errorf("after one let go: %d reads at the other, want 1", *gReads)
	}
	s.release(7, g)
	if s.take(sealed(t, gCtx, 7, 3), nil) || len(s.claims) != 0 {
		t.Errorf("an SSRC nobody claims was routed, or left a claim (%d)", len(s.claims))
	}
}
