package booking

import (
	"context"
	"time"
)

// AdminQueries are the store's reads and writes for the administration
// API, prisoner devices, probation caseloads and login throttling. They are
// part of Queries; lookups by id wrap ErrNotFound, unique violations
// ErrDuplicate.
type AdminQueries interface {
	SetupQueries
	PeopleAdminQueries
	StaffAdminQueries
	DeviceQueries
	CaseloadQueries
	LoginThrottleQueries
}

// SetupQueries covers changes to prisons, rooms, slot templates and
// excluded dates.
type SetupQueries interface {
	// UpdatePrison sets a prison's name and time zone.
	UpdatePrison(ctx context.Context, p Prison) error
	Room(ctx context.Context, id int64) (Room, error)
	// Rooms lists a prison's rooms by name.
	Rooms(ctx context.Context, prisonID int64) ([]Room, error)
	// UpdateRoom renames a room.
	UpdateRoom(ctx context.Context, r Room) error
	// RoomUse counts the slot templates and bookings of a room.
	RoomUse(ctx context.Context, id int64) (templates, bookings int, err error)
	// DeleteRoom deletes a room (and its excluded dates); the caller checks
	// RoomUse first.
	DeleteRoom(ctx context.Context, id int64) error
	// UpdateSlotTemplate sets a template's capacity, call types and
	// ValidTo; the rest of a template never changes, so that the slots
	// already booked keep their meaning.
	UpdateSlotTemplate(ctx context.Context, t SlotTemplate) error
	// TemplateBookings counts the bookings (of any status) of a template.
	TemplateBookings(ctx context.Context, id int64) (int, error)
	// DeleteSlotTemplate deletes a template (and its excluded dates); the
	// caller checks TemplateBookings first.
	DeleteSlotTemplate(ctx context.Context, id int64) error
	CreateExcludedDate(ctx context.Context, e ExcludedDate) (int64, error)
	ExcludedDate(ctx context.Context, id int64) (ExcludedDate, error)
	// ExcludedDates lists a prison's excluded dates, by date.
	ExcludedDates(ctx context.Context, prisonID int64) ([]ExcludedDate, error)
	DeleteExcludedDate(ctx context.Context, id int64) error
}

// PeopleAdminQueries covers changes to prisoners and contacts.
type PeopleAdminQueries interface {
	// UpdatePrisoner sets a prisoner's name and location.
	UpdatePrisoner(ctx context.Context, p Prisoner) error
	Contact(ctx context.Context, id int64) (Contact, error)
	// PrisonerContact reads one contact on one prisoner's list.
	PrisonerContact(ctx context.Context, prisonerID, contactID int64) (PrisonerContact, error)
}

// StaffAdminQueries covers changes to staff accounts and the use of
// sessions.
type StaffAdminQueries interface {
	// AllStaff lists every staff account by username.
	AllStaff(ctx context.Context) ([]Staff, error)
	// UpdateStaff sets an account's name, role, prison and disabled flag.
	UpdateStaff(ctx context.Context, s Staff) error
	// DeleteStaffSessions ends every session of a staff member and returns
	// how many there were.
	DeleteStaffSessions(ctx context.Context, staffID int64) (int64, error)
	// TouchSession records that a session was used at at.
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
}

// DeviceQueries covers registered prisoner devices.
type DeviceQueries interface {
	CreateDevice(ctx context.Context, d Device) (int64, error)
	Device(ctx context.Context, id int64) (Device, error)
	// Devices lists a prison's devices by name.
	Devices(ctx context.Context, prisonID int64) ([]Device, error)
	// DeviceBySecretHash finds the device whose secret hashes to hash.
	DeviceBySecretHash(ctx context.Context, hash string) (Device, error)
	// SetDeviceActive enables or disables a device.
	SetDeviceActive(ctx context.Context, id int64, active bool) error
	// DeviceMayJoin reports whether device deviceID may join booking
	// bookingID: the device is active, at the booking's prison, and at the
	// location where the booking's prisoner is now held (a known location,
	// at that prison; for a kiosk, also a location under its own), and the
	// booking is active.
	DeviceMayJoin(ctx context.Context, deviceID, bookingID int64) (bool, error)
}

// CaseloadQueries covers probation officers' caseloads.
type CaseloadQueries interface {
	// AddToCaseload puts a prisoner on a staff member's caseload; it wraps
	// ErrDuplicate when already there.
	AddToCaseload(ctx context.Context, staffID, prisonerID int64) error
	// RemoveFromCaseload takes a prisoner off; it wraps ErrNotFound when
	// not there.
	RemoveFromCaseload(ctx context.Context, staffID, prisonerID int64) error
	// Caseload lists a staff member's caseload prisoners by name.
	Caseload(ctx context.Context, staffID int64) ([]Prisoner, error)
	// OnCaseload reports whether the prisoner is on the staff member's
	// caseload.
	OnCaseload(ctx context.Context, staffID, prisonerID int64) (bool, error)
}

// LoginThrottleQueries covers the record of failed logins.
type LoginThrottleQueries interface {
	// RecordLoginFailure records a failed login, and forgets the failures
	// before prune.
	RecordLoginFailure(ctx context.Context, username, clientIP string, at, prune time.Time) error
	// LoginFailures counts the failed logins at or after since for
	// username and for clientIP, with the oldest of each.
	LoginFailures(ctx context.Context, username, clientIP string, since time.Time) (LoginFailureCounts, error)
	// ClearLoginFailures forgets username's failed logins.
	ClearLoginFailures(ctx context.Context, username string) error
}

// LoginFailureCounts are the recent failed logins of one username and one
// client address. The oldest times are zero when the count is.
type LoginFailureCounts struct {
	User, IP             int
	UserOldest, IPOldest time.Time
}
