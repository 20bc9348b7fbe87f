// Package clock gives Gatehouse one source of "now", so that booking windows,
// join-token validity and the call-ending timer can be tested without waiting
// for wall-clock time to pass.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock reports the current time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Offset is a clock running at real speed but shifted by an adjustable
// offset. Tests use it to stand at any moment of a booked call.
type Offset struct {
	offset atomic.Int64 // nanoseconds
}

// NewOffset returns a clock that reads as t right now and then advances in
// real time.
func NewOffset(t time.Time) *Offset {
	o := &Offset{}
	o.Set(t)
	return o
}

// Now returns the shifted time.
func (o *Offset) Now() time.Time {
	return time.Now().Add(time.Duration(o.offset.Load()))
}

// Set makes the clock read t now.
func (o *Offset) Set(t time.Time) {
	o.offset.Store(int64(time.Until(t)))
}

// Advance moves the clock forward by d.
func (o *Offset) Advance(d time.Duration) {
	o.offset.Add(int64(d))
}
