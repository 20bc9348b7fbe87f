package booking

import (
	"errors"
	"fmt"
)

// ErrNotFound means the record does not exist, or is not visible to the
// caller. Store and Service errors wrap it.
var ErrNotFound = errors.New("booking: not found")

// Code is a stable, machine-readable reason why the service refused a
// request. It is the problem document's "code" in the HTTP API. A Code is an
// error, so errors.Is(err, booking.ErrSlotFull) holds for any *Refusal that
// carries it.
type Code string

// Error returns the code itself.
func (c Code) Error() string { return string(c) }

// Refusal codes. Each has its own HTTP status in the API (see API.md).
const (
	ErrValidation          Code = "validation"             // a field is missing, malformed or out of bounds
	ErrForbidden           Code = "forbidden"              // the staff member's role or prison does not allow it
	ErrSlotNotFound        Code = "slot_not_found"         // no such slot (bad id, no template, not on that date)
	ErrCallTypeNotAllowed  Code = "call_type_not_allowed"  // the slot does not take this call type
	ErrOutsideWindow       Code = "outside_booking_window" // the slot is too soon, already over, or too far ahead
	ErrPrisonerNotFound    Code = "prisoner_not_found"     // no such prisoner
	ErrPrisonerNotAtPrison Code = "prisoner_not_at_prison" // the prisoner is held at another prison
	ErrPrisonerInactive    Code = "prisoner_inactive"      // the prisoner is released or transferred
	ErrContactNotApproved  Code = "contact_not_approved"   // not on the prisoner's approved contact list
	ErrContactBanned       Code = "contact_banned"         // on the list but banned
	ErrContactKind         Code = "contact_kind_mismatch"  // e.g. a social contact on a legal call
	ErrTooManyVisitors     Code = "too_many_visitors"      // more than MaxContacts contacts
	ErrTooManyAdults       Code = "too_many_adults"        // more than MaxAdults adults on a social call
	ErrLeadVisitorUnder18  Code = "lead_visitor_under_18"  // the first visitor of a social call is a child
	ErrPrisonerBusy        Code = "prisoner_busy"          // the prisoner has an overlapping active booking
	ErrSlotFull            Code = "slot_full"              // no capacity left in the slot
	ErrNotActive           Code = "booking_not_active"     // the booking is already completed, cancelled, ...
)

// Refusal is a request the service refused under a booking rule: a Code
// plus a plain-English detail for people.
type Refusal struct {
	Code   Code
	Detail string
}

// Error returns "code: detail".
func (r *Refusal) Error() string { return string(r.Code) + ": " + r.Detail }

// Is reports whether target is r's Code.
func (r *Refusal) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == r.Code
}

// refuse builds a Refusal with a formatted detail.
func refuse(c Code, format string, args ...any) *Refusal {
	return &Refusal{Code: c, Detail: fmt.Sprintf(format, args...)}
}

// Codes of holds, allowances, non-associations and outcomes.
const (
	ErrHoldNotFound       Code = "hold_not_found"         // no such hold: it expired, was released or used, or is at a prison the caller cannot see
	ErrHoldMismatch       Code = "hold_mismatch"          // the hold is for another slot or prisoner
	ErrAllowanceExhausted Code = "allowance_exhausted"    // the social call does not fit the prisoner's monthly allowance
	ErrNonAssociation     Code = "non_association"        // a non-associated prisoner is booked into, or holds a place in, the slot
	ErrInvalidTransition  Code = "invalid_transition"     // the booking or prisoner is not in a state that allows this change
	ErrOutcomeWindow      Code = "outside_outcome_window" // an outcome before the call's start or after the prison's outcome window
)

// Codes of the staff API's authentication and request handling.
const (
	ErrBadCredentials  Code = "bad_credentials"   // wrong username or password
	ErrUnauthenticated Code = "unauthenticated"   // no valid session
	ErrCSRF            Code = "csrf"              // cookie session without the matching X-CSRF-Token
	ErrTooLarge        Code = "request_too_large" // body over the size limit
)

// Codes of the administration API and of login throttling.
const (
	ErrAlreadyExists   Code = "already_exists"        // a record with that code, name, number or username exists, or the link is already there
	ErrInUse           Code = "in_use"                // the record is still used (by bookings or templates) and cannot be deleted
	ErrNotProbation    Code = "not_probation_officer" // a caseload is only for a staff member with the probation role
	ErrTooManyAttempts Code = "too_many_attempts"     // too many failed logins for that username or from that address; retry later
)

// Codes of live monitoring and recordings.
const (
	ErrLegalPrivilege      Code = "legal_privilege"       // a legal call admits no monitor and no recorder (sight-only supervision aside, video only); the attempt is audited
	ErrCallNotOpen         Code = "call_not_open"         // the call's room is not open now (not yet, no longer, or the booking is not active)
	ErrCallNotLive         Code = "call_not_live"         // nobody is connected to the call, or not the participant named
	ErrRecordingDamaged    Code = "recording_damaged"     // the recording's manifest is missing or does not match the hash recorded when it finished
	ErrRangeNotSatisfiable Code = "range_not_satisfiable" // the Range asked of a recording's file is outside it
)
