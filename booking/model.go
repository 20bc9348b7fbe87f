package booking

import (
	"encoding/json"
	"time"
)

// Prison is one establishment. Timezone is an IANA zone name; slot templates
// are in its wall-clock time.
type Prison struct {
	ID       int64  `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// DefaultTimezone is the zone of a prison created without one.
const DefaultTimezone = "Europe/London"

// Room is a place in a prison where calls happen (its devices and bandwidth
// set the capacity of its slot templates).
type Room struct {
	ID       int64  `json:"id"`
	PrisonID int64  `json:"prisonId"`
	Name     string `json:"name"`
}

// SlotTemplate repeats weekly, or fortnightly (RepeatWeeks 2, counted from
// the Monday-based week of ValidFrom): on Weekday, from StartMinute to
// EndMinute (local wall-clock minutes after midnight; EndMinute may be 1440),
// it offers back-to-back slots of SlotMinutes, each taking Capacity
// concurrent calls of CallTypes. Dates are civil dates held as midnight UTC;
// a zero ValidTo means open-ended. ExcludedDates, filled in on read, are the
// dates within its validity on which it offers nothing (its own exclusions,
// its room's and its prison's), sorted. RepeatWeeks 0 means 1.
type SlotTemplate struct {
	ID          int64
	PrisonID    int64
	RoomID      int64
	RoomName    string // filled in on read
	Weekday     time.Weekday
	StartMinute int
	EndMinute   int
	SlotMinutes int
	Capacity    int
	CallTypes   []CallType
	ValidFrom   time.Time
	ValidTo     time.Time
	RepeatWeeks int
	// ExcludedDates is read-only: see ExcludedDate.
	ExcludedDates []time.Time
}

// ValidOn reports whether the civil date d (midnight UTC) is within the
// template's validity.
func (t SlotTemplate) ValidOn(d time.Time) bool {
	if d.Before(t.ValidFrom) {
		return false
	}
	return t.ValidTo.IsZero() || !d.After(t.ValidTo)
}

// PrisonerStatus says whether a prisoner is still held at their prison.
type PrisonerStatus string

// Prisoner statuses.
const (
	PrisonerActive      PrisonerStatus = "active"
	PrisonerReleased    PrisonerStatus = "released"
	PrisonerTransferred PrisonerStatus = "transferred"
)

// Prisoner is a person in custody at a prison. Number is the prison number
// (for example A1234BC).
type Prisoner struct {
	ID       int64          `json:"id"`
	PrisonID int64          `json:"prisonId"`
	Number   string         `json:"number"`
	Name     string         `json:"name"`
	Status   PrisonerStatus `json:"status"`
	// Location is the prisoner's wing/landing/cell, e.g. "B-2-14" ("" when
	// not known): registered devices there join the prisoner's calls.
	Location string `json:"location"`
	// OneWayVideo is the prisoner's one-way video policy: the prisoner sees
	// their visitors, who only hear the prisoner (the media server does not
	// forward the prisoner's video to them). Set by admins.
	OneWayVideo bool `json:"oneWayVideo"`
}

// ContactKind is what a contact may join: social, legal or probation calls.
type ContactKind string

// Contact kinds; each matches the CallType of the same name.
const (
	ContactSocial    ContactKind = "social"
	ContactLegal     ContactKind = "legal"
	ContactProbation ContactKind = "probation"
)

// CallType is the call type this kind of contact joins.
func (k ContactKind) CallType() CallType { return CallType(k) }

// Valid reports whether k is a known kind.
func (k ContactKind) Valid() bool { return k.CallType().Valid() }

// Contact is a person outside the prison: a family member or friend, a legal
// adviser or a probation officer. A zero DateOfBirth means unknown.
type Contact struct {
	ID          int64
	Name        string
	Kind        ContactKind
	DateOfBirth time.Time
}

// PrisonerContact is a contact on one prisoner's list.
type PrisonerContact struct {
	PrisonerID int64
	Contact
	Relationship string
	Approved     bool
	Banned       bool
}

// StaffRole is what a staff account may do.
type StaffRole string

// Staff roles.
const (
	StaffAdmin     StaffRole = "admin"
	StaffClerk     StaffRole = "clerk"
	StaffProbation StaffRole = "probation"
	StaffSecurity  StaffRole = "security"
)

// Valid reports whether r is a known role.
func (r StaffRole) Valid() bool {
	return r == StaffAdmin || r == StaffClerk || r == StaffProbation || r == StaffSecurity
}

// Staff is a staff account. PrisonID 0 means no prison (only meaningful
// for admins, who see every prison).
type Staff struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	Name         string    `json:"name"`
	Role         StaffRole `json:"role"`
	PrisonID     int64     `json:"prisonId"`
	PasswordHash string    `json:"-"`
	// Disabled accounts cannot log in and have no sessions.
	Disabled bool `json:"disabled"`
	// DownloadRecordings lets a security officer download recordings (not
	// only play them). Set by admins.
	DownloadRecordings bool `json:"downloadRecordings"`
	// caseload is a probation officer's caseload, loaded by
	// authentication (see withCaseload); nil sees no prisoner.
	caseload *caseload
}

// Session is a logged-in staff session. The token itself is never stored,
// only its SHA-256 (hex).
type Session struct {
	TokenHash string
	StaffID   int64
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is when the session was last used (to the minute or so):
	// a session idle for Config.SessionIdleTimeout ends.
	LastSeenAt time.Time
}

// AuditEntry is one line of the append-only, hash-chained audit log. Hash
// is auditHash(PrevHash, entry); see audit.go.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   string
	Subject  string
	Detail   json.RawMessage
	PrevHash string
	Hash     string
}
