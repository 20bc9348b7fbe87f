package rtcconf

import (
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// RestrictToLoopback makes se gather only loopback candidates and announce
// no mDNS names, so that tests and local demos send nothing off the machine.
func RestrictToLoopback(se *webrtc.SettingEngine) {
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
}
