// Package turn is Gatehouse's TURN relay (RFC 8656) on pion/turn: the way a
// call gets through when a browser cannot reach the media server directly.
//
// It listens on UDP and TCP on one port (3478 by default) and on TLS on
// another (443 in production, so calls pass firewalls that allow only
// HTTPS), over IPv4 and IPv6, with relayed addresses from a port range and
// an external address for servers behind NAT.
//
// Credentials are ephemeral, in the TURN REST convention coturn's
// use-auth-secret expects: username "expiry:user", password
// base64(HMAC-SHA1(secret, username)). Signalling issues them (Issuer) only
// to admitted participants and refreshes them during long calls; the relay
// checks them without state, and asks an Authorizer whether the
// participant is still admitted, so a credential kept after its call is
// refused. The same secret lets an external coturn be used instead.
//
// The relay must never become a way into the network it stands in: peers in
// loopback, private, link-local, multicast, CGNAT, documentation and other
// special ranges are refused (PeerPolicy) unless allow-listed (the media
// nodes' own addresses); RFC 6062 TCP relaying is not offered; packets to
// the relay's own addresses are dropped. Allocations are capped per user and
// per client address, relayed bit rate per allocation, allocation age
// overall, and requests per client address, so one address cannot starve
// the others. Refusals are logged (rate-limited) and counted by reason in
// Prometheus.
//
// On Linux, media of allocations made over UDP does not go through pion's
// per-allocation goroutines: one loop (udpLoop) waits for the UDP listeners
// and every such relayed socket together and relays ChannelData both ways
// on the permissions and channels pion granted, as coturn's event loop
// does; pion keeps the protocol and everything else.
//
// A Server needs no call state, so it runs inside the all-in-one process or
// alone (gatehouse --roles turn); Start binds and serves until its context
// ends, Close stops it.
package turn
