package booking

import (
	"fmt"
	"net/http"
	"time"
)

// prisons serves GET /api/v1/prisons: every prison for admins, otherwise
// the staff member's own.
func (a *api) prisons(w http.ResponseWriter, r *http.Request, who principal) {
	all, err := a.svc.store.Prisons(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []Prison{}
	for _, p := range all {
		if who.staff.canSeePrison(p.ID) {
			out = append(out, p)
		}
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// visiblePrison reads a prison the staff member may see; any other is
// ErrNotFound.
func (a *api) visiblePrison(r *http.Request, who principal, id int64) (Prison, error) {
	if !who.staff.canSeePrison(id) {
		return Prison{}, fmt.Errorf("prison %d: %w", id, ErrNotFound)
	}
	return a.svc.store.Prison(r.Context(), id)
}

// dateRange reads the from and to query parameters (civil dates, inclusive)
// with defaults: from is today in loc, to is from plus defaultDays-1.
func dateRange(r *http.Request, loc *time.Location, now time.Time, defaultDays int) (time.Time, time.Time, error) {
	q := r.URL.Query()
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if s := q.Get("from"); s != "" {
		var err error
		if from, err = ParseDate(s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	to := from.AddDate(0, 0, defaultDays-1)
	if s := q.Get("to"); s != "" {
		var err error
		if to, err = ParseDate(s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	return from, to, checkDateRange(from, to)
}

// slots serves GET /api/v1/prisons/{prisonId}/slots?from=&to=.
func (a *api) slots(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	prison, err := a.visiblePrison(r, who, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	loc, err := loadLocation(prison)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dateRange(r, loc, a.svc.clock.Now(), 7)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	slots, err := a.svc.Slots(r.Context(), who.staff, id, from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, slots)
}

// prisoners serves GET /api/v1/prisons/{prisonId}/prisoners.
func (a *api) prisoners(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.svc.visiblePrisoners(r.Context(), who.staff, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if ps == nil {
		ps = []Prisoner{}
	}
	a.writeJSON(w, r, http.StatusOK, ps)
}

// contactView is a contact as GET /api/v1/prisoners/{id}/contacts shows it.
type contactView struct {
	ID           int64       `json:"id"`
	Name         string      `json:"name"`
	Kind         ContactKind `json:"kind"`
	Relationship string      `json:"relationship"`
	Approved     bool        `json:"approved"`
	Banned       bool        `json:"banned"`
	DateOfBirth  *string     `json:"dateOfBirth"`
}

// contacts serves GET /api/v1/prisoners/{prisonerId}/contacts.
func (a *api) contacts(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonerId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.svc.visibleContacts(r.Context(), who.staff, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]contactView, 0, len(list))
	for _, c := range list {
		out = append(out, c.view())
	}
	a.writeJSON(w, r, http.StatusOK, out)
}
