// Package sfu is Gatehouse's selective forwarding unit: the packet plane.
//
// A Room holds the Participants of one call. Each Participant has two
// peer connections, as LiveKit does: a publisher connection on which the
// client always offers and sends its own tracks, and a subscriber connection
// on which the server always offers and sends everyone else's tracks. With
// exactly one offerer per connection, renegotiation can never collide.
//
// Every published track is read once and written to one shared local track
// bound to each subscriber's connection. Loss recovery rides on Pion's
// default interceptors: NACKs from subscribers are answered from the send
// buffer (RFC 4585), NACKs are generated towards publishers, and picture loss
// indications (PLI, RFC 4585 section 6.3.1) are forwarded to the publisher,
// throttled.
//
// The package knows nothing of bookings, HTTP or the signalling wire format:
// it talks to its caller through the small Signaller interface.
package sfu
