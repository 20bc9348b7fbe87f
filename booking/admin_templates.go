package booking

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Bounds of slot templates.
const (
	minSlotMinutes = 5
	maxSlotMinutes = 480
	maxCapacity    = 100
)

// templateRequest is the body of POST /api/v1/prisons/{prisonId}/slot-templates.
type templateRequest struct {
	RoomID      int64      `json:"roomId"`
	Weekday     string     `json:"weekday"`
	Start       string     `json:"start"`
	End         string     `json:"end"`
	SlotMinutes int        `json:"slotMinutes"`
	Capacity    int        `json:"capacity"`
	CallTypes   []CallType `json:"callTypes"`
	RepeatWeeks int        `json:"repeatWeeks"`
	ValidFrom   string     `json:"validFrom"`
	ValidTo     *string    `json:"validTo,omitempty"`
}

// templateUpdate is the body of PUT /api/v1/slot-templates/{id}: what may
// change in a template without changing the slots already booked.
type templateUpdate struct {
	Capacity  int        `json:"capacity"`
	CallTypes []CallType `json:"callTypes"`
	ValidTo   *string    `json:"validTo,omitempty"`
}

// templateView is a slot template as the API shows it: times and dates in
// the prison's local time.
type templateView struct {
	ID            int64      `json:"id"`
	PrisonID      int64      `json:"prisonId"`
	RoomID        int64      `json:"roomId"`
	RoomName      string     `json:"roomName"`
	Weekday       string     `json:"weekday"`
	Start         string     `json:"start"`
	End           string     `json:"end"`
	SlotMinutes   int        `json:"slotMinutes"`
	Capacity      int        `json:"capacity"`
	CallTypes     []CallType `json:"callTypes"`
	RepeatWeeks   int        `json:"repeatWeeks"`
	ValidFrom     string     `json:"validFrom"`
	ValidTo       *string    `json:"validTo"`
	ExcludedDates []string   `json:"excludedDates"`
}

// viewTemplate presents t.
func viewTemplate(t SlotTemplate) templateView {
	v := templateView{ID: t.ID, PrisonID: t.PrisonID, RoomID: t.RoomID, RoomName: t.RoomName,
		Weekday: weekdayNames()[t.Weekday], Start: formatClock(t.StartMinute), End: formatClock(t.EndMinute),
		SlotMinutes: t.SlotMinutes, Capacity: t.Capacity, CallTypes: append([]CallType{}, t.CallTypes...),
		RepeatWeeks: max(1, t.RepeatWeeks), ValidFrom: t.ValidFrom.Format(dateLayout), ExcludedDates: []string{}}
	if !t.ValidTo.IsZero() {
		d := t.ValidTo.Format(dateLayout)
		v.ValidTo = &d
	}
	for _, d := range t.ExcludedDates {
		v.ExcludedDates = append(v.ExcludedDates, d.Format(dateLayout))
	}
	return v
}

// parse validates a new template's request, without reading the store.
func (r templateRequest) parse() (SlotTemplate, error) {
	t := SlotTemplate{RoomID: r.RoomID, SlotMinutes: r.SlotMinutes, Capacity: r.Capacity,
		CallTypes: r.CallTypes, RepeatWeeks: r.RepeatWeeks}
	var err error
	if r.RoomID <= 0 {
		return SlotTemplate{}, refuse(ErrValidation, "roomId must be a positive id")
	}
	if t.Weekday, err = parseWeekday(r.Weekday); err != nil {
		return SlotTemplate{}, err
	}
	if t.StartMinute, err = parseClock("start", r.Start, false); err != nil {
		return SlotTemplate{}, err
	}
	if t.EndMinute, err = parseClock("end", r.End, true); err != nil {
		return SlotTemplate{}, err
	}
	if t.EndMinute <= t.StartMinute {
		return SlotTemplate{}, refuse(ErrValidation, "end must be after start")
	}
	if t.SlotMinutes < minSlotMinutes || t.SlotMinutes > maxSlotMinutes || t.SlotMinutes > t.EndMinute-t.StartMinute {
		return SlotTemplate{}, refuse(ErrValidation, "slotMinutes must be %d to %d, and fit between start and end",
			minSlotMinutes, maxSlotMinutes)
	}
	if t.RepeatWeeks != 1 && t.RepeatWeeks != 2 {
		return SlotTemplate{}, refuse(ErrValidation, "repeatWeeks must be 1 (weekly) or 2 (fortnightly)")
	}
	if t.ValidFrom, err = ParseDate(r.ValidFrom); err != nil {
		return SlotTemplate{}, err
	}
	if err := checkTemplateTerms(&t, r.Capacity, r.CallTypes, r.ValidTo); err != nil {
		return SlotTemplate{}, err
	}
	return t, nil
}

// checkTemplateTerms validates and sets what may change in a template:
// capacity, call types and the end of validity (not before ValidFrom).
func checkTemplateTerms(t *SlotTemplate, capacity int, types []CallType, validTo *string) error {
	if capacity < 1 || capacity > maxCapacity {
		return refuse(ErrValidation, "capacity must be 1 to %d", maxCapacity)
	}
	if err := checkCallTypes(types); err != nil {
		return err
	}
	t.Capacity, t.CallTypes, t.ValidTo = capacity, slices.Clone(types), time.Time{}
	if validTo != nil {
		d, err := ParseDate(*validTo)
		if err != nil {
			return err
		}
		t.ValidTo = d
	}
	if !t.ValidTo.IsZero() && !t.ValidFrom.IsZero() && t.ValidTo.Before(t.ValidFrom) {
		return refuse(ErrValidation, "validTo must not be before validFrom")
	}
	return nil
}

// slotTemplates lists a prison's templates for actor (anyone who can see
// the prison).
func (s *Service) slotTemplates(ctx context.Context, actor Staff, prisonID int64) ([]SlotTemplate, error) {
	if err := s.checkPrisonVisible(ctx, actor, prisonID); err != nil {
		return nil, err
	}
	return s.store.SlotTemplates(ctx, prisonID)
}

// createSlotTemplate adds a template to a room of prisonID (admins only).
func (s *Service) createSlotTemplate(ctx context.Context, actor Staff, prisonID int64, req templateRequest) (SlotTemplate, error) {
	if err := requireAdmin(actor); err != nil {
		return SlotTemplate{}, err
	}
	t, err := req.parse()
	if err != nil {
		return SlotTemplate{}, err
	}
	var created SlotTemplate
	err = s.adminTx(ctx, actor, "slot_template.create", func(q Queries, now time.Time) error {
		room, err := q.Room(ctx, t.RoomID)
		if errors.Is(err, ErrNotFound) || err == nil && room.PrisonID != prisonID {
			return notFoundf("room %d at prison %d", t.RoomID, prisonID)
		} else if err != nil {
			return err
		}
		id, err := q.CreateSlotTemplate(ctx, t)
		if err != nil {
			return err
		}
		if created, err = q.SlotTemplate(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "slot_template.create", templateSubject(id), nil, viewTemplate(created))
	})
	return created, err
}

// updateSlotTemplate changes a template's capacity, call types and end of
// validity (admins only). Bookings already made keep their slots.
func (s *Service) updateSlotTemplate(ctx context.Context, actor Staff, id int64, req templateUpdate) (SlotTemplate, error) {
	if err := requireAdmin(actor); err != nil {
		return SlotTemplate{}, err
	}
	var probe SlotTemplate
	if err := checkTemplateTerms(&probe, req.Capacity, req.CallTypes, req.ValidTo); err != nil {
		return SlotTemplate{}, err
	}
	var after SlotTemplate
	err := s.adminTx(ctx, actor, "slot_template.update", func(q Queries, now time.Time) error {
		before, err := q.SlotTemplate(ctx, id)
		if err != nil {
			return err
		}
		next := before
		if err := checkTemplateTerms(&next, req.Capacity, req.CallTypes, req.ValidTo); err != nil {
			return err
		}
		if err := q.UpdateSlotTemplate(ctx, next); err != nil {
			return err
		}
		if after, err = q.SlotTemplate(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "slot_template.update", templateSubject(id), viewTemplate(before), viewTemplate(after))
	})
	return after, err
}

// deleteSlotTemplate deletes a template that no booking was ever made in
// (ErrInUse otherwise: end it with validTo instead), with its excluded
// dates (admins only).
func (s *Service) deleteSlotTemplate(ctx context.Context, actor Staff, id int64) error {
	return s.adminTx(ctx, actor, "slot_template.delete", func(q Queries, now time.Time) error {
		before, err := q.SlotTemplate(ctx, id)
		if err != nil {
			return err
		}
		n, err := q.TemplateBookings(ctx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return refuse(ErrInUse, "slot template %d has %d bookings; end it with validTo instead", id, n)
		}
		if err := q.DeleteSlotTemplate(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "slot_template.delete", templateSubject(id), viewTemplate(before), nil)
	})
}
