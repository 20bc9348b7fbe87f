package booking

import "time"

// CallType is the kind of call a booking is for.
type CallType string

// The three call types of DOMAIN.md.
const (
	CallSocial    CallType = "social"
	CallLegal     CallType = "legal"
	CallProbation CallType = "probation"
)

// Valid reports whether t is a known call type.
func (t CallType) Valid() bool {
	return t == CallSocial || t == CallLegal || t == CallProbation
}

// Status is where a booking is in its life.
type Status string

// Booking statuses: requested -> booked -> completed | cancelled | no_show |
// terminated | failed.
const (
	StatusRequested  Status = "requested"
	StatusBooked     Status = "booked"
	StatusCompleted  Status = "completed"
	StatusCancelled  Status = "cancelled"
	StatusNoShow     Status = "no_show"
	StatusTerminated Status = "terminated"
	StatusFailed     Status = "failed"
)

// Active reports whether a booking in status s still holds its slot.
func (s Status) Active() bool { return s == StatusRequested || s == StatusBooked }

// Role is a participant's part in a call. It decides what the client shows
// and, in later issues, what the media server lets them do.
type Role string

// Participant roles.
const (
	RolePrisoner  Role = "prisoner"
	RoleVisitor   Role = "visitor"
	RoleLegal     Role = "legal"
	RoleProbation Role = "probation"
)

// Booking is one scheduled call.
type Booking struct {
	ID           int64         `json:"id"`
	Reference    string        `json:"reference"`
	PrisonID     int64         `json:"prisonId"`
	RoomID       int64         `json:"roomId"`
	RoomName     string        `json:"roomName,omitempty"`
	TemplateID   int64         `json:"templateId"`
	SlotID       string        `json:"slotId"`
	PrisonerID   int64         `json:"prisonerId"`
	CallType     CallType      `json:"callType"`
	Status       Status        `json:"status"`
	StartsAt     time.Time     `json:"startsAt"`
	EndsAt       time.Time     `json:"endsAt"`
	CreatedAt    time.Time     `json:"createdAt"`
	CreatedBy    int64         `json:"createdBy"`
	StatusReason string        `json:"statusReason,omitempty"`
	Participants []Participant `json:"participants"`
	// Override is the staff override the booking was made with, if any.
	Override *Override `json:"override,omitempty"`
	// RebookOffered says a rebooking was offered when the call failed.
	RebookOffered bool `json:"rebookOffered"`
	// NeedsReview flags an active booking for staff review (the prisoner
	// moved, or a non-association now puts two prisoners in its slot), with
	// ReviewReason saying why.
	NeedsReview  bool   `json:"needsReview"`
	ReviewReason string `json:"reviewReason,omitempty"`
	// SightOnly is a legal call's "in sight, out of hearing" supervision:
	// security staff may watch its video, never hear it. Off by default, set
	// per call with SightOnlyReason (see SetSightOnly); never set on other
	// call types.
	SightOnly       bool   `json:"sightOnly"`
	SightOnlyReason string `json:"sightOnlyReason,omitempty"`
	// Recorded says whether the call is recorded, under the prison's
	// settings as they are when it is read: social calls always, probation
	// calls when the prison records them (Settings.RecordProbationCalls),
	// legal calls never.
	Recorded bool `json:"recorded"`
	// OneWayVideo is the prisoner's policy as it is when the booking is
	// read (Prisoner.OneWayVideo).
	OneWayVideo bool `json:"oneWayVideo"`
}

// Monitorable reports whether security staff may watch the call: social and
// probation calls, and legal calls only with SightOnly (and then video
// only). Legal privilege rests on this.
func (b *Booking) Monitorable() bool {
	switch b.CallType {
	case CallSocial, CallProbation:
		return true
	case CallLegal:
		return b.SightOnly
	}
	return false
}

// Participant is one person admitted to a booking. ID is the opaque id that
// the join token and the signalling protocol carry.
type Participant struct {
	ID         string `json:"id"`
	Role       Role   `json:"role"`
	Name       string `json:"name"`
	ContactID  int64  `json:"contactId,omitempty"`
	PrisonerID int64  `json:"prisonerId,omitempty"`
	JoinURL    string `json:"joinUrl,omitempty"`
}

// Participant returns the participant with id pid.
func (b *Booking) Participant(pid string) (Participant, bool) {
	for _, p := range b.Participants {
		if p.ID == pid {
			return p, true
		}
	}
	return Participant{}, false
}

// RoomOpensBefore is how long before the start the waiting room opens.
const RoomOpensBefore = 10 * time.Minute

// OpensAt is when participants may first join (the waiting room).
func (b *Booking) OpensAt() time.Time { return b.StartsAt.Add(-RoomOpensBefore) }
