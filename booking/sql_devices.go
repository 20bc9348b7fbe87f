package booking

import (
	"context"
	"fmt"
)

// CreateDevice inserts a device.
func (q sqlQueries) CreateDevice(ctx context.Context, d Device) (int64, error) {
	var id int64
	err := q.queryRow(ctx, `
		INSERT INTO devices (prison_id, name, location, kind, secret_hash, active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.PrisonID, d.Name, d.Location, string(d.Kind), d.SecretHash, d.Active, unix(d.CreatedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create device %q: %w", d.Name, q.writeErr(err))
	}
	return id, nil
}

const deviceColumns = `id, prison_id, name, location, kind, secret_hash, active, created_at`

func scanDevice(sc interface{ Scan(...any) error }) (Device, error) {
	var (
		d       Device
		created int64
	)
	if err := sc.Scan(&d.ID, &d.PrisonID, &d.Name, &d.Location, &d.Kind, &d.SecretHash, &d.Active, &created); err != nil {
		return Device{}, err
	}
	d.CreatedAt = fromUnix(created)
	return d, nil
}

// Device reads one device.
func (q sqlQueries) Device(ctx context.Context, id int64) (Device, error) {
	d, err := scanDevice(q.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return Device{}, notFound(err, "device", id)
	}
	return d, nil
}

// Devices lists a prison's devices by name.
func (q sqlQueries) Devices(ctx context.Context, prisonID int64) ([]Device, error) {
	rows, err := q.query(ctx, `SELECT `+deviceColumns+` FROM devices WHERE prison_id = ? ORDER BY name, id`, prisonID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("scan device: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// DeviceBySecretHash finds a device by the hash of its secret.
func (q sqlQueries) DeviceBySecretHash(ctx context.Context, hash string) (Device, error) {
	d, err := scanDevice(q.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE secret_hash = ?`, hash))
	if err != nil {
		return Device{}, notFound(err, "device", "by secret")
	}
	return d, nil
}

// SetDeviceActive enables or disables a device.
func (q sqlQueries) SetDeviceActive(ctx context.Context, id int64, active bool) error {
	return q.execOne(ctx, "device", id, `UPDATE devices SET active = ? WHERE id = ?`, active, id)
}

// DeviceMayJoin answers, in one query, whether a device may join a
// booking: see DeviceQueries. A kiosk's location also covers the locations
// under it ("B-2" covers "B-2-14").
func (q sqlQueries) DeviceMayJoin(ctx context.Context, deviceID, bookingID int64) (bool, error) {
	var n int
	err := q.queryRow(ctx, `
		SELECT COUNT(*) FROM devices d
		JOIN bookings b ON b.prison_id = d.prison_id
		JOIN prisoners p ON p.id = b.prisoner_id AND p.prison_id = d.prison_id
		WHERE d.id = ? AND b.id = ? AND d.active AND d.location <> ''
			AND b.status IN ('requested', 'booked')
			AND (p.location = d.location OR d.kind = 'kiosk'
				AND substr(p.location, 1, length(d.location) + 1) = d.location || '-')`, deviceID, bookingID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("may device %d join booking %d: %w", deviceID, bookingID, err)
	}
	return n > 0, nil
}
