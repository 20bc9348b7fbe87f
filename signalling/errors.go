package signalling

import "errors"

// Error codes sent in error messages; PROTOCOL.md describes each.
const (
	CodeBadMessage         = "bad_message"
	CodeUnknownType        = "unknown_type"
	CodeNotJoined          = "not_joined"
	CodeAlreadyJoined      = "already_joined"
	CodeNotLive            = "not_live"
	CodeNegotiationFailed  = "negotiation_failed"
	CodeTooManyErrors      = "too_many_errors"
	CodeJoinTimeout        = "join_timeout"
	CodeTokenInvalid       = "token_invalid"
	CodeTokenExpired       = "token_expired"
	CodeTooEarly           = "too_early"
	CodeCallEnded          = "call_ended"
	CodeBookingNotFound    = "booking_not_found"
	CodeBookingCancelled   = "booking_cancelled"
	CodeVersionUnsupported = "version_unsupported"
	CodeInternal           = "internal"
	CodeTooManyReconnects  = "too_many_reconnects"
	CodeRateLimited        = "rate_limited"
)

// AdmissionError is a refusal to admit a participant, with the protocol code
// the client receives.
type AdmissionError struct {
	Code    string
	Message string
	Err     error
}

func (e *AdmissionError) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying cause.
func (e *AdmissionError) Unwrap() error { return e.Err }

// ErrServerClosed is returned once the server is shutting down.
var ErrServerClosed = errors.New("signalling: server closed")

func refuse(code, msg string, err error) *AdmissionError {
	return &AdmissionError{Code: code, Message: msg, Err: err}
}
