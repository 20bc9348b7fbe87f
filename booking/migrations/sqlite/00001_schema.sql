-- Booking schema, SQLite dialect. Times are INTEGER unix seconds (UTC);
-- civil dates are TEXT 'YYYY-MM-DD'; booleans are 0/1.

-- +goose Up
CREATE TABLE prisons (
    id       INTEGER PRIMARY KEY,
    code     TEXT    NOT NULL UNIQUE,
    name     TEXT    NOT NULL,
    timezone TEXT    NOT NULL DEFAULT 'Europe/London'
);

CREATE TABLE rooms (
    id        INTEGER PRIMARY KEY,
    prison_id INTEGER NOT NULL REFERENCES prisons (id),
    name      TEXT    NOT NULL,
    UNIQUE (prison_id, name)
);

-- weekday: 0 = Sunday ... 6 = Saturday. Minutes are local wall-clock.
CREATE TABLE slot_templates (
    id           INTEGER PRIMARY KEY,
    prison_id    INTEGER NOT NULL REFERENCES prisons (id),
    room_id      INTEGER NOT NULL REFERENCES rooms (id),
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute > start_minute AND end_minute <= 1440),
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 1440),
    capacity     INTEGER NOT NULL CHECK (capacity >= 0),
    call_types   TEXT    NOT NULL,
    valid_from   TEXT    NOT NULL,
    valid_to     TEXT
);
CREATE INDEX slot_templates_prison ON slot_templates (prison_id);

CREATE TABLE prisoners (
    id        INTEGER PRIMARY KEY,
    prison_id INTEGER NOT NULL REFERENCES prisons (id),
    number    TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL,
    status    TEXT    NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'released', 'transferred'))
);
CREATE INDEX prisoners_prison ON prisoners (prison_id);

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('social', 'legal', 'probation')),
    date_of_birth TEXT
);

CREATE TABLE prisoner_contacts (
    prisoner_id  INTEGER NOT NULL REFERENCES prisoners (id),
    contact_id   INTEGER NOT NULL REFERENCES contacts (id),
    relationship TEXT    NOT NULL,
    approved     BOOLEAN NOT NULL DEFAULT FALSE,
    banned       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (prisoner_id, contact_id)
);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'clerk', 'probation', 'security')),
    prison_id     INTEGER REFERENCES prisons (id),
    password_hash TEXT    NOT NULL
);

-- token_hash is the hex SHA-256 of the session token; the token is never stored.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY,
    reference     TEXT    NOT NULL UNIQUE,
    prison_id     INTEGER NOT NULL REFERENCES prisons (id),
    room_id       INTEGER NOT NULL REFERENCES rooms (id),
    template_id   INTEGER NOT NULL REFERENCES slot_templates (id),
    slot_id       TEXT    NOT NULL,
    prisoner_id   INTEGER NOT NULL REFERENCES prisoners (id),
    call_type     TEXT    NOT NULL CHECK (call_type IN ('social', 'legal', 'probation')),
    status        TEXT    NOT NULL CHECK (status IN
        ('requested', 'booked', 'completed', 'cancelled', 'no_show', 'terminated', 'failed')),
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL CHECK (ends_at > starts_at),
    created_by    INTEGER NOT NULL REFERENCES staff (id),
    created_at    INTEGER NOT NULL,
    status_reason TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX bookings_slot ON bookings (slot_id, status);
CREATE INDEX bookings_prisoner ON bookings (prisoner_id, starts_at);
CREATE INDEX bookings_prison_start ON bookings (prison_id, starts_at);

-- id is an opaque random string (16 hex characters) carried by join tokens.
CREATE TABLE booking_participants (
    id          TEXT    PRIMARY KEY,
    booking_id  INTEGER NOT NULL REFERENCES bookings (id),
    position    INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('prisoner', 'visitor', 'legal', 'probation')),
    name        TEXT    NOT NULL,
    contact_id  INTEGER REFERENCES contacts (id),
    prisoner_id INTEGER REFERENCES prisoners (id),
    CHECK ((contact_id IS NULL) <> (prisoner_id IS NULL)),
    UNIQUE (booking_id, position)
);

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical entry),
-- see booking/audit.go.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL UNIQUE
);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE booking_participants;
DROP TABLE bookings;
DROP TABLE sessions;
DROP TABLE staff;
DROP TABLE prisoner_contacts;
DROP TABLE contacts;
DROP TABLE prisoners;
DROP TABLE slot_templates;
DROP TABLE rooms;
DROP TABLE prisons;
