-- The audit chain's append in one statement (see booking/sql_audit.go,
-- ChainAudit): PostgreSQL only; SQLite runs one transaction at a time and
-- chains in Go.

-- +goose Up
-- audit_log_append chains one entry onto the log in one step: it locks
-- the chain head as audit_log_lock_head does, gives the entry the next id,
-- hashes it exactly as booking/audit.go's auditHash does (sha256 of the
-- previous hash and the entry's canonical JSON, which is '{"id":' || id
-- followed by tail, the rest of it as the application encodes it) and
-- inserts it. The lock is then held only for the rest of this statement
-- and the commit, with no round trip to the application in between.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append(p_at BIGINT, p_actor TEXT, p_action TEXT, p_subject TEXT, p_detail TEXT,
    p_tail BYTEA, OUT entry_id BIGINT, OUT entry_prev_hash TEXT, OUT entry_hash TEXT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1, 0);
    SELECT a.id + 1, a.hash INTO entry_id, entry_prev_hash FROM audit_log a ORDER BY a.id DESC LIMIT 1;
    IF NOT FOUND THEN
        entry_id := 1;
        entry_prev_hash := repeat('0', 64);
    END IF;
    entry_hash := encode(sha256(convert_to(entry_prev_hash || '{"id":' || entry_id, 'UTF8') || p_tail), 'hex');
    INSERT INTO audit_log (id, at, actor, action, subject, detail, prev_hash, hash)
        VALUES (entry_id, p_at, p_actor, p_action, p_subject, p_detail, entry_prev_hash, entry_hash);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_log_append(BIGINT, TEXT, TEXT, TEXT, TEXT, BYTEA);
