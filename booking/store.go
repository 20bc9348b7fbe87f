package booking

import (
	"context"
	"time"
)

// Store is the booking database. *SQLiteStore (the embedded default) and
// *PostgresStore implement it over one SQL core, and both pass the same
// contract tests.
//
// Reads and writes made directly on a Store run on their own. InTx runs fn
// in one transaction, so the booking rules read and write a consistent
// state and capacity can never be oversold. fn must use only the Queries it
// is given. The transaction commits when fn returns nil and rolls back
// otherwise. Concurrent InTx calls behave as if run one at a time for
// everything the booking rules check, provided that fn calls LockBooking
// before it checks and writes a booking:
//   - SQLite runs one InTx at a time (an in-process lock and BEGIN
//     IMMEDIATE), and LockBooking does nothing;
//   - PostgreSQL runs them concurrently at READ COMMITTED: LockBooking locks
//     the slot and the prisoner until the transaction ends, and ChainAudit
//     locks the audit chain head (within the commit's own round trip), so
//     transactions wait for each other only where they touch the same
//     slot or prisoner, and briefly for the chain. A transaction that
//     still hits a deadlock is rolled back and fn runs again, so fn must
//     have no effect outside q other than setting its own results.
type Store interface {
	Queries
	InTx(ctx context.Context, fn func(q Queries) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Queries are the reads and writes of the booking store, available both on
// the Store and inside InTx. Lookups by id wrap ErrNotFound.
type Queries interface {
	PrisonQueries
	PeopleQueries
	StaffQueries
	BookingQueries
	AuditQueries
	RulesQueries
	AdminQueries
	MonitorQueries
}

// PrisonQueries covers prisons, rooms and slot templates.
type PrisonQueries interface {
	Prisons(ctx context.Context) ([]Prison, error)
	Prison(ctx context.Context, id int64) (Prison, error)
	CreatePrison(ctx context.Context, p Prison) (int64, error)
	CreateRoom(ctx context.Context, r Room) (int64, error)
	CreateSlotTemplate(ctx context.Context, t SlotTemplate) (int64, error)
	SlotTemplate(ctx context.Context, id int64) (SlotTemplate, error)
	SlotTemplates(ctx context.Context, prisonID int64) ([]SlotTemplate, error)
}

// PeopleQueries covers prisoners and their contacts.
type PeopleQueries interface {
	CreatePrisoner(ctx context.Context, p Prisoner) (int64, error)
	Prisoner(ctx context.Context, id int64) (Prisoner, error)
	Prisoners(ctx context.Context, prisonID int64) ([]Prisoner, error)
	CreateContact(ctx context.Context, c Contact) (int64, error)
	// LinkContact puts a contact on a prisoner's list (or updates the link).
	LinkContact(ctx context.Context, pc PrisonerContact) error
	PrisonerContacts(ctx context.Context, prisonerID int64) ([]PrisonerContact, error)
}

// StaffQueries covers staff accounts and their sessions.
type StaffQueries interface {
	CreateStaff(ctx context.Context, s Staff) (int64, error)
	StaffByID(ctx context.Context, id int64) (Staff, error)
	StaffByUsername(ctx context.Context, username string) (Staff, error)
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash string) (Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}

// BookingQueries covers bookings and their participants.
type BookingQueries interface {
	// CreateBooking inserts b and its participants (in order) and returns
	// the new id. b.ID is ignored.
	CreateBooking(ctx context.Context, b Booking) (int64, error)
	Booking(ctx context.Context, id int64) (Booking, error)
	// Bookings lists a prison's bookings starting in [from, to), by start.
	Bookings(ctx context.Context, prisonID int64, from, to time.Time) ([]Booking, error)
	// ActiveCounts counts the active bookings per slot id of a prison's
	// bookings starting in [from, to).
	ActiveCounts(ctx context.Context, prisonID int64, from, to time.Time) (map[string]int, error)
	// ActiveInSlot counts the active bookings of one slot.
	ActiveInSlot(ctx context.Context, slotID string) (int, error)
	// PrisonerBusy reports whether the prisoner has an active booking
	// overlapping [start, end).
	PrisonerBusy(ctx context.Context, prisonerID int64, start, end time.Time) (bool, error)
	ReferenceTaken(ctx context.Context, ref string) (bool, error)
	// LockBooking must be called inside InTx before the booking rules of
	// slotID and prisonerID are checked and a booking of them is written:
	// until the transaction ends, no other transaction can check or write
	// anything keyed by that slot (capacity, who else is in it) or that
	// prisoner (overlapping calls, allowance). Take it once per transaction,
	// before any other lock. Freeing capacity (cancelling, recording an
	// outcome) needs no lock. Outside InTx it is an error.
	LockBooking(ctx context.Context, slotID string, prisonerID int64) error
	// SetBookingStatus moves an active booking to st. It wraps ErrNotFound
	// when there is no such booking and returns ErrNotActive when it is not
	// active.
	SetBookingStatus(ctx context.Context, id int64, st Status, reason string) error
}

// AuditQueries covers the append-only audit log. Appends must run inside
// InTx so that reading the last hash and appending are one step: ChainAudit
// does both; inside InTx, LastAudit also holds the chain head until the
// transaction ends.
type AuditQueries interface {
	// ChainAudit appends e to the chain as one step inside InTx: it gives e
	// the next id, links it to the newest entry (PrevHash) and hashes it
	// (see auditHash), ignoring what e held there. The chain head stays
	// locked until the transaction ends. The store may send the append
	// with the commit (PostgreSQL does, so that the head is held for no
	// round trip at all), so a failure to append may surface from InTx.
	ChainAudit(ctx context.Context, e AuditEntry) error
	// LastAudit returns the newest entry, or ErrNotFound when the log is
	// empty.
	LastAudit(ctx context.Context) (AuditEntry, error)
	// AppendAudit inserts e exactly as given, id and hashes included.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditEntries returns up to limit entries with id > afterID, oldest
	// first.
	AuditEntries(ctx context.Context, afterID int64, limit int) ([]AuditEntry, error)
}
