package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// allowanceStatuses returns the statuses of a social booking whose minutes
// count against the prisoner's monthly allowance: active ones, and those
// that took place or whose place was kept for the prisoner (completed, a
// no-show, terminated by staff). A cancelled call gave its place back, and
// a failed one is refunded (DOMAIN.md), so neither counts.
func allowanceStatuses() []Status {
	return []Status{StatusRequested, StatusBooked, StatusCompleted, StatusNoShow, StatusTerminated}
}

// UsesAllowance reports whether a social booking in status s counts against
// the prisoner's monthly allowance.
func (s Status) UsesAllowance() bool {
	return slices.Contains(allowanceStatuses(), s)
}

// Allowance is a prisoner's social video allowance for one calendar month
// in their prison's time zone.
type Allowance struct {
	// Month is YYYY-MM.
	Month            string `json:"month"`
	AllowanceMinutes int    `json:"allowanceMinutes"`
	UsedMinutes      int    `json:"usedMinutes"`
	// RemainingMinutes is what is left, never below 0 (staff overrides may
	// take UsedMinutes above AllowanceMinutes).
	RemainingMinutes int `json:"remainingMinutes"`
}

// monthLayout is how a month is written: YYYY-MM.
const monthLayout = "2006-01"

// monthBounds returns the instants at which the local calendar month
// holding t begins and ends in loc, and the month as YYYY-MM.
func monthBounds(t time.Time, loc *time.Location) (time.Time, time.Time, string) {
	y, m, _ := t.In(loc).Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return start, time.Date(y, m+1, 1, 0, 0, 0, 0, loc), start.Format(monthLayout)
}

// parseMonth parses YYYY-MM strictly (a year from 2000 to 2999) and
// returns an instant inside that month in loc.
func parseMonth(s string, loc *time.Location) (time.Time, error) {
	m, err := time.Parse(monthLayout, s)
	if err != nil || len(s) != len(monthLayout) || m.Year() < 2000 || m.Year() > 2999 {
		return time.Time{}, refuse(ErrValidation, "month must be YYYY-MM; %q is not", s)
	}
	return time.Date(m.Year(), m.Month(), 15, 12, 0, 0, 0, loc), nil
}

// allowanceOf reads the allowance in force for the local month holding t.
func allowanceOf(ctx context.Context, q Queries, prisonerID int64, set Settings, t time.Time, loc *time.Location) (Allowance, error) {
	from, to, month := monthBounds(t, loc)
	used, err := q.SocialMinutes(ctx, prisonerID, from, to)
	if err != nil {
		return Allowance{}, err
	}
	return Allowance{Month: month, AllowanceMinutes: set.SocialAllowanceMinutes, UsedMinutes: used,
		RemainingMinutes: max(0, set.SocialAllowanceMinutes-used)}, nil
}

// PrisonerAllowance returns the social allowance of a prisoner actor can
// see, for the month (YYYY-MM; "" for the current one) in the time zone
// and under the settings of the prisoner's prison. A prisoner actor cannot
// see is a *Refusal with ErrPrisonerNotFound.
func (s *Service) PrisonerAllowance(ctx context.Context, actor Staff, prisonerID int64, month string) (Allowance, error) {
	p, err := s.store.Prisoner(ctx, prisonerID)
	if errors.Is(err, ErrNotFound) || (err == nil && !actor.canSeePrisoner(p)) {
		return Allowance{}, refuse(ErrPrisonerNotFound, "there is no prisoner %d", prisonerID)
	} else if err != nil {
		return Allowance{}, fmt.Errorf("allowance of prisoner %d: %w", prisonerID, err)
	}
	prison, err := s.store.Prison(ctx, p.PrisonID)
	if err != nil {
		return Allowance{}, fmt.Errorf("allowance of prisoner %d: %w", prisonerID, err)
	}
	loc, err := loadLocation(prison)
	if err != nil {
		return Allowance{}, err
	}
	at := s.clock.Now()
	if month != "" {
		if at, err = parseMonth(month, loc); err != nil {
			return Allowance{}, err
		}
	}
	set, err := s.store.PrisonSettings(ctx, p.PrisonID)
	if err != nil {
		return Allowance{}, fmt.Errorf("allowance of prisoner %d: %w", prisonerID, err)
	}
	a, err := allowanceOf(ctx, s.store, prisonerID, set, at, loc)
	if err != nil {
		return Allowance{}, fmt.Errorf("allowance of prisoner %d: %w", prisonerID, err)
	}
	return a, nil
}
