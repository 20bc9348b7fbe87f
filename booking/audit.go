package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// auditGenesis is the prev_hash of the first audit entry.
const auditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// auditCanonical is the canonical form of an entry that its hash covers:
// compact JSON with the fields in this order, At as unix seconds and Detail
// as stored.
type auditCanonical struct {
	ID      int64           `json:"id"`
	At      int64           `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Detail  json.RawMessage `json:"detail"`
}

// auditHash is hex(sha256(prevHash || canonical JSON of e)), prevHash being
// the previous entry's hash in hex (auditGenesis for the first entry).
func auditHash(prevHash string, e AuditEntry) (string, error) {
	canon, err := auditCanonicalJSON(e)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// auditCanonicalJSON is the canonical form of e that its hash covers.
func auditCanonicalJSON(e AuditEntry) ([]byte, error) {
	canon, err := json.Marshal(auditCanonical{
		ID: e.ID, At: e.At.Unix(), Actor: e.Actor, Action: e.Action, Subject: e.Subject, Detail: e.Detail,
	})
	if err != nil {
		return nil, fmt.Errorf("canonical audit entry: %w", err)
	}
	return canon, nil
}

// appendAudit chains a new entry onto the log. It must run inside InTx.
func appendAudit(ctx context.Context, q AuditQueries, at time.Time, actor, action, subject string, detail any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	return q.ChainAudit(ctx, AuditEntry{At: at.UTC().Truncate(time.Second), Actor: actor, Action: action,
		Subject: subject, Detail: raw})
}

// VerifyAudit walks the whole audit log and checks that every entry links
// to the one before it and that its hash matches its content. It returns the
// number of entries checked.
func VerifyAudit(ctx context.Context, q AuditQueries) (int, error) {
	prev, prevID, n := auditGenesis, int64(0), 0
	for {
		page, err := q.AuditEntries(ctx, prevID, 500)
		if err != nil {
			return n, err
		}
		if len(page) == 0 {
			return n, nil
		}
		for _, e := range page {
			if e.ID != prevID+1 {
				return n, fmt.Errorf("audit entry %d follows %d: gap in the log", e.ID, prevID)
			}
			if e.PrevHash != prev {
				return n, fmt.Errorf("audit entry %d: prev_hash does not match entry %d", e.ID, prevID)
			}
			h, err := auditHash(e.PrevHash, e)
			if err != nil {
				return n, err
			}
			if h != e.Hash {
				return n, fmt.Errorf("audit entry %d: hash does not match its content", e.ID)
			}
			prev, prevID = e.Hash, e.ID
			n++
		}
	}
}

// staffActor names a staff member in the audit log.
func staffActor(st Staff) string { return fmt.Sprintf("staff:%d", st.ID) }

// systemActor is the audit actor of calls made by other parts of Gatehouse.
const systemActor = "system"

// bookingSubject names a booking in the audit log.
func bookingSubject(id int64) string { return fmt.Sprintf("booking:%d", id) }
