// Package udpraw moves UDP datagrams on non-blocking sockets with raw
// system calls that neither allocate nor enter the Go scheduler's system
// call state: a goroutine that enters it wakes the runtime's monitor
// thread when the process was idle, which on a media server idle between
// packets costs more than the datagram itself. The TURN relay's loop and
// the media server's sockets use it. Linux only.
package udpraw
