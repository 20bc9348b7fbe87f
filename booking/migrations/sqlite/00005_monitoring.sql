-- Monitoring, recording and legal privilege, SQLite dialect (keep in step
-- with migrations/postgres/00005_monitoring.sql): a prisoner's one-way
-- video policy, a legal call's "in sight, out of hearing" supervision, the
-- staff permission to download recordings, one recording per recorded
-- call, and the staff actions taken on a call (the playback timeline).
-- The prison settings recordProbationCalls and recordingRetentionDays live
-- in prison_settings' JSON (booking.Settings) and need no column.

-- +goose Up
ALTER TABLE prisoners ADD COLUMN one_way_video BOOLEAN NOT NULL DEFAULT FALSE;

-- sight_only: a legal call's video-only supervision, off by default; never
-- on any other call type.
ALTER TABLE bookings ADD COLUMN sight_only BOOLEAN NOT NULL DEFAULT FALSE
    CHECK (NOT sight_only OR call_type = 'legal');
ALTER TABLE bookings ADD COLUMN sight_only_reason TEXT NOT NULL DEFAULT '';

ALTER TABLE staff ADD COLUMN download_recordings BOOLEAN NOT NULL DEFAULT FALSE;

-- One recording per booking. dir is relative to the recordings root ('' when
-- the recording failed before it had one). Times are unix seconds;
-- delete_after is the end (or start) plus the prison's retention, kept in
-- step with the setting. A hold (held_at set) keeps a recording past it.
CREATE TABLE recordings (
    id              INTEGER PRIMARY KEY,
    booking_id      INTEGER NOT NULL UNIQUE REFERENCES bookings (id),
    prison_id       INTEGER NOT NULL REFERENCES prisons (id),
    dir             TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('recording', 'complete', 'failed', 'deleted')),
    failure         TEXT    NOT NULL DEFAULT '',
    manifest_sha256 TEXT    NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    delete_after    INTEGER NOT NULL,
    hold_reason     TEXT    NOT NULL DEFAULT '',
    held_by         INTEGER REFERENCES staff (id),
    held_at         INTEGER,
    deleted_at      INTEGER
);
CREATE INDEX recordings_prison_started ON recordings (prison_id, started_at);
CREATE INDEX recordings_due ON recordings (delete_after) WHERE status <> 'deleted' AND held_at IS NULL;

-- Legal calls are never recorded: not even a row may say otherwise.
-- +goose StatementBegin
CREATE TRIGGER recordings_never_legal BEFORE INSERT ON recordings
WHEN (SELECT call_type FROM bookings WHERE id = NEW.booking_id) = 'legal'
BEGIN
    SELECT RAISE(ABORT, 'legal calls are never recorded');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER recordings_never_legal_update BEFORE UPDATE OF booking_id ON recordings
WHEN (SELECT call_type FROM bookings WHERE id = NEW.booking_id) = 'legal'
BEGIN
    SELECT RAISE(ABORT, 'legal calls are never recorded');
END;
-- +goose StatementEnd

-- What security staff did on a call, for the playback timeline (the audit
-- log holds the same, chained).
CREATE TABLE staff_actions (
    id             INTEGER PRIMARY KEY,
    booking_id     INTEGER NOT NULL REFERENCES bookings (id),
    at             INTEGER NOT NULL,
    staff_id       INTEGER NOT NULL REFERENCES staff (id),
    action         TEXT    NOT NULL
        CHECK (action IN ('pause_video', 'resume_video', 'mute', 'unmute', 'end')),
    participant_id TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL
);
CREATE INDEX staff_actions_booking ON staff_actions (booking_id, at);

-- +goose Down
DROP TABLE staff_actions;
DROP TRIGGER recordings_never_legal_update;
DROP TRIGGER recordings_never_legal;
DROP TABLE recordings;
ALTER TABLE staff DROP COLUMN download_recordings;
ALTER TABLE bookings DROP COLUMN sight_only_reason;
ALTER TABLE bookings DROP COLUMN sight_only;
ALTER TABLE prisoners DROP COLUMN one_way_video;
