package sfu

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// twccInterval is how often a publisher is sent transport-wide congestion
// control feedback (as Pion's and libwebrtc's receivers do).
const twccInterval = 100 * time.Millisecond

// twccFeedbackFactory makes, for each publisher connection, the
// interceptor that records the arrival of every packet carrying a
// transport-wide sequence number and sends the publisher feedback on them
// every twccInterval, for its bandwidth estimator. It does what Pion's
// twcc.SenderInterceptor does, without that one's goroutine hand-off per
// packet: Pion passes each arrival to its feedback loop over an
// unbuffered channel, which wakes the loop for every packet received;
// here the reader records it under a mutex.
type twccFeedbackFactory struct {
	log *slog.Logger
}

// NewInterceptor implements interceptor.Factory.
func (f twccFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccFeedback{
		log:   f.log,
		rec:   twcc.NewRecorder(rand.Uint32()),
		start: time.Now(),
		done:  make(chan struct{}),
	}, nil
}

// twccFeedback is one publisher connection's transport-wide feedback.
type twccFeedback struct {
	interceptor.NoOp
	log   *slog.Logger
	start time.Time // arrival times are microseconds since

	mu      sync.Mutex
	rec     *twcc.Recorder
	started bool // the loop runs
	closed  bool

	done chan struct{}
	wg   sync.WaitGroup
}

// BindRTCPWriter implements interceptor.Interceptor: it starts the loop
// that sends feedback through writer.
func (t *twccFeedback) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.started {
		return writer
	}
	t.started = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.loop(writer)
	}()
	return writer
}

// loop sends feedback on what has arrived since the last, every
// twccInterval, until the connection closes.
func (t *twccFeedback) loop(writer interceptor.RTCPWriter) {
	tick := time.NewTicker(twccInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		pkts := t.rec.BuildFeedbackPacket()
		t.mu.Unlock()
		if len(pkts) == 0 {
			continue
		}
		if _, err := writer.Write(pkts, nil); err != nil {
			t.log.Debug("transport-wide feedback not sent", "err", err)
		}
	}
}

// BindRemoteStream implements interceptor.Interceptor: a stream whose
// packets carry the transport-wide sequence number has each arrival
// recorded.
func (t *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == rtcconf.TransportCCURI {
			id = uint8(e.ID)
			break
		}
	}
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = make(interceptor.Attributes)
		}
		h, err := a.GetRTPHeader(b[:n])
		if err != nil {
			return n, a, err
		}
		t.record(h, id, ssrc)
		return n, a, nil
	})
}

// record notes the arrival, now, of the packet with header h.
func (t *twccFeedback) record(h *rtp.Header, id uint8, ssrc uint32) {
	ext := h.GetExtension(id)
	if len(ext) < 2 {
		return
	}
	var tcc rtp.TransportCCExtension
	if err := tcc.Unmarshal(ext); err != nil {
		return
	}
	at := time.Since(t.start).Microseconds()
	t.mu.Lock()
	t.rec.Record(ssrc, tcc.TransportSequence, at)
	t.mu.Unlock()
}

// Close implements interceptor.Interceptor: it stops the loop.
func (t *twccFeedback) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
