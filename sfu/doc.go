// Package sfu is Gatehouse's selective forwarding unit: the packet plane.
//
// A Room holds the Participants of one call. Each Participant has two
// peer connections, as LiveKit does: a publisher connection on which the
// client always offers and sends its own tracks, and a subscriber connection
// on which the server always offers and sends everyone else's tracks. With
// exactly one offerer per connection, renegotiation can never collide.
//
// Every published track (one to three simulcast layers) is read once per
// layer into a packet cache and written to a downtrack per subscriber,
// which rewrites sequence numbers and timestamps so that layer switches are
// seamless (downtrack.go). Received packets take the receive fast path
// (fastpath.go): a publisher connection's socket reader decrypts them with
// the connection's own SRTP keys and reads them through the track's
// interceptors at once, instead of Pion's four goroutine hand-offs. It
// forwards audio, and video to a track's only subscriber, itself; video
// for more subscribers goes to the layer's own goroutine (handoff.go).
// NACKs from subscribers are answered from the packet cache, NACKs are
// generated towards publishers, and picture loss indications are forwarded
// to the publisher, throttled. Each subscriber connection's bandwidth
// estimate (GCC over transport-wide feedback) decides its layers
// (allocate.go).
//
// The package knows nothing of bookings, HTTP or the signalling wire format:
// it talks to its caller through the small Signaller interface.
package sfu
