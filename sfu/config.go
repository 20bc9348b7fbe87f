package sfu

import (
	"fmt"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// Config is how the media server gathers candidates and which ports it uses.
// The zero value is a working server on every interface.
type Config struct {
	// LoopbackOnly gathers only loopback candidates: for tests and for a
	// demo whose browsers run on the same machine.
	LoopbackOnly bool
	// NAT1To1IPs are public addresses to advertise instead of the host's own
	// (a server behind 1:1 NAT).
	NAT1To1IPs []string
	// UDPPortMin and UDPPortMax bound the ephemeral UDP ports used for media.
	// Both zero means any port.
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when not zero, carries every peer connection's media on this
	// one UDP port (an ICE UDP mux), as a firewall in front of the server
	// would want, instead of one ephemeral port per connection. It is
	// opened by New and closed by Close.
	UDPPort int
	// Net replaces the operating system's network, for tests over a
	// simulated one (pion's vnet). Nil means the real network.
	Net transport.Net
	// NoFastPath turns the receive fast path (fastpath.go) off: Pion's own
	// receive path carries every packet.
	NoFastPath bool
	// BatchOwnSockets has bursts hold the sends of subscribers' own
	// sockets too, with a port per connection (burst.go); on the shared
	// UDP port they are always batched. Off by default: measured faster
	// (+4% packets per CPU-second in 1:1 visits, +17% in a 1 -> 10
	// fan-out), but the bandwidth estimator takes a packet as sent when it
	// is written, not when the burst sends it, and the network tests saw
	// a clean path's estimate dip more often with it on.
	BatchOwnSockets bool

	// Auditor receives refusals of monitors and recorders on legal calls
	// and recording alarms. Nil only logs them (as errors).
	Auditor Auditor
	// RecordingsDir is where rooms whose policy says Record write their
	// recordings, one directory per room. Empty refuses recording.
	RecordingsDir string
	// RecordingEvents, when set, is told when a room's recording starts,
	// fails and is finished.
	RecordingEvents RecordingEvents
}

// SettingEngine returns the candidate settings of the media server: the
// interfaces and addresses it gathers, the public addresses it advertises
// and its UDP port range. Anything that must reach clients the way a call
// does (the connection test's probe peer) uses the same settings.
func (cfg Config) SettingEngine() (webrtc.SettingEngine, error) {
	se := webrtc.SettingEngine{}
	// AES-GCM first: it encrypts and authenticates in one pass, which is
	// most of the cost of sending a packet (AES-128 before AES-256).
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	// The DTLS server chooses the SRTP profile: be it on the connections the
	// clients offer too (publishers), so that browsers' own first choice
	// (AES-CM) does not win there.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return se, fmt.Errorf("dtls role: %w", err)
	}
	// Browsers hide host addresses behind mDNS names; resolve them, but
	// never announce our own under one.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.LoopbackOnly {
		rtcconf.RestrictToLoopback(&se)
	}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no multicast in a simulated network
	}
	if len(cfg.NAT1To1IPs) > 0 {
		// Host candidates carry the public address instead of the local one.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("public media addresses: %w", err)
		}
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return se, fmt.Errorf("udp port range: %w", err)
		}
	}
	return se, nil
}
