package booking

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DeviceKind is what sort of prisoner device a device is.
type DeviceKind string

// Device kinds.
const (
	DeviceInCell DeviceKind = "in_cell" // a tablet or laptop in one cell
	DeviceKiosk  DeviceKind = "kiosk"   // a shared kiosk, on a wing, landing or in a visits room
)

// Valid reports whether k is a known kind.
func (k DeviceKind) Valid() bool { return k == DeviceInCell || k == DeviceKiosk }

// Device is a prisoner device registered to a prison and a location. An
// in-cell device joins the calls of the prisoner held at exactly its
// location; a kiosk also those of prisoners held anywhere under it (a kiosk
// at "B-2" serves cell "B-2-14"). Its secret is shown once, at
// registration; only its hash (SecretHash, hex SHA-256) is stored.
type Device struct {
	ID         int64      `json:"id"`
	PrisonID   int64      `json:"prisonId"`
	Name       string     `json:"name"`
	Location   string     `json:"location"`
	Kind       DeviceKind `json:"kind"`
	Active     bool       `json:"active"`
	CreatedAt  time.Time  `json:"createdAt"`
	SecretHash string     `json:"-"`
}

// deviceRequest is the body of POST /api/v1/prisons/{prisonId}/devices.
type deviceRequest struct {
	Name     string     `json:"name"`
	Location string     `json:"location"`
	Kind     DeviceKind `json:"kind"`
}

// registeredDevice answers a registration: the device and its secret,
// shown this once.
type registeredDevice struct {
	Device Device `json:"device"`
	Secret string `json:"secret"`
}

// maxDeviceSecretLen bounds a presented device secret before it is hashed.
const maxDeviceSecretLen = 128

// devices lists a prison's devices for actor (anyone who can see the
// prison), without secrets.
func (s *Service) devices(ctx context.Context, actor Staff, prisonID int64) ([]Device, error) {
	if err := s.checkPrisonVisible(ctx, actor, prisonID); err != nil {
		return nil, err
	}
	return s.store.Devices(ctx, prisonID)
}

// registerDevice registers a device at a prison (admins only) and returns
// it with its one-time secret.
func (s *Service) registerDevice(ctx context.Context, actor Staff, prisonID int64, req deviceRequest) (registeredDevice, error) {
	if err := requireAdmin(actor); err != nil {
		return registeredDevice{}, err
	}
	d := Device{PrisonID: prisonID, Kind: req.Kind, Active: true}
	var err error
	if d.Name, err = cleanText("name", req.Name, maxRoomNameLen); err != nil {
		return registeredDevice{}, err
	}
	if d.Location, err = cleanLocation(req.Location, false); err != nil {
		return registeredDevice{}, err
	}
	if !d.Kind.Valid() {
		return registeredDevice{}, refuse(ErrValidation, "kind must be in_cell or kiosk")
	}
	secret := newSecret()
	d.SecretHash = hashToken(secret)
	err = s.adminTx(ctx, actor, "device.create", func(q Queries, now time.Time) error {
		if _, err := q.Prison(ctx, prisonID); err != nil {
			return err
		}
		d.CreatedAt = now.UTC().Truncate(time.Second)
		if d.ID, err = q.CreateDevice(ctx, d); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "device.create", deviceSubject(d.ID), nil, d)
	})
	if err != nil {
		return registeredDevice{}, err
	}
	return registeredDevice{Device: d, Secret: secret}, nil
}

// disableDevice disables a device (admins only): it joins no call from
// then on.
func (s *Service) disableDevice(ctx context.Context, actor Staff, id int64) (Device, error) {
	var after Device
	err := s.adminTx(ctx, actor, "device.disable", func(q Queries, now time.Time) error {
		before, err := q.Device(ctx, id)
		if err != nil {
			return err
		}
		after = before
		after.Active = false
		if err := q.SetDeviceActive(ctx, id, false); err != nil {
			return err
		}
		return auditChange(ctx, q, now, actor, "device.disable", deviceSubject(id), before, after)
	})
	return after, err
}

// AuthenticateDevice returns the active device whose secret is secret.
// Anything else (unknown, disabled, malformed) wraps ErrNotFound. Signalling
// uses it, with DeviceMayJoin, to admit a prisoner device.
func (s *Service) AuthenticateDevice(ctx context.Context, secret string) (Device, error) {
	if secret == "" || len(secret) > maxDeviceSecretLen || strings.ContainsAny(secret, " \t\r\n") {
		return Device{}, notFoundf("device")
	}
	d, err := s.store.DeviceBySecretHash(ctx, hashToken(secret))
	if err != nil {
		return Device{}, fmt.Errorf("authenticate device: %w", err)
	}
	if !d.Active {
		return Device{}, notFoundf("device %d is disabled", d.ID)
	}
	return d, nil
}

// DeviceMayJoin reports whether registered device deviceID may join the
// call of booking bookingID: the device is active and registered at the
// booking's prison, the booking is active (requested or booked), and the
// booking's prisoner is held now at the device's location (exactly, for
// an in-cell device; there or anywhere under it, for a kiosk). A missing
// device or booking is simply false. It answers from the store in one
// query, so a prisoner moved to another cell, or a device disabled, is
// refused at once. Signalling calls it when a device asks to join.
func (s *Service) DeviceMayJoin(ctx context.Context, deviceID, bookingID int64) (bool, error) {
	ok, err := s.store.DeviceMayJoin(ctx, deviceID, bookingID)
	if err != nil {
		return false, err
	}
	if !ok {
		s.log.LogAttrs(ctx, slog.LevelInfo, "device refused", slog.Int64("device_id", deviceID),
			slog.Int64("booking_id", bookingID))
	}
	return ok, nil
}

func deviceSubject(id int64) string { return fmt.Sprintf("device:%d", id) }
