package booking

// Override is a staff decision to book past a limit: one more place than
// the slot's capacity (Capacity) or more than the prisoner's monthly
// allowance (Allowance), with the reason recorded on the booking and in the
// audit log. Each capacity override grants exactly one extra place: the
// booking it makes, and no other.
type Override struct {
	Capacity  bool   `json:"capacity"`
	Allowance bool   `json:"allowance"`
	Reason    string `json:"reason"`
}

// reason is o's reason, "" for no override.
func (o *Override) reason() string {
	if o == nil {
		return ""
	}
	return o.Reason
}

// normalised validates an override's shape and returns it with its reason
// trimmed: at least one limit, and a reason of 1 to MaxReasonLen
// characters.
func (o Override) normalised() (Override, error) {
	if !o.Capacity && !o.Allowance {
		return Override{}, refuse(ErrValidation, "an override must set capacity or allowance (or both)")
	}
	reason, err := checkReason(o.Reason)
	if err != nil {
		return Override{}, refuse(ErrValidation, "an override needs a reason of 1 to %d characters", MaxReasonLen)
	}
	o.Reason = reason
	return o, nil
}

// canOverride reports whether st may override capacity and allowance:
// clerks and admins, who run the prison's visits. Probation officers book
// only probation calls, which use no allowance, and do not manage the
// prison's rooms, so they may not; security officers book nothing.
// Visitors (who have no channel yet) never may.
func (st Staff) canOverride() bool {
	return st.Role == StaffAdmin || st.Role == StaffClerk
}
