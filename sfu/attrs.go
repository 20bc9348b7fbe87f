package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// reusedAttrs gives each stream one attributes map for all its packets.
// Pion reads each packet received with no attributes, so the first
// interceptor to look at its header (the NACK generator) makes a map and
// a parsed header for every packet, for the others to share; and it
// writes each packet sent with none, so the bandwidth estimator makes a
// map for every packet to note the transport-wide sequence number's
// extension id in. As the innermost interceptor of a publisher
// connection's chain, reusedAttrs has the packets received read with the
// stream's own map, the header parsed for the last packet parsed again,
// in place, for the next; as the outermost of a subscriber connection's,
// it has the packets sent written with the stream's own map, emptied
// first. Each stream has one reader, and one writer, at a time (a
// downTrack writes under its lock), and no interceptor keeps a packet's
// attributes beyond its Read or Write.
type reusedAttrs struct {
	interceptor.NoOp
}

// reusedAttrsFactory makes reusedAttrs.
type reusedAttrsFactory struct{}

// NewInterceptor implements interceptor.Factory.
func (reusedAttrsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &reusedAttrs{}, nil
}

// BindRemoteStream implements interceptor.Interceptor.
func (*reusedAttrs) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	attrs := make(interceptor.Attributes, 1)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil || a != nil {
			return n, a, err
		}
		refresh(attrs, b[:n])
		return n, attrs, nil
	})
}

// BindLocalStream implements interceptor.Interceptor.
func (*reusedAttrs) BindLocalStream(_ *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	attrs := make(interceptor.Attributes, 1)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if a != nil {
			return writer.Write(h, payload, a)
		}
		clear(attrs)
		return writer.Write(h, payload, attrs)
	})
}

// refresh makes attrs describe packet p: a header parsed for an earlier
// packet is parsed again from p (found by its type: Pion's key for it is
// its own); anything else is dropped.
func refresh(attrs interceptor.Attributes, p []byte) {
	for k, v := range attrs {
		if h, ok := v.(*rtp.Header); ok {
			if _, err := h.Unmarshal(p); err == nil {
				continue
			}
		}
		delete(attrs, k)
	}
}
