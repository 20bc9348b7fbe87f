package sfu

import (
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/gatehouse/gatehouse/internal/rtcconf"
)

// Bandwidth estimation bounds for each subscriber connection, bit/s. The
// estimate starts high enough for a 360p layer and one more participant's
// audio, and climbs from there.
const (
	bweInitial = 1_000_000
	bweMin     = 50_000
	bweMax     = 12_000_000
)

// apis builds the peer connections of the media server. Publisher
// connections share one API whose interceptors ask publishers for lost
// packets (NACK), send receiver reports and transport-wide feedback.
// Subscriber connections each get their own API, because each has its own
// bandwidth estimator; their interceptors add transport-wide sequence
// numbers, send sender reports and estimate the bandwidth (without pacing:
// the forwarder writes straight to the socket). NACKs from subscribers are
// answered by the forwarder from its packet cache, not by an interceptor
// keeping a copy of every packet per subscriber.
type apis struct {
	me    *webrtc.MediaEngine
	se    webrtc.SettingEngine
	pubIR *interceptor.Registry
	pub   *webrtc.API   // a publisher connection without the fast path
	net   transport.Net // the network of connections' own sockets; nil on a shared port
	mux   io.Closer     // the shared UDP port, if any
	// shared routes the shared port's datagrams to publishers' fast paths.
	shared *fastPaths
}

func newAPIs(cfg Config, log *slog.Logger) (*apis, error) {
	me, err := rtcconf.NewMediaEngine()
	if err != nil {
		return nil, err
	}
	se, err := cfg.SettingEngine()
	if err != nil {
		return nil, err
	}
	base := cfg.Net
	if base == nil {
		if base, err = stdnet.NewNet(); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	var mux *ice.MultiUDPMuxDefault
	var shared *fastPaths
	if cfg.UDPPort != 0 {
		shared = newFastPaths()
		opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6)}
		if cfg.LoopbackOnly {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback(),
				ice.UDPMuxFromPortWithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
				ice.UDPMuxFromPortWithInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" }))
		}
		opts = append(opts, ice.UDPMuxFromPortWithNet(fastNet{Net: base, tk: shared, sockets: &shared.sockets}))
		if mux, err = ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...); err != nil {
			return nil, fmt.Errorf("media port %d: %w", cfg.UDPPort, err)
		}
		se.SetICEUDPMux(mux)
	}
	ir := &interceptor.Registry{}
	ir.Add(reusedAttrsFactory{}) // first: innermost, it sees each packet first on its way up
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	ir.Add(gen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, fmt.Errorf("receiver reports: %w", err)
	}
	ir.Add(rr)
	ir.Add(twccFeedbackFactory{log: log})
	pub := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	a := &apis{me: me, se: se, pubIR: ir, pub: pub, net: base}
	if mux != nil {
		a.mux, a.net, a.shared = mux, nil, shared
	}
	return a, nil
}

// publisher returns the API of one publisher connection: the shared
// publisher settings, with the connection's receive fast path
// (fastpath.go) given its sockets (on a shared UDP port, the port's
// router gives it its streams' datagrams), its SRTP read buffers and its
// DTLS secrets.
func (a *apis) publisher(fp *fastPath) *webrtc.API {
	se := a.se
	se.BufferFactory = fp.buffer
	se.SetDTLSKeyLogWriter(&fp.keys)
	se.SetDTLSServerHelloMessageHook(fp.keys.serverHello)
	if a.net != nil {
		se.SetNet(fastNet{Net: a.net, tk: fp})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(a.me), webrtc.WithInterceptorRegistry(a.pubIR), webrtc.WithSettingEngine(se))
}

// subscriber returns a new subscriber peer connection and its bandwidth
// estimator; its sockets join set.
func (a *apis) subscriber(set *socketSet) (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	ir := &interceptor.Registry{}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, nil, fmt.Errorf("sender reports: %w", err)
	}
	ir.Add(sr)
	var bwe cc.BandwidthEstimator
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(bweInitial),
			gcc.SendSideBWEMinBitrate(bweMin),
			gcc.SendSideBWEMaxBitrate(bweMax),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bandwidth estimator: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { bwe = e })
	ir.Add(ccf)
	// Added last, so it runs first on the way out: the estimator needs
	// the transport-wide sequence number on every packet it sees.
	hdr, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, nil, fmt.Errorf("transport-cc numbering: %w", err)
	}
	ir.Add(hdr)
	ir.Add(reusedAttrsFactory{}) // last: outermost, it sees each packet first on its way out
	se := a.se
	if a.net != nil {
		se.SetNet(fastNet{Net: a.net, sockets: set}) // raw sends; no fast path for what subscribers send
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(a.me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, fmt.Errorf("subscriber connection: %w", err)
	}
	if bwe == nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("subscriber connection: no bandwidth estimator")
	}
	return pc, bwe, nil
}
