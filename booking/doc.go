// Package booking schedules calls: prisons, rooms, slot templates, prisoners,
// contacts, bookings and the join links that admit participants. It checks
// the booking rules in one store transaction and serves the staff API under
// /api/v1. It knows nothing of WebRTC.
package booking
