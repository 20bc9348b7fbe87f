package booking

import (
	"encoding/json"
	"fmt"
	"time"
)

// Settings are one prison's booking rules: every number of DOMAIN.md that
// a prison may set for itself. Defaults returns the values a prison starts
// with; Settings.validate gives each its bounds. They are stored per prison
// (see PrisonSettings) and read inside the booking transaction, so a change
// applies to the next request.
type Settings struct {
	// VisitorMinDaysAhead is how many days ahead, at least, a visitor may
	// book (default 2). Staff may book inside it.
	VisitorMinDaysAhead int `json:"visitorMinDaysAhead"`
	// MaxDaysAhead is how many days ahead, at most, anyone may book
	// (default 28).
	MaxDaysAhead int `json:"maxDaysAhead"`
	// StaffMinMinutesLeft is how much of a slot already in progress must be
	// left for staff to book it (default 5 minutes).
	StaffMinMinutesLeft int `json:"staffMinMinutesLeft"`
	// HoldMinutes is how long a hold keeps a place (default 10).
	HoldMinutes int `json:"holdMinutes"`
	// SocialAllowanceMinutes is each prisoner's social video allowance per
	// calendar month in the prison's time zone (default 60: two 30-minute
	// calls or one of 60 minutes). Legal and probation calls never use it.
	SocialAllowanceMinutes int `json:"socialAllowanceMinutes"`
	// MaxVisitors is the most contacts who may join a call (default 4).
	MaxVisitors int `json:"maxVisitors"`
	// MaxAdults is the most adult visitors on a social call (default 3).
	MaxAdults int `json:"maxAdults"`
	// AdultAge is the age of an adult, and the least age of a social call's
	// lead visitor (default 18).
	AdultAge int `json:"adultAge"`
	// OutcomeWindowDays is how long after a call's end staff may still
	// record its outcome (default 28).
	OutcomeWindowDays int `json:"outcomeWindowDays"`
	// RecordProbationCalls says whether probation calls are recorded
	// (default false). Social calls always are; legal calls never.
	RecordProbationCalls bool `json:"recordProbationCalls"`
	// RecordingRetentionDays is how long recordings are kept after their
	// call before they are deleted, unless held (default 90).
	RecordingRetentionDays int `json:"recordingRetentionDays"`
}

// Defaults returns the settings of a prison that has set none: the numbers
// of DOMAIN.md.
func Defaults() Settings {
	return Settings{
		VisitorMinDaysAhead:    2,
		MaxDaysAhead:           28,
		StaffMinMinutesLeft:    5,
		HoldMinutes:            10,
		SocialAllowanceMinutes: 60,
		MaxVisitors:            4,
		MaxAdults:              3,
		AdultAge:               18,
		OutcomeWindowDays:      28,
		RecordProbationCalls:   false,
		RecordingRetentionDays: 90,
	}
}

// Hard limits of the settings and of requests, whatever a prison sets.
const (
	// MaxContactsLimit is the most contacts any request may name (the
	// OpenAPI document's maxItems); a prison's MaxVisitors is at most this.
	MaxContactsLimit = 10
	// MaxReasonLen is the longest reason (cancellation, outcome, override,
	// move, review, non-association), in characters.
	MaxReasonLen = 500
	// maxDaysAheadLimit bounds MaxDaysAhead and OutcomeWindowDays.
	maxDaysAheadLimit = 365
	// maxAllowanceMinutes bounds SocialAllowanceMinutes (a call a day).
	maxAllowanceMinutes = 31 * 24 * 60
	// maxRetentionDays bounds RecordingRetentionDays (ten years).
	maxRetentionDays = 3650
)

// settingBound is the valid range of one integer setting.
type settingBound struct {
	name     string
	val      int
	min, max int
}

// validate checks every field's bounds and how the fields relate; a
// failure is a *Refusal with ErrValidation naming the field.
func (s Settings) validate() error {
	for _, b := range []settingBound{
		{"maxDaysAhead", s.MaxDaysAhead, 1, maxDaysAheadLimit},
		{"visitorMinDaysAhead", s.VisitorMinDaysAhead, 0, s.MaxDaysAhead},
		{"staffMinMinutesLeft", s.StaffMinMinutesLeft, 0, 240},
		{"holdMinutes", s.HoldMinutes, 1, 60},
		{"socialAllowanceMinutes", s.SocialAllowanceMinutes, 0, maxAllowanceMinutes},
		{"maxVisitors", s.MaxVisitors, 1, MaxContactsLimit},
		{"maxAdults", s.MaxAdults, 1, s.MaxVisitors},
		{"adultAge", s.AdultAge, 16, 21},
		{"outcomeWindowDays", s.OutcomeWindowDays, 1, maxDaysAheadLimit},
		{"recordingRetentionDays", s.RecordingRetentionDays, 1, maxRetentionDays},
	} {
		if b.val < b.min || b.val > b.max {
			return refuse(ErrValidation, "%s must be from %d to %d; it is %d", b.name, b.min, b.max, b.val)
		}
	}
	return nil
}

// decodeSettings reads stored settings JSON over the defaults, so a
// setting added later takes its default on prisons that stored theirs
// before it existed.
func decodeSettings(raw string) (Settings, error) {
	s := Defaults()
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Settings{}, fmt.Errorf("stored settings: %w", err)
	}
	return s, nil
}

// holdTTL is how long a hold made now lasts.
func (s Settings) holdTTL() time.Duration { return time.Duration(s.HoldMinutes) * time.Minute }

// maxAdvance is how far ahead anyone may book.
func (s Settings) maxAdvance() time.Duration { return time.Duration(s.MaxDaysAhead) * 24 * time.Hour }

// retention is how long a recording is kept after its call.
func (s Settings) retention() time.Duration {
	return time.Duration(s.RecordingRetentionDays) * 24 * time.Hour
}

// outcomeWindow is how long after a call's end its outcome may be recorded.
func (s Settings) outcomeWindow() time.Duration {
	return time.Duration(s.OutcomeWindowDays) * 24 * time.Hour
}
