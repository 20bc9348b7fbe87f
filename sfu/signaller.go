package sfu

import "github.com/pion/webrtc/v4"

// Target names one of a participant's two peer connections.
type Target string

// The two connections of a participant.
const (
	// Publisher is the connection the client offers on and sends its media.
	Publisher Target = "pub"
	// Subscriber is the connection the server offers on and sends others' media.
	Subscriber Target = "sub"
)

// Valid reports whether t names a connection.
func (t Target) Valid() bool { return t == Publisher || t == Subscriber }

// Signaller carries the SFU's half of the negotiation to one client. Its
// methods must not block: implementations queue the message.
type Signaller interface {
	// SendAnswer answers the client's publisher offer.
	SendAnswer(sdp string)
	// SendOffer offers the subscriber connection; the client answers it.
	SendOffer(sdp string)
	// SendCandidate trickles one local ICE candidate.
	SendCandidate(target Target, c webrtc.ICECandidateInit)
	// Notify sends one media event to the client (active speakers, layers
	// to publish, statistics): a value that marshals to a protocol message.
	Notify(msg any)
}
