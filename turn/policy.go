package turn

import (
	"net/netip"
)

// Reasons a peer address is refused. They are the "reason" label of
// gatehouse_turn_refusals_total (prefixed "peer_").
const (
	ReasonLoopback      = "loopback"
	ReasonPrivate       = "private"
	ReasonLinkLocal     = "link_local"
	ReasonMulticast     = "multicast"
	ReasonUnspecified   = "unspecified"
	ReasonCGNAT         = "cgnat"
	ReasonDocumentation = "documentation"
	ReasonReserved      = "reserved"
	ReasonBroadcast     = "broadcast"
	ReasonNotMedia      = "not_media" // a connection-test credential asked for a peer that is no media node
)

// specialRange is an address block a relay must not reach unless told to.
type specialRange struct {
	prefix netip.Prefix
	reason string
}

// specialRanges follows the IANA special-purpose address registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry), RFC 6890,
// and adds multicast and the IPv6 space outside global unicast. A relay that
// reaches any of these can be used to probe the network it stands in: the
// prison's own LAN, the host's loopback services, cloud metadata endpoints
// (169.254.169.254).
var specialRanges = func() []specialRange {
	// The first match names the reason, so narrower blocks come first.
	list := []struct{ cidr, reason string }{
		// IPv4
		{"0.0.0.0/8", ReasonUnspecified},         // "this network", RFC 791
		{"10.0.0.0/8", ReasonPrivate},            // RFC 1918
		{"100.64.0.0/10", ReasonCGNAT},           // RFC 6598 shared address space
		{"127.0.0.0/8", ReasonLoopback},          // RFC 1122
		{"169.254.0.0/16", ReasonLinkLocal},      // RFC 3927 (cloud metadata lives here)
		{"172.16.0.0/12", ReasonPrivate},         // RFC 1918
		{"192.0.0.0/24", ReasonReserved},         // RFC 6890 IETF protocol assignments
		{"192.0.2.0/24", ReasonDocumentation},    // RFC 5737 TEST-NET-1
		{"192.31.196.0/24", ReasonReserved},      // RFC 7535 AS112
		{"192.52.193.0/24", ReasonReserved},      // RFC 7450 AMT
		{"192.88.99.0/24", ReasonReserved},       // RFC 7526 deprecated 6to4 relay anycast
		{"192.168.0.0/16", ReasonPrivate},        // RFC 1918
		{"192.175.48.0/24", ReasonReserved},      // RFC 7534 direct delegation AS112
		{"198.18.0.0/15", ReasonReserved},        // RFC 2544 benchmarking
		{"198.51.100.0/24", ReasonDocumentation}, // RFC 5737 TEST-NET-2
		{"203.0.113.0/24", ReasonDocumentation},  // RFC 5737 TEST-NET-3
		{"224.0.0.0/4", ReasonMulticast},         // RFC 5771
		{"255.255.255.255/32", ReasonBroadcast},  // RFC 919 limited broadcast
		{"240.0.0.0/4", ReasonReserved},          // RFC 1112 reserved
		// IPv6
		{"::/128", ReasonUnspecified},          // RFC 4291
		{"::1/128", ReasonLoopback},            // RFC 4291
		{"::/96", ReasonReserved},              // RFC 4291 IPv4-compatible (deprecated)
		{"64:ff9b::/96", ReasonReserved},       // RFC 6052 NAT64 (would reach IPv4 behind a translator)
		{"64:ff9b:1::/48", ReasonReserved},     // RFC 8215 local-use NAT64
		{"100::/64", ReasonReserved},           // RFC 6666 discard-only
		{"2001::/23", ReasonReserved},          // RFC 2928 IETF protocol assignments (Teredo, ORCHID, ...)
		{"2001:db8::/32", ReasonDocumentation}, // RFC 3849
		{"2002::/16", ReasonReserved},          // RFC 3056 6to4 (embeds any IPv4 address)
		{"3fff::/20", ReasonDocumentation},     // RFC 9637
		{"5f00::/16", ReasonReserved},          // RFC 9602 SRv6 SIDs
		{"fc00::/7", ReasonPrivate},            // RFC 4193 unique local
		{"fe80::/10", ReasonLinkLocal},         // RFC 4291
		{"fec0::/10", ReasonPrivate},           // RFC 3879 deprecated site-local
		{"ff00::/8", ReasonMulticast},          // RFC 4291
	}
	out := make([]specialRange, len(list))
	for i, r := range list {
		out[i] = specialRange{netip.MustParsePrefix(r.cidr), r.reason}
	}
	return out
}()

// globalUnicast6 is the only IPv6 block allocated for global unicast
// (RFC 4291 section 2.4); everything outside it is reserved.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// PeerPolicy decides which peer addresses a client may relay to. The zero
// value refuses every special-purpose range; Allow lists prefixes to permit
// anyway (the media nodes' own addresses).
type PeerPolicy struct {
	Allow []netip.Prefix
}

// Check returns "" if the relay may send to ip, or the reason it may not.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
func (p PeerPolicy) Check(ip netip.Addr) string {
	if !ip.IsValid() {
		return ReasonUnspecified
	}
	ip = ip.Unmap().WithZone("")
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return ""
		}
	}
	return SpecialReason(ip)
}

// SpecialReason names the special-purpose range ip is in, or "" for a
// globally routable unicast address.
func SpecialReason(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	for _, r := range specialRanges {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return ReasonReserved
	}
	return ""
}
