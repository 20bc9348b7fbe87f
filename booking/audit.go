package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// ErrAuditBroken means the audit log's hash chain is broken: an entry was
// changed, removed or inserted behind the application's back. VerifyAudit's
// *AuditBreak is it.
var ErrAuditBroken = errors.New("booking: audit log broken")

// AuditBreak is where VerifyAudit found the chain broken: the first entry
// that is missing or does not hold, and why. It is ErrAuditBroken.
type AuditBreak struct {
	// EntryID is the first entry that does not hold: edited (its hash does
	// not match its content), relinked (its prev_hash is not the hash of the
	// entry before it) or missing (the log jumps over it).
	EntryID int64
	// Reason says how, in plain words.
	Reason string
}

// Error returns "audit log broken at entry N: reason".
func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", b.EntryID, b.Reason)
}

// Is reports whether target is ErrAuditBroken.
func (b *AuditBreak) Is(target error) bool { return target == ErrAuditBroken }

// VerifyAudit walks the whole audit log and checks that the entries are
// numbered 1, 2, 3 ... without a gap, that every entry links to the one
// before it and that its hash matches its content. It returns the number of
// entries checked, and at the first entry that does not hold an
// *AuditBreak (errors.Is ErrAuditBroken) naming it; other errors are the
// store's. Removing the newest entries leaves a shorter chain that still
// holds: compare the count with one noted earlier to see that.
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
				reason := fmt.Sprintf("entry is missing (the log goes from entry %d to entry %d)", prevID, e.ID)
				if prevID == 0 {
					reason = fmt.Sprintf("entry is missing (the log starts at entry %d)", e.ID)
				}
				return n, &AuditBreak{EntryID: prevID + 1, Reason: reason}
			}
			if e.PrevHash != prev {
				return n, &AuditBreak{EntryID: e.ID, Reason: fmt.Sprintf("prev_hash does not match entry %d", prevID)}
			}
			h, err := auditHash(e.PrevHash, e)
			if err != nil {
				return n, err
			}
			if h != e.Hash {
				return n, &AuditBreak{EntryID: e.ID, Reason: "hash does not match its content"}
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
