// Package echo gives tests a UDP peer that sends back what it receives,
// a count of the round trips made to it through a relay or any other
// packet connection, and a TURN allocation to make them through.
package echo

import (
	"net"
	"testing"
	"time"
)

// Peer listens on ip (an ephemeral port) and echoes every datagram until
// the test ends.
func Peer(t testing.TB, ip net.IP) *net.UDPConn {
	t.Helper()
	network := "udp4"
	if ip.To4() == nil {
		network = "udp6"
	}
	pc, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc
}

// RoundTrips sends n numbered datagrams of size bytes through conn to peer,
// 2 ms apart, and counts the echoes that come back within 5 seconds.
func RoundTrips(t testing.TB, conn net.PacketConn, peer net.Addr, n, size int) int {
	t.Helper()
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 2048)
		seen := 0
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for seen < n {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				break
			}
			seen++
		}
		got <- seen
	}()
	msg := make([]byte, size)
	for i := range n {
		msg[0] = byte(i)
		if _, err := conn.WriteTo(msg, peer); err != nil {
			t.Errorf("write to peer: %v", err)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return <-got
}
