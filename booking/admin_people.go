package booking

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// prisonerRequest is the body of POST /api/v1/prisons/{prisonId}/prisoners.
// Status defaults to active; later changes of status are moves (see
// MovePrisoner), which flag bookings for review.
type prisonerRequest struct {
	Number      string         `json:"number"`
	Name        string         `json:"name"`
	Location    string         `json:"location,omitempty"`
	Status      PrisonerStatus `json:"status,omitempty"`
	OneWayVideo bool           `json:"oneWayVideo,omitempty"`
}

// prisonerUpdate is the body of PUT /api/v1/prisoners/{prisonerId}.
// OneWayVideo, when sent, sets the prisoner's one-way video policy; left
// out, it stays as it is.
type prisonerUpdate struct {
	Name        string  `json:"name"`
	Location    *string `json:"location"` // required; "" when not known
	OneWayVideo *bool   `json:"oneWayVideo,omitempty"`
}

// contactRequest is the body of POST /api/v1/contacts.
type contactRequest struct {
	Name        string      `json:"name"`
	Kind        ContactKind `json:"kind"`
	DateOfBirth *string     `json:"dateOfBirth,omitempty"`
}

// contactRecord is a contact as POST /api/v1/contacts answers it.
type contactRecord struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	Kind        ContactKind `json:"kind"`
	DateOfBirth *string     `json:"dateOfBirth"`
}

// linkRequest is the body of POST /api/v1/prisoners/{prisonerId}/contacts.
type linkRequest struct {
	ContactID    int64  `json:"contactId"`
	Relationship string `json:"relationship"`
	Approved     *bool  `json:"approved"`
	Banned       *bool  `json:"banned"`
}

// linkUpdate is the body of PUT /api/v1/prisoners/{prisonerId}/contacts/{id}.
type linkUpdate struct {
	Relationship string `json:"relationship"`
	Approved     *bool  `json:"approved"`
	Banned       *bool  `json:"banned"`
}

// record presents c.
func (c Contact) record() contactRecord {
	r := contactRecord{ID: c.ID, Name: c.Name, Kind: c.Kind}
	if !c.DateOfBirth.IsZero() {
		d := c.DateOfBirth.Format(dateLayout)
		r.DateOfBirth = &d
	}
	return r
}

// view presents a contact on a prisoner's list.
func (pc PrisonerContact) view() contactView {
	v := contactView{ID: pc.ID, Name: pc.Name, Kind: pc.Kind, Relationship: pc.Relationship,
		Approved: pc.Approved, Banned: pc.Banned}
	v.DateOfBirth = pc.record().DateOfBirth
	return v
}

// createPrisoner adds a prisoner to a prison (admins only).
func (s *Service) createPrisoner(ctx context.Context, actor Staff, prisonID int64, req prisonerRequest) (Prisoner, error) {
	if err := requireAdmin(actor); err != nil {
		return Prisoner{}, err
	}
	p := Prisoner{PrisonID: prisonID, Number: req.Number, Status: req.Status, OneWayVideo: req.OneWayVideo}
	if p.Status == "" {
		p.Status = PrisonerActive
	}
	var err error
	if err = checkPrisonerNumber(p.Number); err != nil {
		return Prisoner{}, err
	}
	if p.Name, err = cleanText("name", req.Name, maxNameLen); err != nil {
		return Prisoner{}, err
	}
	if p.Location, err = cleanLocation(req.Location, true); err != nil {
		return Prisoner{}, err
	}
	if p.Status != PrisonerActive && p.Status != PrisonerReleased && p.Status != PrisonerTransferred {
		return Prisoner{}, refuse(ErrValidation, "status must be active, released or transferred")
	}
	err = s.adminTx(ctx, actor, "prisoner.create", func(q Queries, now time.Time) error {
		if _, err := q.Prison(ctx, prisonID); err != nil {
			return err
		}
		if p.ID, err = q.CreatePrisoner(ctx, p); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prisoner.create", prisonerSubject(p.ID), nil, p)
	})
	return p, err
}

// updatePrisoner changes a prisoner's name, location and one-way video
// policy (admins only): a move to another cell is a location change;
// release and transfer are moves (MovePrisoner).
func (s *Service) updatePrisoner(ctx context.Context, actor Staff, id int64, req prisonerUpdate) (Prisoner, error) {
	if err := requireAdmin(actor); err != nil {
		return Prisoner{}, err
	}
	name, err := cleanText("name", req.Name, maxNameLen)
	if err != nil {
		return Prisoner{}, err
	}
	if req.Location == nil {
		return Prisoner{}, refuse(ErrValidation, "location is required (\"\" when not known)")
	}
	location, err := cleanLocation(*req.Location, true)
	if err != nil {
		return Prisoner{}, err
	}
	var after Prisoner
	err = s.adminTx(ctx, actor, "prisoner.update", func(q Queries, now time.Time) error {
		before, err := q.Prisoner(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return refuse(ErrPrisonerNotFound, "there is no prisoner %d", id)
		} else if err != nil {
			return err
		}
		after = before
		after.Name, after.Location = name, location
		if req.OneWayVideo != nil {
			after.OneWayVideo = *req.OneWayVideo
		}
		if err := q.UpdatePrisoner(ctx, after); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prisoner.update", prisonerSubject(id), before, after)
	})
	return after, err
}

// createContact adds a contact (admins only): a person who may later be
// put on prisoners' lists.
func (s *Service) createContact(ctx context.Context, actor Staff, req contactRequest) (Contact, error) {
	if err := requireAdmin(actor); err != nil {
		return Contact{}, err
	}
	c := Contact{Kind: req.Kind}
	var err error
	if c.Name, err = cleanText("name", req.Name, maxNameLen); err != nil {
		return Contact{}, err
	}
	if !c.Kind.Valid() {
		return Contact{}, refuse(ErrValidation, "kind must be social, legal or probation")
	}
	now := s.clock.Now()
	if req.DateOfBirth != nil {
		if c.DateOfBirth, err = parseBirthDate(*req.DateOfBirth, now); err != nil {
			return Contact{}, err
		}
	}
	err = s.adminTx(ctx, actor, "contact.create", func(q Queries, now time.Time) error {
		if c.ID, err = q.CreateContact(ctx, c); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "contact.create", contactSubject(c.ID), nil, c.record())
	})
	return c, err
}

// checkLinkTerms validates the parts of a contact link an admin sets.
func checkLinkTerms(relationship string, approved, banned *bool) (string, error) {
	rel, err := cleanText("relationship", relationship, maxRelationshipLen)
	if err != nil {
		return "", err
	}
	if approved == nil || banned == nil {
		return "", refuse(ErrValidation, "approved and banned are required")
	}
	return rel, nil
}

// linkContact puts a contact on a prisoner's list (admins only); a contact
// already there is ErrAlreadyExists (update the link instead).
func (s *Service) linkContact(ctx context.Context, actor Staff, prisonerID int64, req linkRequest) (PrisonerContact, error) {
	if err := requireAdmin(actor); err != nil {
		return PrisonerContact{}, err
	}
	if req.ContactID <= 0 {
		return PrisonerContact{}, refuse(ErrValidation, "contactId must be a positive id")
	}
	rel, err := checkLinkTerms(req.Relationship, req.Approved, req.Banned)
	if err != nil {
		return PrisonerContact{}, err
	}
	var pc PrisonerContact
	err = s.adminTx(ctx, actor, "prisoner_contact.create", func(q Queries, now time.Time) error {
		if _, err := q.Prisoner(ctx, prisonerID); errors.Is(err, ErrNotFound) {
			return refuse(ErrPrisonerNotFound, "there is no prisoner %d", prisonerID)
		} else if err != nil {
			return err
		}
		c, err := q.Contact(ctx, req.ContactID)
		if err != nil {
			return err
		}
		if _, err := q.PrisonerContact(ctx, prisonerID, c.ID); err == nil {
			return refuse(ErrAlreadyExists, "%s is already on prisoner %d's list; update the link instead", c.Name, prisonerID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		pc = PrisonerContact{PrisonerID: prisonerID, Contact: c, Relationship: rel, Approved: *req.Approved, Banned: *req.Banned}
		if err := q.LinkContact(ctx, pc); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prisoner_contact.create", linkSubject(prisonerID, c.ID), nil, pc.view())
	})
	return pc, err
}

// updateLink changes a contact's relationship, approval and ban on a
// prisoner's list (admins only).
func (s *Service) updateLink(ctx context.Context, actor Staff, prisonerID, contactID int64, req linkUpdate) (PrisonerContact, error) {
	if err := requireAdmin(actor); err != nil {
		return PrisonerContact{}, err
	}
	rel, err := checkLinkTerms(req.Relationship, req.Approved, req.Banned)
	if err != nil {
		return PrisonerContact{}, err
	}
	var after PrisonerContact
	err = s.adminTx(ctx, actor, "prisoner_contact.update", func(q Queries, now time.Time) error {
		before, err := q.PrisonerContact(ctx, prisonerID, contactID)
		if err != nil {
			return err
		}
		after = before
		after.Relationship, after.Approved, after.Banned = rel, *req.Approved, *req.Banned
		if err := q.LinkContact(ctx, after); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "prisoner_contact.update", linkSubject(prisonerID, contactID), before.view(), after.view())
	})
	return after, err
}

func contactSubject(id int64) string { return fmt.Sprintf("contact:%d", id) }

func linkSubject(prisonerID, contactID int64) string {
	return fmt.Sprintf("prisoner_contact:%d:%d", prisonerID, contactID)
}
