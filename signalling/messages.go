package signalling

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ProtocolVersion is the version of PROTOCOL.md this server speaks.
const ProtocolVersion = 1

// Client message types.
const (
	msgJoin      = "join"
	msgOffer     = "offer"
	msgAnswer    = "answer"
	msgCandidate = "candidate"
	msgLeave     = "leave"
	msgPing      = "ping"
	msgRestart   = "restart"
	msgQuality   = "quality"
)

// Server message types.
const (
	msgWelcome           = "welcome"
	msgState             = "state"
	msgParticipantJoined = "participantJoined"
	msgParticipantLeft   = "participantLeft"
	msgWarning           = "warning"
	msgEnded             = "ended"
	msgError             = "error"
	msgPong              = "pong"
	msgICEServers        = "iceServers"
	msgParticipantState  = "participantState"
)

// Participant states carried by participantState (and by a welcome's
// participants list for someone whose place is being held).
const (
	peerReconnecting = "reconnecting"
	peerConnected    = "connected"
)

// Video layers a quality message may ask for: the simulcast rids, lowest
// first, and none.
const (
	layerQuarter = "q"
	layerHalf    = "h"
	layerFull    = "f"
	layerNone    = "none"
)

// validLayer reports whether l is a maxLayer value of the quality message.
func validLayer(l string) bool {
	switch l {
	case layerQuarter, layerHalf, layerFull, layerNone:
		return true
	}
	return false
}

// Call states as the protocol names them.
const (
	stateWaiting = "waiting"
	stateLive    = "live"
	stateEnded   = "ended"
)

// Reasons carried by an ended message.
const (
	EndTime      = "time"
	EndLeft      = "left"
	EndReplaced  = "replaced"
	EndCancelled = "cancelled"
	EndShutdown  = "shutdown"
	EndStaff     = "staff"
)

// inbound is any client message; which fields matter depends on Type.
type inbound struct {
	Type      string                   `json:"type"`
	Token     string                   `json:"token"`
	Version   int                      `json:"version"`
	SDP       string                   `json:"sdp"`
	Target    string                   `json:"target"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	// Resume, in join: the client still holds the peer connections of an
	// earlier connection and asks to resume them (see Reconnection).
	Resume bool `json:"resume"`
	// ParticipantID and MaxLayer are the fields of quality.
	ParticipantID string `json:"participantId"`
	MaxLayer      string `json:"maxLayer"`
}

type peerInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	// State is "reconnecting" for someone whose place is being held in a
	// welcome's participants list; empty otherwise.
	State string `json:"state,omitempty"`
	// VideoPaused and Muted are staff moderation in force.
	VideoPaused bool `json:"videoPaused,omitempty"`
	Muted       bool `json:"muted,omitempty"`
}

type callInfo struct {
	BookingID int64     `json:"bookingId"`
	Reference string    `json:"reference"`
	CallType  string    `json:"callType"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	State     string    `json:"state"`
	Recorded  bool      `json:"recorded"`
}

type welcomeMsg struct {
	Type         string             `json:"type"`
	Version      int                `json:"version"`
	Participant  peerInfo           `json:"participant"`
	Call         callInfo           `json:"call"`
	Participants []peerInfo         `json:"participants"`
	ICEServers   []webrtc.ICEServer `json:"iceServers"`
	ICEExpiresAt time.Time          `json:"iceServersExpireAt,omitzero"`
	ServerTime   time.Time          `json:"serverTime"`
	// Resumed says the participant's media session was kept from an earlier
	// connection: the client keeps its peer connections and restarts ICE.
	Resumed bool `json:"resumed"`
	// Monitor is set for a security officer's hidden monitor only.
	Monitor *monitorInfo `json:"monitor,omitempty"`
}

// participantStateMsg tells the others that someone lost their connection
// (their place is being held) or is back.
type participantStateMsg struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
	State         string `json:"state"`
}

// iceServersMsg replaces a participant's ICE servers before their
// credentials expire.
type iceServersMsg struct {
	Type       string             `json:"type"`
	ICEServers []webrtc.ICEServer `json:"iceServers"`
	ExpiresAt  time.Time          `json:"expiresAt"`
}

type stateMsg struct {
	Type     string    `json:"type"`
	State    string    `json:"state"`
	StartsAt time.Time `json:"startsAt"`
	EndsAt   time.Time `json:"endsAt"`
}

type participantJoinedMsg struct {
	Type        string   `json:"type"`
	Participant peerInfo `json:"participant"`
}

type participantLeftMsg struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
}

type sdpMsg struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type candidateMsg struct {
	Type      string                  `json:"type"`
	Target    string                  `json:"target"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

type warningMsg struct {
	Type        string    `json:"type"`
	MinutesLeft int       `json:"minutesLeft"`
	EndsAt      time.Time `json:"endsAt"`
}

type endedMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Fatal   bool   `json:"fatal"`
	Ref     string `json:"ref,omitempty"`
}

type pongMsg struct {
	Type       string    `json:"type"`
	ServerTime time.Time `json:"serverTime"`
}
