package sfu

import (
	"log/slog"
	"testing"
)

func TestConfigBuildsAPI(t *testing.T) {
	for name, cfg := range map[string]Config{
		"zero":       {},
		"loopback":   {LoopbackOnly: true},
		"public ip":  {NAT1To1IPs: []string{"203.0.113.7"}},
		"port range": {UDPPortMin: 50000, UDPPortMax: 50100},
	} {
		if _, err := newAPIs(cfg, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := newAPIs(Config{UDPPortMin: 60000, UDPPortMax: 50000}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("an inverted port range was accepted")
	}
}
