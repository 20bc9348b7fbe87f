package turn

import (
	"net/netip"
	"testing"
)

func TestPeerPolicy(t *testing.T) {
	cases := map[string]string{
		"8.8.8.8":              "",
		"1.1.1.1":              "",
		"2a00:1450:4009::200e": "",
		"127.0.0.1":            ReasonLoopback,
		"127.255.0.9":          ReasonLoopback,
		"::1":                  ReasonLoopback,
		"::ffff:127.0.0.1":     ReasonLoopback, // IPv4-mapped
		"::ffff:10.0.0.1":      ReasonPrivate,
		"10.20.30.40":          ReasonPrivate,
		"172.16.0.1":           ReasonPrivate,
		"172.31.255.255":       ReasonPrivate,
		"172.32.0.1":           "",
		"192.168.0.10":         ReasonPrivate,
		"fd12:3456::1":         ReasonPrivate,
		"fe80::1":              ReasonLinkLocal,
		"169.254.169.254":      ReasonLinkLocal,
		"100.64.0.1":           ReasonCGNAT,
		"100.127.255.254":      ReasonCGNAT,
		"100.128.0.1":          "",
		"224.0.0.251":          ReasonMulticast,
		"239.255.255.250":      ReasonMulticast,
		"ff02::1":              ReasonMulticast,
		"0.0.0.0":              ReasonUnspecified,
		"::":                   ReasonUnspecified,
		"192.0.2.1":            ReasonDocumentation,
		"198.51.100.7":         ReasonDocumentation,
		"203.0.113.9":          ReasonDocumentation,
		"2001:db8::1":          ReasonDocumentation,
		"198.18.0.1":           ReasonReserved,
		"240.0.0.1":            ReasonReserved,
		"255.255.255.255":      ReasonBroadcast,
		"64:ff9b::a00:1":       ReasonReserved, // NAT64 of 10.0.0.1
		"2002:a00:1::1":        ReasonReserved, // 6to4 of 10.0.0.1
		"2001:0:4136::1":       ReasonReserved, // Teredo
		"4000::1":              ReasonReserved, // outside 2000::/3
	}
	var p PeerPolicy
	for ip, want := range cases {
		if got := p.Check(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Check(%s) = %q, want %q", ip, got, want)
		}
	}
	allow := PeerPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.5.0/24"), netip.MustParsePrefix("127.0.0.0/8")}}
	for ip, want := range map[string]string{"10.0.5.7": "", "10.0.6.7": ReasonPrivate, "127.0.0.1": "", "::ffff:10.0.5.1": "", "192.168.0.1": ReasonPrivate} {
		if got := allow.Check(netip.MustParseAddr(ip)); got != want {
			t.Errorf("with allow-list, Check(%s) = %q, want %q", ip, got, want)
		}
	}
	if got := p.Check(netip.Addr{}); got != ReasonUnspecified {
		t.Errorf("invalid address: %q", got)
	}
}

func BenchmarkPeerPolicyCheck(b *testing.B) {
	p := PeerPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.5.0/24")}}
	ip := netip.MustParseAddr("81.2.69.160")
	for b.Loop() {
		_ = p.Check(ip)
	}
}
