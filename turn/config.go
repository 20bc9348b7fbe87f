package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is the relay's configuration. DefaultConfig holds the defaults;
// zero fields of a Config passed to New take them too.
type Config struct {
	// Realm is the TURN realm (RFC 8489 section 9.2).
	Realm string
	// ListenIPs are the addresses to listen on. Empty: every IPv4 and IPv6
	// address (0.0.0.0 and ::; IPv6 is skipped if the host has none).
	ListenIPs []netip.Addr
	// Port is the UDP and TCP port (3478). 0 picks a free one (tests).
	Port int
	// TLSPort is the TURN-over-TLS port, used when a certificate is set
	// (TLSCertFile and TLSKeyFile, or TLS). 443 lets calls through
	// firewalls that pass only HTTPS. 0 picks a free one (tests).
	TLSPort int
	// TLSCertFile and TLSKeyFile are a PEM certificate chain and key for
	// the TLS listener. They are read again when the files change, so a
	// renewed certificate is picked up without a restart.
	TLSCertFile, TLSKeyFile string
	// TLS, when set, is used instead of the files (tests).
	TLS *tls.Config
	// ExternalIPs are the public relay addresses to advertise (at most one
	// per address family) when the relay is behind 1:1 NAT. Empty: the
	// listen address, or the host's first address of the family.
	ExternalIPs []netip.Addr
	// Host is the name or address put in the advertised URLs. A TLS
	// certificate must be valid for it. Empty: the first external or relay
	// address.
	Host string
	// RelayPortMin and RelayPortMax bound the relayed transport addresses'
	// ports (inclusive).
	RelayPortMin, RelayPortMax uint16
	// Secret is the shared secret of the ephemeral credentials (at least
	// MinSecretLength bytes).
	Secret []byte
	// CredentialLifetime is how long issued credentials are valid.
	CredentialLifetime time.Duration
	// AllowPeers are peer prefixes the relay may reach although they are in
	// a refused range: the media nodes' own addresses.
	AllowPeers []netip.Prefix
	// ProbePeers are the only peers connection-test credentials may reach:
	// the media nodes (their public and their allowed addresses).
	ProbePeers []netip.Prefix
	// ProbePortMin and ProbePortMax, when set, are the only peer ports
	// connection-test credentials may send to (the media port range).
	ProbePortMin, ProbePortMax uint16
	// MaxAllocationsPerUser and MaxAllocationsPerIP cap open allocations
	// (0: no cap).
	MaxAllocationsPerUser, MaxAllocationsPerIP int
	// MaxBitrate caps each allocation's relayed traffic, in bits per second
	// and per direction (0: no cap).
	MaxBitrate int64
	// MaxAllocationAge closes an allocation this long after it was made,
	// however often it is refreshed, and bounds how long an expired
	// credential may keep refreshing an allocation it made while valid.
	MaxAllocationAge time.Duration
	// RequestRate and RequestBurst limit STUN/TURN requests and new TCP
	// connections per client IP address (requests a second, bucket size).
	RequestRate  float64
	RequestBurst int
	// MaxTCPConnsPerIP caps concurrent TCP and TLS connections per client IP.
	MaxTCPConnsPerIP int
	// TCPIdleTimeout closes a TCP or TLS connection silent this long.
	TCPIdleTimeout time.Duration
}

// DefaultConfig returns the relay defaults: the standard TURN port, TLS on
// 5349 when a certificate is given, the IANA dynamic port range for
// relays, 10-minute credentials and quotas sized for calls of up to five
// browsers per room.
func DefaultConfig() Config {
	return Config{
		Realm:                 "gatehouse",
		Port:                  3478,
		TLSPort:               5349,
		RelayPortMin:          49152,
		RelayPortMax:          65535,
		CredentialLifetime:    10 * time.Minute,
		MaxAllocationsPerUser: 24,
		MaxAllocationsPerIP:   128,
		MaxBitrate:            8_000_000,
		MaxAllocationAge:      2 * time.Hour,
		RequestRate:           50,
		RequestBurst:          200,
		MaxTCPConnsPerIP:      64,
		TCPIdleTimeout:        2 * time.Minute,
	}
}

// withDefaults fills zero fields that have no meaning of their own from
// DefaultConfig. Ports are left alone (0 picks a free port), and so are the
// quotas (0 means no cap).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Realm == "" {
		c.Realm = d.Realm
	}
	if c.RelayPortMin == 0 && c.RelayPortMax == 0 {
		c.RelayPortMin, c.RelayPortMax = d.RelayPortMin, d.RelayPortMax
	}
	if c.CredentialLifetime == 0 {
		c.CredentialLifetime = d.CredentialLifetime
	}
	if c.MaxAllocationAge == 0 {
		c.MaxAllocationAge = d.MaxAllocationAge
	}
	if c.RequestBurst == 0 && c.RequestRate > 0 {
		c.RequestBurst = int(c.RequestRate * 4)
	}
	if c.TCPIdleTimeout == 0 {
		c.TCPIdleTimeout = d.TCPIdleTimeout
	}
	return c
}

// hasTLS reports whether a TLS listener is configured.
func (c Config) hasTLS() bool {
	return c.TLS != nil || (c.TLSCertFile != "" && c.TLSKeyFile != "")
}

func (c Config) validate() error {
	var errs []error
	if len(c.Secret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("shared secret must be at least %d bytes", MinSecretLength))
	}
	if c.Port < 0 || c.Port > 65535 || c.TLSPort < 0 || c.TLSPort > 65535 {
		errs = append(errs, errors.New("ports must be 0-65535"))
	}
	if c.hasTLS() && c.TLSPort != 0 && c.TLSPort == c.Port {
		errs = append(errs, errors.New("the TLS port must differ from the UDP/TCP port"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("a TLS certificate needs both a certificate and a key file"))
	}
	if c.RelayPortMin == 0 || c.RelayPortMin > c.RelayPortMax {
		errs = append(errs, fmt.Errorf("relay port range %d-%d is not valid", c.RelayPortMin, c.RelayPortMax))
	}
	var v4, v6 int
	for _, ip := range c.ExternalIPs {
		switch {
		case !ip.IsValid() || ip.IsUnspecified():
			errs = append(errs, fmt.Errorf("external address %v is not a usable address", ip))
		case ip.Unmap().Is4():
			v4++
		default:
			v6++
		}
	}
	if v4 > 1 || v6 > 1 {
		errs = append(errs, errors.New("at most one external address per address family"))
	}
	if c.MaxAllocationsPerUser < 0 || c.MaxAllocationsPerIP < 0 || c.MaxBitrate < 0 ||
		c.MaxTCPConnsPerIP < 0 || c.RequestRate < 0 || c.RequestBurst < 0 {
		errs = append(errs, errors.New("quotas and rates must not be negative"))
	}
	if c.CredentialLifetime < time.Minute {
		errs = append(errs, errors.New("credential lifetime must be at least a minute"))
	}
	return errors.Join(errs...)
}
