package sfu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Privilege errors.
var (
	// ErrLegalPrivilege is returned when a hidden subscriber or a recorder
	// asks for a legal call: the media server never lets either near one.
	ErrLegalPrivilege = errors.New("sfu: legal call: no monitoring or recording")
	// ErrPolicyConflict is returned when a room is asked for under a policy
	// that would lift the privilege it was created with.
	ErrPolicyConflict = errors.New("sfu: room exists under another policy")
	// ErrMonitorPublish is returned when a hidden monitor tries to publish.
	ErrMonitorPublish = errors.New("sfu: monitors do not publish")
)

// Policy is what a room may do with its media, fixed when the room is made
// from the call's booking.
type Policy struct {
	// Legal marks a legally privileged call: no hidden subscriber and no
	// recorder is ever admitted, whatever asks; every attempt is refused
	// and audited.
	Legal bool
	// SightOnly ("in sight, out of hearing") lets a legal call be
	// supervised by sight: monitors are admitted and receive video only;
	// no audio is ever forwarded to them. It means nothing without Legal.
	SightOnly bool
	// Record records every published track from its first packet to the
	// end of the call. Refused with ErrLegalPrivilege for a legal call.
	Record bool
	// OneWayVideo lists participants whose video goes to no other
	// participant (the prisoner's one-way video policy: they see their
	// visitors, who hear them only). Monitors and the recorder still get it.
	OneWayVideo []string
	// Subject names the call in audit entries ("booking:42"); empty means
	// "room:<id>".
	Subject string
}

// Auditor writes privileged actions and refusals to the audit log.
type Auditor interface {
	Audit(ctx context.Context, actor, action, subject string, detail any) error
}

// auditTimeout bounds one audit write made on the media server's behalf.
const auditTimeout = 5 * time.Second

// audit writes one entry about room r. A failure to audit is logged loudly:
// the refusal itself stands either way.
func (r *Room) audit(actor, action string, detail map[string]any) {
	a := r.sfu.auditor
	if a == nil {
		r.log.Error("no audit log configured: privileged action not audited", "actor", actor, "action", action)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	if err := a.Audit(ctx, actor, action, r.subject(), detail); err != nil {
		r.log.Error("audit write failed", "actor", actor, "action", action, "err", err)
	}
}

func (r *Room) subject() string {
	if r.policy.Subject != "" {
		return r.policy.Subject
	}
	return "room:" + r.id
}

// refusePrivileged audits and returns the refusal of what (a monitor or a
// recorder) asked for by actor in a legal call.
func (r *Room) refusePrivileged(actor, what string) error {
	r.log.Warn("legal privilege: refused", "actor", actor, "what", what)
	r.sfu.media.PrivilegeRefusals.WithLabelValues(what).Inc()
	r.audit(actor, "privilege.refused", map[string]any{"what": what, "room": r.id, "reason": "legal call"})
	return fmt.Errorf("%w: %s refused", ErrLegalPrivilege, what)
}

// Policy returns the room's policy.
func (r *Room) Policy() Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.policy
	p.OneWayVideo = slices.Clone(p.OneWayVideo)
	return p
}

// monitorsAllowedLocked reports whether hidden monitors may join, and
// whether they get video only. The caller holds r.mu.
func (r *Room) monitorsAllowedLocked() (ok, videoOnly bool) {
	if !r.policy.Legal {
		return true, false
	}
	return r.policy.SightOnly, true
}

// oneWay reports whether participant id's video is kept from the others.
func (r *Room) oneWayLocked(id string) bool { return slices.Contains(r.policy.OneWayVideo, id) }
