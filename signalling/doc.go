// Package signalling admits participants to calls and runs each call's life.
//
// One WebSocket per participant carries the JSON protocol documented in
// PROTOCOL.md. The server verifies the join token, asks the booking service
// (through the Bookings interface) whether the call may be joined now, holds
// participants in a waiting room until the start time, hands them to the sfu
// when the call goes live, warns 5 and 1 minutes before the end and ends the
// call at the booked end time, whatever the clients do.
package signalling
