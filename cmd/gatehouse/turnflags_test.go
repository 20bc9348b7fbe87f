package main

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestTURNFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{
		"GATEHOUSE_TURN":                "true",
		"GATEHOUSE_TURN_PORT":           "3479",
		"GATEHOUSE_TURN_EXTERNAL_IP":    "203.0.113.5, 2001:db8::5",
		"GATEHOUSE_TURN_ALLOW_PEERS":    "10.0.5.0/24,fd00::1/128",
		"GATEHOUSE_TURN_MAX_BITRATE":    "4000",
		"GATEHOUSE_TURN_SECRET":         "a-shared-secret-for-coturn",
		"GATEHOUSE_TURN_TLS_PORT":       "443",
		"GATEHOUSE_TURN_RELAY_PORT_MIN": "40000",
	}
	cfg, err := parseConfig([]string{"--turn-relay-port-max", "40999", "--turn-credential-lifetime", "5m",
		"--turn-tls-cert", "c.pem", "--turn-tls-key", "k.pem"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.TURN
	if !cfg.TURNEnabled || tc.Port != 3479 || tc.TLSPort != 443 || tc.MaxBitrate != 4_000_000 ||
		tc.RelayPortMin != 40000 || tc.RelayPortMax != 40999 || tc.CredentialLifetime != 5*time.Minute ||
		cfg.TURNSecret != "a-shared-secret-for-coturn" || tc.TLSCertFile != "c.pem" {
		t.Fatalf("TURN settings not applied: %+v %+v", cfg, tc)
	}
	if len(tc.ExternalIPs) != 2 || tc.ExternalIPs[1] != netip.MustParseAddr("2001:db8::5") {
		t.Errorf("external IPs %v", tc.ExternalIPs)
	}
	if len(tc.AllowPeers) != 2 || tc.AllowPeers[0] != netip.MustParsePrefix("10.0.5.0/24") {
		t.Errorf("allow-peers %v", tc.AllowPeers)
	}

	def, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if def.TURNEnabled || def.TURN.Port != 3478 || len(def.TURNURLs) != 0 {
		t.Errorf("defaults: TURN enabled %v on port %d", def.TURNEnabled, def.TURN.Port)
	}

	var help bytes.Buffer
	_, _ = parseConfig([]string{"--help"}, func(string) string { return "" }, &help)
	for _, name := range []string{"GATEHOUSE_TURN_PORT", "GATEHOUSE_TURN_TLS_PORT", "GATEHOUSE_TURN_SECRET", "GATEHOUSE_TURN_URLS", "GATEHOUSE_TURN_ALLOW_PEERS", "GATEHOUSE_TURN_EXTERNAL_IP"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("--help does not list %s", name)
		}
	}
}

func TestBadTURNFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--turn-external-ip", "not-an-ip"},
		{"--turn-allow-peers", "10.0.0.0"},
		{"--turn-urls", "http://example.org"},
		{"--turn-relay-port-min", "5000", "--turn-relay-port-max", "4000"},
		{"--turn-port", "70000"},
		{"--turn-max-bitrate", "-1"},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
