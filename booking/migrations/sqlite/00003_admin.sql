-- Administration, SQLite dialect: fortnightly templates, excluded dates,
-- prisoner locations, registered prisoner devices, probation caseloads,
-- disabled staff accounts, session idle time and login throttling. Keep in
-- step with migrations/postgres/00003_admin.sql.

-- +goose Up
-- repeat_weeks: 1 = every week, 2 = every other week, counted from the
-- (Monday-based) week of valid_from.
ALTER TABLE slot_templates ADD COLUMN repeat_weeks INTEGER NOT NULL DEFAULT 1 CHECK (repeat_weeks IN (1, 2));

-- location: wing/landing/cell, e.g. 'B-2-14'; '' when not known. A device
-- joins only the calls of the prisoner at its location.
ALTER TABLE prisoners ADD COLUMN location TEXT NOT NULL DEFAULT '';

ALTER TABLE staff ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- last_seen_at: unix seconds of the session's last use, for the idle timeout.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;

-- A date on which no slots are generated: prison-wide (room_id and
-- template_id NULL), for one room, or for one template.
CREATE TABLE excluded_dates (
    id          INTEGER PRIMARY KEY,
    prison_id   INTEGER NOT NULL REFERENCES prisons (id),
    room_id     INTEGER REFERENCES rooms (id) ON DELETE CASCADE,
    template_id INTEGER REFERENCES slot_templates (id) ON DELETE CASCADE,
    date        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    CHECK (room_id IS NULL OR template_id IS NULL)
);
CREATE UNIQUE INDEX excluded_dates_scope ON excluded_dates
    (prison_id, COALESCE(room_id, 0), COALESCE(template_id, 0), date);
CREATE INDEX excluded_dates_prison_date ON excluded_dates (prison_id, date);

-- A registered prisoner device. The secret is shown once; only its
-- SHA-256 (hex) is stored.
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    prison_id   INTEGER NOT NULL REFERENCES prisons (id),
    name        TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('in_cell', 'kiosk')),
    secret_hash TEXT    NOT NULL UNIQUE,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  INTEGER NOT NULL,
    UNIQUE (prison_id, name)
);
CREATE INDEX devices_prison_location ON devices (prison_id, location);

-- A probation officer's caseload.
CREATE TABLE caseloads (
    staff_id    INTEGER NOT NULL REFERENCES staff (id),
    prisoner_id INTEGER NOT NULL REFERENCES prisoners (id),
    PRIMARY KEY (staff_id, prisoner_id)
);
CREATE INDEX caseloads_prisoner ON caseloads (prisoner_id);

-- Failed logins of the throttling window (older rows are pruned).
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    username  TEXT    NOT NULL,
    client_ip TEXT    NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE caseloads;
DROP TABLE devices;
DROP TABLE excluded_dates;
ALTER TABLE sessions DROP COLUMN last_seen_at;
ALTER TABLE staff DROP COLUMN disabled;
ALTER TABLE prisoners DROP COLUMN location;
ALTER TABLE slot_templates DROP COLUMN repeat_weeks;
