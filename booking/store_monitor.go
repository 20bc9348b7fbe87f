package booking

import (
	"context"
	"time"
)

// MonitorQueries are the store's reads and writes for live monitoring and
// recordings: the calls open now, a legal call's sight-only supervision,
// the recordings of calls and the staff actions taken on them. They are
// part of Queries; lookups by id wrap ErrNotFound.
type MonitorQueries interface {
	// OpenBookings lists a prison's active bookings whose room is open at
	// now (StartsAt-RoomOpensBefore <= now < EndsAt), with their
	// participants, by start.
	OpenBookings(ctx context.Context, prisonID int64, now time.Time) ([]Booking, error)
	// SetSightOnly sets a booking's sight-only supervision and its reason.
	// It wraps ErrNotFound when there is no such booking.
	SetSightOnly(ctx context.Context, id int64, on bool, reason string) error

	// CreateRecording inserts a recording and returns its id; r.ID is
	// ignored. A second recording of a booking wraps ErrDuplicate; one of a
	// legal call is refused by the database itself.
	CreateRecording(ctx context.Context, r Recording) (int64, error)
	// Recording reads one recording. Inside InTx it stays locked until
	// the transaction ends (PostgreSQL: FOR UPDATE), so that what is read is
	// what is changed.
	Recording(ctx context.Context, id int64) (Recording, error)
	// RecordingOfBooking reads the recording of a booking, locked as
	// Recording locks it.
	RecordingOfBooking(ctx context.Context, bookingID int64) (Recording, error)
	// Recordings lists a prison's recordings started in [from, to), by
	// start.
	Recordings(ctx context.Context, prisonID int64, from, to time.Time) ([]Recording, error)
	// UpdateRecording stores r's status, failure, manifest hash, end,
	// deletion date, hold and deletion time.
	UpdateRecording(ctx context.Context, r Recording) error
	// DueRecordings lists up to limit recordings, oldest due first, that
	// are past their DeleteAfter at now, not held and not deleted.
	DueRecordings(ctx context.Context, now time.Time, limit int) ([]Recording, error)
	// SetRetention recomputes DeleteAfter of every recording of a prison
	// not yet deleted: its end (or start, when it has none) plus keep.
	SetRetention(ctx context.Context, prisonID int64, keep time.Duration) error

	// AddStaffAction records an action taken on a call and returns its id;
	// a.ID is ignored.
	AddStaffAction(ctx context.Context, a StaffActionRecord) (int64, error)
	// StaffActions lists the actions taken on a booking's call, by time,
	// with the staff member's name.
	StaffActions(ctx context.Context, bookingID int64) ([]StaffActionRecord, error)
}

// RecordingStatus is where a recording is in its life.
type RecordingStatus string

// Recording statuses: recording -> complete | failed, then deleted.
const (
	RecordingStatusRecording RecordingStatus = "recording"
	RecordingStatusComplete  RecordingStatus = "complete"
	RecordingStatusFailed    RecordingStatus = "failed"
	RecordingStatusDeleted   RecordingStatus = "deleted"
)

// Recording is the recording of one call: a directory of per-track files
// and their manifest, under Config.RecordingsDir. Reference and CallType
// are the booking's, filled in on read.
type Recording struct {
	ID        int64
	BookingID int64
	PrisonID  int64
	Reference string
	CallType  CallType
	// Dir is the recording's directory relative to Config.RecordingsDir
	// ("" when it failed before it had one).
	Dir    string
	Status RecordingStatus
	// Failure says why a failed recording failed.
	Failure string
	// ManifestSHA256 is the hex SHA-256 of manifest.json, recorded when
	// the recording finished; the manifest is checked against it on read.
	ManifestSHA256 string
	StartedAt      time.Time
	EndedAt        time.Time // zero until it ends
	// DeleteAfter is when retention deletes it, unless it is held.
	DeleteAfter time.Time
	// A hold keeps the recording past DeleteAfter: HeldAt is zero when
	// there is none.
	HoldReason string
	HeldBy     int64
	HeldAt     time.Time
	DeletedAt  time.Time // zero until deleted
}

// Held reports whether a hold keeps r.
func (r Recording) Held() bool { return !r.HeldAt.IsZero() }

// StaffActionRecord is one action security staff took on a call, as the
// playback timeline shows it. StaffName is filled in on read.
type StaffActionRecord struct {
	ID            int64
	BookingID     int64
	At            time.Time
	StaffID       int64
	StaffName     string
	Action        string
	ParticipantID string
	Reason        string
}
