package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// The connection test (/connection-test) lets a family check, before the
// visit and without a join link, whether their network reaches the media
// server directly and through each of the relay's transports. The page
// makes one small data-channel connection per path to a probe peer that
// runs with the media server's own ICE settings, so "direct" means what it
// means in a call.
//
// It needs relay credentials without a join link. They are anonymous, so
// they are made harmless instead of secret: a fresh probe user with a
// one-minute lifetime, which the relay lets reach only the media nodes'
// addresses (and media ports), never anything else; requests are limited
// per client address and overall, and probe connections are few, carry
// only a data channel and close after 20 seconds.

// ConnTestConfig configures the connection-test endpoints.
type ConnTestConfig struct {
	// API makes the probe's peer connections; it must have the media
	// server's ICE settings (interfaces, public addresses, port range).
	API *webrtc.API
	// ProbeICE issues relay servers with a probe credential; nil means the
	// deployment has no relay to test (or only an external one, whose
	// credentials could not be limited to the media nodes).
	ProbeICE func(probeID string) ([]webrtc.ICEServer, time.Time)
	// MaxProbes caps probe connections open at once (16).
	MaxProbes int
	// PerMinute caps requests per client address per minute (12).
	PerMinute int
	// ProbeLifetime closes a probe connection this long after it started
	// (20 s).
	ProbeLifetime time.Duration
	Log           *slog.Logger
}

// ConnTest serves POST /connection-test/ice and POST /connection-test/offer.
type ConnTest struct {
	cfg ConnTestConfig

	mu      sync.Mutex
	probes  map[*webrtc.PeerConnection]struct{}
	clients map[netip.Addr]*window
	global  window
	closed  bool
}

// window counts requests in the current minute.
type window struct {
	start time.Time
	n     int
}

func (w *window) allow(now time.Time, max int) bool {
	if now.Sub(w.start) >= time.Minute {
		*w = window{start: now}
	}
	if w.n >= max {
		return false
	}
	w.n++
	return true
}

// NewConnTest returns the connection-test handler.
func NewConnTest(cfg ConnTestConfig) *ConnTest {
	if cfg.MaxProbes == 0 {
		cfg.MaxProbes = 16
	}
	if cfg.PerMinute == 0 {
		cfg.PerMinute = 12
	}
	if cfg.ProbeLifetime == 0 {
		cfg.ProbeLifetime = 20 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &ConnTest{cfg: cfg, probes: make(map[*webrtc.PeerConnection]struct{}), clients: make(map[netip.Addr]*window)}
}

// Handler routes the two endpoints.
func (c *ConnTest) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /connection-test/ice", c.serveICE)
	mux.HandleFunc("POST /connection-test/offer", c.serveOffer)
	return mux
}

// limit applies the per-address and overall request limits.
func (c *ConnTest) limit(w http.ResponseWriter, r *http.Request) bool {
	ip := netip.IPv4Unspecified()
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ip = ap.Addr().Unmap()
	}
	now := time.Now()
	c.mu.Lock()
	win := c.clients[ip]
	if win == nil {
		if len(c.clients) > 10_000 {
			clear(c.clients) // at worst, everyone gets a fresh minute
		}
		win = &window{start: now}
		c.clients[ip] = win
	}
	ok := win.allow(now, c.cfg.PerMinute) && c.global.allow(now, 50*c.cfg.PerMinute)
	c.mu.Unlock()
	if !ok {
		w.Header().Set("Retry-After", "60")
		problem.Write(w, problem.New(http.StatusTooManyRequests, "rate_limited", "Too many connection tests; try again in a minute."))
	}
	return ok
}

type iceResponse struct {
	ICEServers []webrtc.ICEServer `json:"iceServers"`
	ExpiresAt  time.Time          `json:"expiresAt,omitzero"`
	Relay      bool               `json:"relay"`
}

func (c *ConnTest) serveICE(w http.ResponseWriter, r *http.Request) {
	if !c.limit(w, r) {
		return
	}
	resp := iceResponse{ICEServers: []webrtc.ICEServer{}}
	if c.cfg.ProbeICE != nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		servers, exp := c.cfg.ProbeICE(hex.EncodeToString(b[:]))
		if len(servers) > 0 {
			resp = iceResponse{ICEServers: servers, ExpiresAt: exp.UTC(), Relay: true}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

type offerRequest struct {
	SDP string `json:"sdp"`
}

// serveOffer answers a data-channel-only offer with a probe connection
// that echoes every message, gathering all its candidates first (no
// trickle: one request, one answer).
func (c *ConnTest) serveOffer(w http.ResponseWriter, r *http.Request) {
	if !c.limit(w, r) {
		return
	}
	var req offerRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.SDP == "" {
		problem.Write(w, problem.New(http.StatusBadRequest, "bad_offer", "Send {\"sdp\": \"<offer>\"}."))
		return
	}
	if !strings.Contains(req.SDP, "m=application") || strings.Contains(req.SDP, "m=audio") || strings.Contains(req.SDP, "m=video") {
		problem.Write(w, problem.New(http.StatusBadRequest, "bad_offer", "The offer must carry one data channel and no media."))
		return
	}
	pc, err := c.open()
	if err != nil {
		problem.Write(w, problem.New(http.StatusServiceUnavailable, "busy", "Too many connection tests are running; try again shortly."))
		return
	}
	answer, err := c.answer(r.Context(), pc, req.SDP)
	if err != nil {
		c.close(pc)
		c.cfg.Log.Info("connection test offer refused", "err", err)
		problem.Write(w, problem.New(http.StatusBadRequest, "bad_offer", "The offer could not be answered."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"sdp": answer})
}

// open makes a probe connection within the cap; it closes itself after the
// probe lifetime.
func (c *ConnTest) open() (*webrtc.PeerConnection, error) {
	c.mu.Lock()
	if c.closed || len(c.probes) >= c.cfg.MaxProbes {
		c.mu.Unlock()
		return nil, errors.New("connection test: at capacity")
	}
	pc, err := c.cfg.API.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.probes[pc] = struct{}{}
	c.mu.Unlock()
	time.AfterFunc(c.cfg.ProbeLifetime, func() { c.close(pc) })
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			switch {
			case len(m.Data) > 1024:
			case m.IsString:
				_ = dc.SendText(string(m.Data))
			default:
				_ = dc.Send(m.Data)
			}
		})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			go c.close(pc)
		}
	})
	return pc, nil
}

func (c *ConnTest) answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
	}
	return pc.LocalDescription().SDP, nil
}

func (c *ConnTest) close(pc *webrtc.PeerConnection) {
	c.mu.Lock()
	_, ok := c.probes[pc]
	delete(c.probes, pc)
	c.mu.Unlock()
	if ok {
		_ = pc.Close()
	}
}

// Close closes every probe connection and refuses new ones.
func (c *ConnTest) Close() {
	c.mu.Lock()
	c.closed = true
	pcs := make([]*webrtc.PeerConnection, 0, len(c.probes))
	for pc := range c.probes {
		pcs = append(pcs, pc)
	}
	clear(c.probes)
	c.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
}

// Probes is how many probe connections are open.
func (c *ConnTest) Probes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.probes)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
