package turn

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/metrics"
)

// ProbeLifetime is the lifetime of connection-test credentials.
const ProbeLifetime = time.Minute

// Issuer hands out ICE servers with ephemeral credentials: the built-in
// relay's URLs, or an external TURN server's (coturn with
// use-auth-secret and the same static-auth-secret).
type Issuer struct {
	creds   *Credentials
	urls    func() []string
	revoke  func(user string)
	metrics *metrics.TURN
}

// NewIssuer returns an issuer of credentials from creds for the TURN URLs
// urls returns (called on every issue, so a relay's bound ports count).
// revoke, if not nil, is called when a user's credentials are withdrawn.
func NewIssuer(creds *Credentials, urls func() []string, revoke func(string), m *metrics.TURN) *Issuer {
	return &Issuer{creds: creds, urls: urls, revoke: revoke, metrics: m}
}

// ICEServers returns the ICE servers for user and when their credential
// expires. Signalling gives them only to admitted participants.
func (i *Issuer) ICEServers(user string) ([]webrtc.ICEServer, time.Time) {
	urls := i.urls()
	if len(urls) == 0 {
		return nil, time.Time{}
	}
	name, pass, exp := i.creds.Issue(user)
	if i.metrics != nil {
		i.metrics.Credentials.Inc()
	}
	return []webrtc.ICEServer{{URLs: urls, Username: name, Credential: pass}}, exp
}

// ProbeServers returns ICE servers for a connection test: a one-minute
// credential for a fresh probe user, which the built-in relay lets reach
// only the media nodes.
func (i *Issuer) ProbeServers(probeID string) ([]webrtc.ICEServer, time.Time) {
	urls := i.urls()
	if len(urls) == 0 {
		return nil, time.Time{}
	}
	name, pass, exp := i.creds.IssueFor(ProbeUserPrefix+probeID, ProbeLifetime)
	if i.metrics != nil {
		i.metrics.Credentials.Inc()
	}
	return []webrtc.ICEServer{{URLs: urls, Username: name, Credential: pass}}, exp
}

// Revoke withdraws user's relaying now (their allocations close).
func (i *Issuer) Revoke(user string) {
	if i.revoke != nil {
		i.revoke(user)
	}
}
