package booking

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // so that Europe/London loads on machines without zoneinfo
)

// MaxSlotRangeDays is the longest date range, inclusive, that Slots lists.
const MaxSlotRangeDays = 31

// Slot is one bookable period of a room, computed from a SlotTemplate on a
// date. Times are UTC.
type Slot struct {
	ID         string     `json:"id"`
	PrisonID   int64      `json:"prisonId"`
	RoomID     int64      `json:"roomId"`
	RoomName   string     `json:"roomName"`
	TemplateID int64      `json:"-"`
	StartsAt   time.Time  `json:"startsAt"`
	EndsAt     time.Time  `json:"endsAt"`
	Capacity   int        `json:"capacity"`
	Remaining  int        `json:"remaining"`
	CallTypes  []CallType `json:"callTypes"`
	// Bookable says whether the slot is inside the booking window now and
	// has capacity left.
	Bookable bool `json:"bookable"`
}

// slotKey identifies a slot: a template, a local date and the local
// wall-clock minute the slot starts at. Its string form, the slot id, is
// "<template id>-<YYYYMMDD>-<HHMM>", e.g. "12-20261123-0930".
type slotKey struct {
	TemplateID int64
	Date       time.Time // civil date, midnight UTC
	Minute     int       // minutes after local midnight
}

// String formats the slot id.
func (k slotKey) String() string {
	return fmt.Sprintf("%d-%s-%02d%02d", k.TemplateID, k.Date.Format("20060102"), k.Minute/60, k.Minute%60)
}

// maxSlotIDLen bounds a slot id before it is parsed.
const maxSlotIDLen = 32

// parseSlotID parses a slot id strictly: a template id without sign or
// leading zero, a real calendar date and a real time of day, so that each
// slot has exactly one id.
func parseSlotID(s string) (slotKey, error) {
	bad := fmt.Errorf("slot id %q is not of the form <template>-<YYYYMMDD>-<HHMM>", s)
	if len(s) == 0 || len(s) > maxSlotIDLen {
		return slotKey{}, bad
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return slotKey{}, bad
	}
	tpl, date, hhmm := parts[0], parts[1], parts[2]
	if !allDigits(tpl) || len(tpl) > 15 || tpl[0] == '0' || len(date) != 8 || !allDigits(date) ||
		len(hhmm) != 4 || !allDigits(hhmm) {
		return slotKey{}, bad
	}
	id, err := strconv.ParseInt(tpl, 10, 64)
	if err != nil {
		return slotKey{}, bad
	}
	d, err := time.Parse("20060102", date)
	if err != nil || d.Year() < 2000 || d.Year() > 2999 {
		return slotKey{}, bad
	}
	h, m := int(hhmm[0]-'0')*10+int(hhmm[1]-'0'), int(hhmm[2]-'0')*10+int(hhmm[3]-'0')
	if h > 23 || m > 59 {
		return slotKey{}, bad
	}
	return slotKey{TemplateID: id, Date: d, Minute: h*60 + m}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// slotAt returns the slot of template t on civil date date starting at
// local minute minute, if the template offers one there. The local
// wall-clock time is converted to UTC with time.Date in loc, so a 09:00
// slot is 09:00 UTC in winter and 08:00 UTC in summer in Europe/London. A
// wall-clock time that does not exist (the hour skipped when clocks go
// forward) has no slot; one that occurs twice (clocks going back) has one
// slot, at the instant time.Date picks. A slot lasts SlotMinutes of real
// time, so slots of one template never overlap.
func slotAt(t SlotTemplate, loc *time.Location, date time.Time, minute int) (Slot, bool) {
	if !offersOn(t, date) {
		return Slot{}, false
	}
	if minute < t.StartMinute || minute+t.SlotMinutes > t.EndMinute || (minute-t.StartMinute)%t.SlotMinutes != 0 {
		return Slot{}, false
	}
	y, mo, d := date.Date()
	start := time.Date(y, mo, d, minute/60, minute%60, 0, 0, loc)
	if ly, lmo, ld := start.Date(); ly != y || lmo != mo || ld != d || start.Hour() != minute/60 || start.Minute() != minute%60 {
		return Slot{}, false
	}
	return Slot{
		ID:         slotKey{TemplateID: t.ID, Date: date, Minute: minute}.String(),
		PrisonID:   t.PrisonID,
		RoomID:     t.RoomID,
		RoomName:   t.RoomName,
		TemplateID: t.ID,
		StartsAt:   start.UTC(),
		EndsAt:     start.Add(time.Duration(t.SlotMinutes) * time.Minute).UTC(),
		Capacity:   t.Capacity,
		Remaining:  t.Capacity,
		CallTypes:  append([]CallType(nil), t.CallTypes...),
	}, true
}

// slotsOn lists the slots of template t on civil date date.
func slotsOn(t SlotTemplate, loc *time.Location, date time.Time) []Slot {
	if !offersOn(t, date) {
		return nil
	}
	var out []Slot
	for m := t.StartMinute; m+t.SlotMinutes <= t.EndMinute; m += t.SlotMinutes {
		if sl, ok := slotAt(t, loc, date, m); ok {
			out = append(out, sl)
		}
	}
	return out
}

// offersOn reports whether template t offers slots on civil date date
// (midnight UTC): it is t's weekday, within its validity, in one of its
// weeks (every week, or every other week counted from the Monday-based
// week of ValidFrom) and not one of its excluded dates.
func offersOn(t SlotTemplate, date time.Time) bool {
	if date.Weekday() != t.Weekday || !t.ValidOn(date) || t.SlotMinutes <= 0 {
		return false
	}
	if t.RepeatWeeks > 1 && weeksBetween(t.ValidFrom, date)%t.RepeatWeeks != 0 {
		return false
	}
	_, excluded := slices.BinarySearchFunc(t.ExcludedDates, date, func(a, b time.Time) int { return a.Compare(b) })
	return !excluded
}

// weeksBetween counts the Monday-based weeks from the week of civil date
// from to the week of civil date to (from not after to).
func weeksBetween(from, to time.Time) int {
	monday := func(d time.Time) time.Time { return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) }
	days := int(monday(to).Sub(monday(from)).Hours()+0.5) / 24
	return days / 7
}

// loadLocation loads a prison's time zone.
func loadLocation(p Prison) (*time.Location, error) {
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return nil, fmt.Errorf("time zone of prison %d: %w", p.ID, err)
	}
	return loc, nil
}

// localDayBounds returns the instants of local midnight at the start of
// civil date from and at the end of civil date to.
func localDayBounds(loc *time.Location, from, to time.Time) (time.Time, time.Time) {
	fy, fm, fd := from.Date()
	ty, tm, td := to.Date()
	return time.Date(fy, fm, fd, 0, 0, 0, 0, loc), time.Date(ty, tm, td+1, 0, 0, 0, 0, loc)
}

// checkDateRange validates an inclusive range of civil dates.
func checkDateRange(from, to time.Time) error {
	if to.Before(from) {
		return refuse(ErrValidation, "'to' (%s) is before 'from' (%s)", to.Format(dateLayout), from.Format(dateLayout))
	}
	if to.Sub(from) >= MaxSlotRangeDays*24*time.Hour {
		return refuse(ErrValidation, "a date range may cover at most %d days", MaxSlotRangeDays)
	}
	return nil
}

// Slots lists the slots of a prison on the civil dates from to to
// (inclusive, at most MaxSlotRangeDays), with their remaining capacity, by
// start time then room. The dates are midnight UTC, as ParseDate returns.
func (s *Service) Slots(ctx context.Context, actor Staff, prisonID int64, from, to time.Time) ([]Slot, error) {
	if err := checkDateRange(from, to); err != nil {
		return nil, err
	}
	if !actor.canSeePrison(prisonID) {
		return nil, fmt.Errorf("prison %d: %w", prisonID, ErrNotFound)
	}
	prison, err := s.store.Prison(ctx, prisonID)
	if err != nil {
		return nil, err
	}
	loc, err := loadLocation(prison)
	if err != nil {
		return nil, err
	}
	tpls, err := s.store.SlotTemplates(ctx, prisonID)
	if err != nil {
		return nil, err
	}
	start, end := localDayBounds(loc, from, to)
	counts, err := s.store.ActiveCounts(ctx, prisonID, start, end)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	held, err := s.store.HeldCounts(ctx, prisonID, now)
	if err != nil {
		return nil, err
	}
	set, err := s.store.PrisonSettings(ctx, prisonID)
	if err != nil {
		return nil, err
	}
	out := []Slot{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		for _, t := range tpls {
			for _, sl := range slotsOn(t, loc, d) {
				sl.Remaining = max(0, sl.Capacity-counts[sl.ID]-held[sl.ID])
				sl.Bookable = sl.Remaining > 0 && inWindow(set, bookerStaff, sl, now)
				out = append(out, sl)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].RoomName < out[j].RoomName
	})
	return out, nil
}

// ParseDate parses a civil date "YYYY-MM-DD" strictly, returning midnight
// UTC.
func ParseDate(s string) (time.Time, error) {
	if len(s) != len(dateLayout) {
		return time.Time{}, refuse(ErrValidation, "%q is not a date of the form YYYY-MM-DD", s)
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil || d.Year() < 2000 || d.Year() > 2999 {
		return time.Time{}, refuse(ErrValidation, "%q is not a date of the form YYYY-MM-DD", s)
	}
	return d, nil
}
