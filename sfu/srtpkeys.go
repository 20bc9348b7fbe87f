package sfu

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
)

// SRTP keys of one connection, for the receive fast path (fastpath.go).
// Pion derives a connection's SRTP keys from its DTLS handshake and keeps
// them to itself; the fast path needs the same keys to decrypt on the
// socket's reader. They are exported from the handshake the way Pion's DTLS
// does (RFC 5764 section 4.2, the RFC 5705 exporter with the label
// "EXTRACTOR-dtls_srtp"), from what the connection's own settings let us
// see: the master secret and client random (the key log, NSS format) and
// the server random, cipher suite and SRTP profile (our ServerHello).
// The media server is the DTLS server on every connection (config.go).

// ErrNoSRTPKeys is returned while a connection's handshake has not shown
// enough to derive its keys, or showed something the fast path does not
// handle (then Pion's own path carries its media).
var ErrNoSRTPKeys = errors.New("sfu: srtp keys not known")

const srtpExporterLabel = "EXTRACTOR-dtls_srtp"

// srtpKeys captures one connection's DTLS secrets. It is the connection's
// DTLS key log writer and ServerHello hook.
type srtpKeys struct {
	mu           sync.Mutex
	clientRandom []byte
	masterSecret []byte
	serverRandom [32]byte
	suite        dtls.CipherSuiteID
	profile      srtp.ProtectionProfile
	hello        bool
}

// Write takes key log lines ("CLIENT_RANDOM <client random> <master
// secret>", hex). It never fails: the handshake must not.
func (k *srtpKeys) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		f := strings.Fields(string(line))
		if len(f) != 3 || f[0] != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(f[1])
		ms, err2 := hex.DecodeString(f[2])
		if err1 != nil || err2 != nil || len(cr) != 32 {
			continue
		}
		k.mu.Lock()
		k.clientRandom, k.masterSecret = cr, ms
		k.mu.Unlock()
	}
	return len(p), nil
}

// serverHello records what our ServerHello tells and sends it unchanged.
func (k *srtpKeys) serverHello(m handshake.MessageServerHello) handshake.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hello = false
	if m.CipherSuiteID == nil {
		return &m
	}
	k.serverRandom = m.Random.MarshalFixed()
	k.suite = dtls.CipherSuiteID(*m.CipherSuiteID)
	for _, e := range m.Extensions {
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) == 1 {
			if p, ok := srtpProfile(u.ProtectionProfiles[0]); ok {
				k.profile, k.hello = p, true
			}
		}
	}
	return &m
}

// srtpProfile maps the profiles the server offers (config.go).
func srtpProfile(p extension.SRTPProtectionProfile) (srtp.ProtectionProfile, bool) {
	switch p {
	case extension.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, true
	case extension.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, true
	case extension.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	}
	return 0, false
}

// prfHash is the TLS 1.2 PRF hash of a cipher suite: SHA-384 for the
// suites named so, SHA-256 for every other suite Pion's DTLS implements.
func prfHash(id dtls.CipherSuiteID) prf.HashFunc {
	name := dtls.CipherSuiteName(id)
	if strings.HasSuffix(name, "SHA384") {
		return sha512.New384
	}
	return sha256.New
}

// remoteContext returns a context that decrypts what the DTLS client (the
// remote peer) sends, with a replay window.
func (k *srtpKeys) remoteContext() (*srtp.Context, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.hello || k.masterSecret == nil {
		return nil, ErrNoSRTPKeys
	}
	keyLen, err := k.profile.KeyLen()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSRTPKeys, err)
	}
	saltLen, err := k.profile.SaltLen()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSRTPKeys, err)
	}
	seed := make([]byte, 0, len(srtpExporterLabel)+64)
	seed = append(append(append(seed, srtpExporterLabel...), k.clientRandom...), k.serverRandom[:]...)
	material, err := prf.PHash(k.masterSecret, seed, 2*(keyLen+saltLen), prfHash(k.suite))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSRTPKeys, err)
	}
	// client key, server key, client salt, server salt
	key := material[:keyLen]
	salt := material[2*keyLen : 2*keyLen+saltLen]
	ctx, err := srtp.CreateContext(key, salt, k.profile, srtp.SRTPReplayProtection(replayWindow))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSRTPKeys, err)
	}
	return ctx, nil
}
