package app

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/transport/v4"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/sfu"
	"github.com/gatehouse/gatehouse/turn"
)

// Config is every setting of a Gatehouse process. DefaultConfig holds the
// defaults, in this one place.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string
	// DataDir holds the embedded SQLite store and the join-token key.
	DataDir string
	// DatabaseURL, when set, is the PostgreSQL database of the booking
	// store (a postgres:// URL or key=value string; pool_max_conns=N sets
	// the pool size) and replaces the SQLite store in DataDir.
	DatabaseURL string
	// PublicURL is the address participants' browsers reach; join links
	// start with it. Empty: derived from Addr.
	PublicURL string
	// Secret signs join tokens (at least 32 bytes). Empty: a random key is
	// made once and kept in DataDir.
	Secret string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Demo seeds the demo prison into an empty store.
	Demo bool
	// ICELoopbackOnly restricts media candidates to loopback addresses.
	ICELoopbackOnly bool
	// NAT1To1IPs are public media addresses to advertise (1:1 NAT).
	NAT1To1IPs []string
	// UDPPortMin and UDPPortMax bound the media ports; 0 means any.
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when not zero, carries all media on this one UDP port.
	UDPPort int
	// NoMediaFastPath leaves every received packet to Pion's own receive
	// path (sfu.Config.NoFastPath).
	NoMediaFastPath bool
	// MediaBatchOwnSockets batches sends on ports per connection too
	// (sfu.Config.BatchOwnSockets).
	MediaBatchOwnSockets bool
	// Clock is the source of time; nil means the system clock.
	Clock clock.Clock
	// MediaNet replaces the operating system's network for the media
	// server's peer connections (pion's vnet, in tests of lost and bad
	// networks); nil means the real network. Not a flag.
	MediaNet transport.Net

	// RecordingsDir is where calls are recorded (one directory per call).
	// Empty: "recordings" in DataDir.
	RecordingsDir string
	// RetentionInterval is how often recordings past their retention are
	// deleted (hourly when zero).
	RetentionInterval time.Duration

	// TURNEnabled runs the built-in TURN relay (turn package) in this
	// process, configured by TURN.
	TURNEnabled bool
	// RelayOnly is `--roles turn`: the process runs the relay alone
	// (NewRelayNode), under TURNSecret; New refuses such a configuration.
	RelayOnly bool
	// TURN configures the built-in relay. Its Secret is set from
	// TURNSecret; an empty Host takes the host of the public URL.
	TURN turn.Config
	// TURNSecret is the shared secret of the ephemeral TURN credentials.
	// Empty with the built-in relay: a random key kept in DataDir. An
	// external TURN server (TURNURLs without TURNEnabled) needs it set, to
	// the same value as coturn's static-auth-secret.
	TURNSecret string
	// TURNURLs, when set, are the TURN URLs given to participants instead of
	// the built-in relay's: an external coturn, or the built-in relay when
	// it is reached through port forwarding on other ports.
	TURNURLs []string
}

// DefaultConfig returns the settings of a plain `gatehouse` run.
func DefaultConfig() Config {
	return Config{
		Addr:     "127.0.0.1:8080",
		DataDir:  "gatehouse-data",
		LogLevel: "info",
		Demo:     true,
		TURN:     turn.DefaultConfig(),
	}
}

// publicURL is PublicURL, or http://localhost:PORT for a loopback or
// unspecified listen address.
func (c Config) publicURL(listenAddr string) (string, error) {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/"), nil
	}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listenAddr, err)
	}
	ip := net.ParseIP(host)
	if host == "" || host == "localhost" || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified())) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// SQLitePath is the embedded store's file in DataDir, used when no
// DatabaseURL is set.
func (c Config) SQLitePath() string {
	return filepath.Join(c.DataDir, "gatehouse.db")
}

// recordingsDir is RecordingsDir or its default.
func (c Config) recordingsDir() string {
	if c.RecordingsDir != "" {
		return c.RecordingsDir
	}
	return filepath.Join(c.DataDir, "recordings")
}

// mediaConfig is the SFU's share of the configuration.
func (c Config) mediaConfig() sfu.Config {
	return sfu.Config{
		LoopbackOnly:    c.ICELoopbackOnly,
		NAT1To1IPs:      c.NAT1To1IPs,
		UDPPortMin:      c.UDPPortMin,
		UDPPortMax:      c.UDPPortMax,
		UDPPort:         c.UDPPort,
		Net:             c.MediaNet,
		NoFastPath:      c.NoMediaFastPath,
		BatchOwnSockets: c.MediaBatchOwnSockets,

		RecordingsDir: c.recordingsDir(),
	}
}
