package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
)

// turnFlags holds the TURN flags that need parsing after flag.Parse.
type turnFlags struct {
	listenIPs, externalIPs, allowPeers, urls string
	relayMin, relayMax                       uint
	maxKbps                                  int64
}

// addTURNFlags registers the relay's flags on fs, writing into cfg.
func addTURNFlags(fs *flag.FlagSet, cfg *app.Config) *turnFlags {
	t := &cfg.TURN
	tf := &turnFlags{relayMin: uint(t.RelayPortMin), relayMax: uint(t.RelayPortMax), maxKbps: t.MaxBitrate / 1000}
	fs.BoolVar(&cfg.TURNEnabled, "turn", cfg.TURNEnabled, "run the built-in TURN relay (UDP/TCP on --turn-port, TLS on --turn-tls-port with a certificate)")
	fs.IntVar(&t.Port, "turn-port", t.Port, "TURN UDP and TCP port")
	fs.IntVar(&t.TLSPort, "turn-tls-port", t.TLSPort, "TURN over TLS port, when --turn-tls-cert is set (443 gets through HTTPS-only firewalls)")
	fs.StringVar(&t.TLSCertFile, "turn-tls-cert", t.TLSCertFile, "PEM certificate chain for TURN over TLS (reloaded when it changes)")
	fs.StringVar(&t.TLSKeyFile, "turn-tls-key", t.TLSKeyFile, "PEM private key for TURN over TLS")
	fs.StringVar(&tf.listenIPs, "turn-listen-ips", "", "comma-separated addresses the relay listens on (default: every IPv4 and IPv6 address)")
	fs.StringVar(&tf.externalIPs, "turn-external-ip", "", "public relay address(es) behind 1:1 NAT, at most one IPv4 and one IPv6, comma-separated")
	fs.StringVar(&t.Host, "turn-host", t.Host, "host name in the advertised TURN URLs; the TLS certificate must match it (default: host of --public-url)")
	fs.UintVar(&tf.relayMin, "turn-relay-port-min", tf.relayMin, "lowest relayed UDP port")
	fs.UintVar(&tf.relayMax, "turn-relay-port-max", tf.relayMax, "highest relayed UDP port")
	fs.StringVar(&t.Realm, "turn-realm", t.Realm, "TURN realm")
	fs.StringVar(&cfg.TURNSecret, "turn-secret", cfg.TURNSecret, "shared secret of the ephemeral TURN credentials, 16+ characters; coturn's static-auth-secret for an external relay (default with --turn: a random key kept in --data-dir)")
	fs.StringVar(&tf.urls, "turn-urls", "", "comma-separated TURN URLs to give participants instead of the built-in relay's (an external coturn)")
	fs.StringVar(&tf.allowPeers, "turn-allow-peers", "", "comma-separated CIDRs the relay may reach although private or special (the media nodes' own addresses)")
	fs.DurationVar(&t.CredentialLifetime, "turn-credential-lifetime", t.CredentialLifetime, "lifetime of TURN credentials; refreshed during calls")
	fs.IntVar(&t.MaxAllocationsPerUser, "turn-max-allocations-per-user", t.MaxAllocationsPerUser, "open relay allocations per participant (0: no cap)")
	fs.IntVar(&t.MaxAllocationsPerIP, "turn-max-allocations-per-ip", t.MaxAllocationsPerIP, "open relay allocations per client address (0: no cap)")
	fs.Int64Var(&tf.maxKbps, "turn-max-bitrate", tf.maxKbps, "relayed kbit/s per allocation and direction (0: no cap)")
	fs.DurationVar(&t.MaxAllocationAge, "turn-max-allocation-age", t.MaxAllocationAge, "close a relay allocation this long after it was made")
	return tf
}

// apply parses the list flags into cfg.
func (tf *turnFlags) apply(cfg *app.Config) error {
	t := &cfg.TURN
	var err error
	if t.ListenIPs, err = parseAddrs(tf.listenIPs); err != nil {
		return fmt.Errorf("--turn-listen-ips: %w", err)
	}
	if t.ExternalIPs, err = parseAddrs(tf.externalIPs); err != nil {
		return fmt.Errorf("--turn-external-ip: %w", err)
	}
	for _, s := range splitList(tf.allowPeers) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("--turn-allow-peers: %w", err)
		}
		t.AllowPeers = append(t.AllowPeers, p.Masked())
	}
	for _, u := range splitList(tf.urls) {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") && !strings.HasPrefix(u, "stun:") {
			return fmt.Errorf("--turn-urls: %q is not a turn:, turns: or stun: URL", u)
		}
		cfg.TURNURLs = append(cfg.TURNURLs, u)
	}
	if tf.relayMin == 0 || tf.relayMin > tf.relayMax || tf.relayMax > 65535 {
		return fmt.Errorf("turn relay port range %d-%d is not valid", tf.relayMin, tf.relayMax)
	}
	t.RelayPortMin, t.RelayPortMax = uint16(tf.relayMin), uint16(tf.relayMax)
	if tf.maxKbps < 0 {
		return fmt.Errorf("--turn-max-bitrate must not be negative")
	}
	t.MaxBitrate = tf.maxKbps * 1000
	if t.Port < 0 || t.Port > 65535 || t.TLSPort < 0 || t.TLSPort > 65535 {
		return fmt.Errorf("turn ports must be 0-65535")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range splitList(s) {
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	return out, nil
}
