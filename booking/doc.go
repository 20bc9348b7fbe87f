// Package booking schedules calls: prisons, rooms, slot templates, prisoners,
// contacts, bookings and the join links that admit participants. It checks
// the booking rules in one store transaction and serves the staff API under
// /api/v1. It also decides who may monitor a call (legal privilege:
// monitor.go), keeps the record of recordings and their retention
// (recordings.go), and holds the hash-chained audit log (audit.go). It
// knows nothing of WebRTC.
package booking
