-- Booking rules, SQLite dialect (keep in step with
-- migrations/postgres/00002_rules.sql): per-prison settings, holds,
-- non-associations, and on bookings the recorded staff override, the
-- rebooking offer of a failed call and the review flag set when the
-- prisoner moves.

-- +goose Up
-- settings is the JSON of booking.Settings; a prison without a row uses
-- booking.Defaults().
CREATE TABLE prison_settings (
    prison_id  INTEGER PRIMARY KEY REFERENCES prisons (id),
    settings   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES staff (id)
);

-- A hold counts against its slot's capacity while expires_at > now; an
-- expired row is dead weight that may be deleted at any time.
CREATE TABLE holds (
    id          INTEGER PRIMARY KEY,
    prison_id   INTEGER NOT NULL REFERENCES prisons (id),
    slot_id     TEXT    NOT NULL,
    prisoner_id INTEGER NOT NULL REFERENCES prisoners (id),
    created_by  INTEGER NOT NULL REFERENCES staff (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX holds_slot ON holds (slot_id, expires_at);
CREATE INDEX holds_prison ON holds (prison_id, expires_at);

-- A symmetric pair, stored once with prisoner_a < prisoner_b.
CREATE TABLE non_associations (
    prisoner_a INTEGER NOT NULL REFERENCES prisoners (id),
    prisoner_b INTEGER NOT NULL REFERENCES prisoners (id),
    reason     TEXT    NOT NULL,
    created_by INTEGER NOT NULL REFERENCES staff (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (prisoner_a, prisoner_b),
    CHECK (prisoner_a < prisoner_b)
);
CREATE INDEX non_associations_b ON non_associations (prisoner_b);

ALTER TABLE bookings ADD COLUMN override_capacity BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN override_allowance BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN rebook_offered BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN needs_review BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN review_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX bookings_review ON bookings (prison_id, needs_review, starts_at);

-- +goose Down
DROP INDEX bookings_review;
ALTER TABLE bookings DROP COLUMN review_reason;
ALTER TABLE bookings DROP COLUMN needs_review;
ALTER TABLE bookings DROP COLUMN rebook_offered;
ALTER TABLE bookings DROP COLUMN override_reason;
ALTER TABLE bookings DROP COLUMN override_allowance;
ALTER TABLE bookings DROP COLUMN override_capacity;
DROP TABLE non_associations;
DROP TABLE holds;
DROP TABLE prison_settings;
