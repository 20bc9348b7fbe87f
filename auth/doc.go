// Package auth holds Gatehouse's credentials: signed join tokens that admit
// a participant to one booked call, and staff password hashing.
package auth
