package signalling

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE credentials: each admitted participant gets ICE servers with a TURN
// credential of their own (Config.ICEIssuer) in its welcome, and a fresh
// set in an iceServers message before the credential expires, for as long
// as they stay in the call. Nobody else ever gets one.

// iceRefreshShare is how much of a credential's life may pass before the
// participant is sent a new one: at 10 minutes, a refresh 2 minutes before
// the expiry, leaving time for a slow network.
const iceRefreshShare = 0.8

// issueICE returns the participant's ICE servers (the static ones, then
// their own relay credentials) and remembers when the credential must be
// refreshed.
func (s *session) issueICE() ([]webrtc.ICEServer, time.Time) {
	cfg := s.srv.cfg
	servers := append([]webrtc.ICEServer(nil), cfg.ICEServers...)
	if cfg.ICEIssuer == nil {
		return servers, time.Time{}
	}
	now := s.srv.clock.Now()
	issued, expires := cfg.ICEIssuer.ICEServers(s.participant.ID)
	servers = append(servers, issued...)
	s.mu.Lock()
	if expires.IsZero() {
		s.iceRefreshAt = time.Time{}
	} else {
		s.iceRefreshAt = now.Add(time.Duration(float64(expires.Sub(now)) * iceRefreshShare))
	}
	s.mu.Unlock()
	if len(servers) == 0 {
		servers = []webrtc.ICEServer{}
	}
	return servers, expires.UTC()
}

// refreshICE sends the participant new ICE servers when their credential
// is due for renewal.
func (s *session) refreshICE(now time.Time) {
	s.mu.Lock()
	due := !s.iceRefreshAt.IsZero() && !now.Before(s.iceRefreshAt) && !s.closing
	s.mu.Unlock()
	if !due {
		return
	}
	servers, expires := s.issueICE()
	s.log.Debug("ice servers refreshed", "expires_at", expires)
	s.send(iceServersMsg{Type: msgICEServers, ICEServers: servers, ExpiresAt: expires})
}
