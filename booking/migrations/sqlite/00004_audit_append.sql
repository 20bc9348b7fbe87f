-- Nothing to do in SQLite: this version adds PostgreSQL's one-statement
-- audit append (migrations/postgres/00004_audit_append.sql); SQLite runs one
-- transaction at a time and chains the audit log in Go. The version exists
-- so that both histories keep the same numbers.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
