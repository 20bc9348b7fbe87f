package booking

import (
	"context"
	"fmt"
	"time"
)

// prisonRequest is the body of POST /api/v1/prisons.
type prisonRequest struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Timezone string `json:"timezone,omitempty"`
}

// prisonUpdate is the body of PUT /api/v1/prisons/{prisonId}.
type prisonUpdate struct {
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// roomRequest is the body of POST /api/v1/prisons/{prisonId}/rooms and
// PUT /api/v1/rooms/{id}.
type roomRequest struct {
	Name string `json:"name"`
}

// createPrison creates a prison (admins only); the time zone defaults to
// DefaultTimezone.
func (s *Service) createPrison(ctx context.Context, actor Staff, req prisonRequest) (Prison, error) {
	if err := requireAdmin(actor); err != nil {
		return Prison{}, err
	}
	p := Prison{Code: req.Code, Timezone: req.Timezone}
	if p.Timezone == "" {
		p.Timezone = DefaultTimezone
	}
	var err error
	if err = checkPrisonCode(p.Code); err != nil {
		return Prison{}, err
	}
	if p.Name, err = cleanText("name", req.Name, maxNameLen); err != nil {
		return Prison{}, err
	}
	if err = checkTimezone(p.Timezone); err != nil {
		return Prison{}, err
	}
	err = s.adminTx(ctx, actor, "prison.create", func(q Queries, now time.Time) error {
		if p.ID, err = q.CreatePrison(ctx, p); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prison.create", prisonSubject(p.ID), nil, p)
	})
	return p, err
}

// updatePrison renames a prison or changes its time zone (admins only). A
// prison with active bookings still to come keeps its zone (ErrInUse):
// their slot ids are local times in it.
func (s *Service) updatePrison(ctx context.Context, actor Staff, id int64, req prisonUpdate) (Prison, error) {
	if err := requireAdmin(actor); err != nil {
		return Prison{}, err
	}
	name, err := cleanText("name", req.Name, maxNameLen)
	if err != nil {
		return Prison{}, err
	}
	if err := checkTimezone(req.Timezone); err != nil {
		return Prison{}, err
	}
	var after Prison
	err = s.adminTx(ctx, actor, "prison.update", func(q Queries, now time.Time) error {
		before, err := q.Prison(ctx, id)
		if err != nil {
			return err
		}
		after = before
		after.Name, after.Timezone = name, req.Timezone
		if after.Timezone != before.Timezone {
			counts, err := q.ActiveCounts(ctx, id, now, now.AddDate(100, 0, 0))
			if err != nil {
				return err
			}
			if n := sumCounts(counts); n > 0 {
				return refuse(ErrInUse, "%s has %d active bookings to come, booked in its current time zone; its time zone cannot change until they are over", before.Name, n)
			}
		}
		if err := q.UpdatePrison(ctx, after); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prison.update", prisonSubject(id), before, after)
	})
	return after, err
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// rooms lists a prison's rooms for actor (anyone who can see the prison).
func (s *Service) rooms(ctx context.Context, actor Staff, prisonID int64) ([]Room, error) {
	if err := s.checkPrisonVisible(ctx, actor, prisonID); err != nil {
		return nil, err
	}
	return s.store.Rooms(ctx, prisonID)
}

// checkPrisonVisible wraps ErrNotFound when the prison does not exist or
// actor cannot see it.
func (s *Service) checkPrisonVisible(ctx context.Context, actor Staff, prisonID int64) error {
	if !actor.canSeePrison(prisonID) {
		return notFoundf("prison %d", prisonID)
	}
	_, err := s.store.Prison(ctx, prisonID)
	return err
}

// createRoom adds a room to a prison (admins only).
func (s *Service) createRoom(ctx context.Context, actor Staff, prisonID int64, req roomRequest) (Room, error) {
	if err := requireAdmin(actor); err != nil {
		return Room{}, err
	}
	name, err := cleanText("name", req.Name, maxRoomNameLen)
	if err != nil {
		return Room{}, err
	}
	r := Room{PrisonID: prisonID, Name: name}
	err = s.adminTx(ctx, actor, "room.create", func(q Queries, now time.Time) error {
		if _, err := q.Prison(ctx, prisonID); err != nil {
			return err
		}
		if r.ID, err = q.CreateRoom(ctx, r); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "room.create", roomSubject(r.ID), nil, r)
	})
	return r, err
}

// updateRoom renames a room (admins only).
func (s *Service) updateRoom(ctx context.Context, actor Staff, id int64, req roomRequest) (Room, error) {
	if err := requireAdmin(actor); err != nil {
		return Room{}, err
	}
	name, err := cleanText("name", req.Name, maxRoomNameLen)
	if err != nil {
		return Room{}, err
	}
	var after Room
	err = s.adminTx(ctx, actor, "room.update", func(q Queries, now time.Time) error {
		before, err := q.Room(ctx, id)
		if err != nil {
			return err
		}
		after = before
		after.Name = name
		if err := q.UpdateRoom(ctx, after); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "room.update", roomSubject(id), before, after)
	})
	return after, err
}

// deleteRoom deletes a room that has no slot templates and no bookings
// (ErrInUse otherwise), with its excluded dates (admins only).
func (s *Service) deleteRoom(ctx context.Context, actor Staff, id int64) error {
	return s.adminTx(ctx, actor, "room.delete", func(q Queries, now time.Time) error {
		before, err := q.Room(ctx, id)
		if err != nil {
			return err
		}
		templates, bookings, err := q.RoomUse(ctx, id)
		if err != nil {
			return err
		}
		if templates > 0 || bookings > 0 {
			return refuse(ErrInUse, "room %q has %d slot templates and %d bookings; delete its templates first (a room with bookings stays)",
				before.Name, templates, bookings)
		}
		if err := q.DeleteRoom(ctx, id); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "room.delete", roomSubject(id), before, nil)
	})
}

// Audit subjects of the set-up.
func prisonSubject(id int64) string   { return fmt.Sprintf("prison:%d", id) }
func roomSubject(id int64) string     { return fmt.Sprintf("room:%d", id) }
func templateSubject(id int64) string { return fmt.Sprintf("slot_template:%d", id) }
