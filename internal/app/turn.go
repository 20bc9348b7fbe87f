package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/turn"
	"github.com/gatehouse/gatehouse/web"
)

// turnKeyFile is the relay secret's file name inside the data directory.
const turnKeyFile = "turn.key"

// relay is the process's TURN side: the built-in relay (nil when TURN is
// external or off), the issuer signalling hands credentials out with, and
// their metrics.
type relay struct {
	srv     *turn.Server
	issuer  *turn.Issuer
	metrics *metrics.TURN
	cancel  context.CancelFunc
}

// admittedFunc adapts a function to turn.Authorizer.
type admittedFunc func(string) bool

func (f admittedFunc) Admitted(u string) bool { return f(u) }

// newRelay builds and starts the built-in relay when cfg.TURNEnabled, and
// an issuer for it or for cfg.TURNURLs. It returns nil when TURN is off.
// admitted answers whether a participant is in a call (signalling).
func newRelay(cfg Config, baseURL string, m *metrics.Metrics, log *slog.Logger, admitted func(string) bool) (*relay, error) {
	if !cfg.TURNEnabled && len(cfg.TURNURLs) == 0 {
		return nil, nil
	}
	if !cfg.TURNEnabled && cfg.TURNSecret == "" {
		return nil, errors.New("turn: an external TURN server (--turn-urls) needs its shared secret (--turn-secret)")
	}
	secret, err := loadOrMakeKey(cfg.TURNSecret, cfg.DataDir, turnKeyFile, turn.MinSecretLength)
	if err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	r := &relay{metrics: metrics.NewTURN(m.Registry)}
	tcfg := cfg.TURN
	tcfg.Secret = secret
	urls := func() []string { return cfg.TURNURLs }
	var revoke func(string)
	if cfg.TURNEnabled {
		if tcfg.Host == "" {
			// The web site's name, except "localhost" (the demo), which a
			// browser may resolve to an address the relay does not listen
			// on: the relay then advertises its own address.
			if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "localhost" {
				tcfg.Host = u.Hostname()
			}
		}
		tcfg.ProbePeers = probePeers(cfg)
		warnUnreachableMedia(log, tcfg)
		tcfg.ProbePortMin, tcfg.ProbePortMax = cfg.UDPPortMin, cfg.UDPPortMax
		r.srv, err = turn.New(tcfg, turn.WithLogger(log), turn.WithMetrics(r.metrics),
			turn.WithClock(cfg.Clock), turn.WithAuthorizer(admittedFunc(admitted)))
		if err != nil {
			return nil, err
		}
		// The relay binds now, so a port in use fails the start; it serves
		// until Run's shutdown (or closeAll) stops it.
		ctx, cancel := context.WithCancel(context.Background())
		if err := r.srv.Start(ctx); err != nil {
			cancel()
			return nil, err
		}
		r.cancel = cancel
		revoke = r.srv.Revoke
		if len(cfg.TURNURLs) == 0 {
			urls = r.srv.URLs
		}
	}
	creds, err := turn.NewCredentials(secret, tcfg.CredentialLifetime, cfg.Clock)
	if err != nil {
		r.close()
		return nil, err
	}
	r.issuer = turn.NewIssuer(creds, urls, revoke, r.metrics)
	log.Info("turn credentials issued to participants", "built_in", cfg.TURNEnabled, "urls", urls(),
		"lifetime", tcfg.CredentialLifetime)
	return r, nil
}

// probePeers are the addresses a connection test may relay to: the media
// node's own. In the all-in-one process that is this host: its interface
// addresses, its public media addresses, and the relay's allow-list.
func probePeers(cfg Config) []netip.Prefix {
	var out []netip.Prefix
	add := func(ip netip.Addr) {
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	for _, s := range cfg.NAT1To1IPs {
		if ip, err := netip.ParseAddr(s); err == nil {
			add(ip)
		}
	}
	if cfg.ICELoopbackOnly {
		add(netip.MustParseAddr("127.0.0.1"))
		add(netip.IPv6Loopback())
	} else if as, err := net.InterfaceAddrs(); err == nil {
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() {
				add(p.Addr())
			}
		}
	}
	return append(out, cfg.TURN.AllowPeers...)
}

// warnUnreachableMedia logs when none of this media server's addresses may
// be relayed to: relayed calls would then fail, a configuration mistake
// (the all-in-one process on a private network needs its address in
// --turn-allow-peers).
func warnUnreachableMedia(log *slog.Logger, tcfg turn.Config) {
	policy := turn.PeerPolicy{Allow: tcfg.AllowPeers}
	var refused []string
	for _, p := range tcfg.ProbePeers {
		if policy.Check(p.Addr()) == "" {
			return
		}
		refused = append(refused, p.Addr().String())
	}
	log.Warn("turn: the relay refuses every address of this media server, so relayed calls will fail; "+
		"list the media addresses in --turn-allow-peers or advertise public ones with --ice-public-ips",
		"media_addresses", refused)
}

// close stops the relay.
func (r *relay) close() {
	if r == nil || r.srv == nil {
		return
	}
	r.cancel()
	if err := r.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		slog.Default().Debug("turn close", "err", err)
	}
}

// loadOrMakeKey returns secret, or the key kept in dataDir/name, creating
// a random one on first start.
func loadOrMakeKey(secret, dataDir, name string, minLen int) ([]byte, error) {
	if secret != "" {
		if len(secret) < minLen {
			return nil, fmt.Errorf("secret must be at least %d characters", minLen)
		}
		return []byte(secret), nil
	}
	path := filepath.Join(dataDir, name)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < minLen {
			return nil, fmt.Errorf("%s holds %d bytes, need %d", name, len(key), minLen)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	// Printable, so the same value can be given to coturn's
	// static-auth-secret.
	key = []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	return key, nil
}

// TURN returns the built-in relay, or nil when it is not running.
func (a *App) TURN() *turn.Server {
	if a.relay == nil {
		return nil
	}
	return a.relay.srv
}

// TURNMetrics returns the relay's collectors, or nil without TURN.
func (a *App) TURNMetrics() *metrics.TURN {
	if a.relay == nil {
		return nil
	}
	return a.relay.metrics
}

// newConnTest builds the connection-test endpoints: probe peers with the
// media server's ICE settings, and probe relay credentials from the
// built-in relay (an external relay would relay them anywhere, so with one
// the page checks the direct path only).
func newConnTest(cfg Config, r *relay, log *slog.Logger) (*web.ConnTest, error) {
	api, err := probeAPI(cfg)
	if err != nil {
		return nil, err
	}
	ct := web.ConnTestConfig{API: api, Log: log}
	if r != nil && r.srv != nil && len(cfg.TURNURLs) == 0 {
		ct.ProbeICE = r.issuer.ProbeServers
	}
	return web.NewConnTest(ct), nil
}

// probeAPI is a WebRTC API with the media server's own candidate settings
// (the same interfaces, public addresses and port range), so that a
// connection test's "direct" path is the one a call would take.
func probeAPI(cfg Config) (*webrtc.API, error) {
	se, err := cfg.mediaConfig().SettingEngine()
	if err != nil {
		return nil, fmt.Errorf("connection test: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), nil
}
