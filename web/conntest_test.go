package web

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// loopbackAPI gathers only loopback candidates, without mDNS.
func loopbackAPI() *webrtc.API {
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

func post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.10:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestConnectionTestPageIsServed(t *testing.T) {
	res := get(t, Handler(), http.MethodGet, "/connection-test", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body(t, res), "connection-test.js") {
		t.Fatalf("GET /connection-test: %d", res.StatusCode)
	}
	for _, page := range []string{"/", "/join"} {
		if b := body(t, get(t, Handler(), http.MethodGet, page, nil)); !strings.Contains(b, `href="/connection-test"`) {
			t.Errorf("%s does not link the connection test", page)
		}
	}
}

// TestProbeEchoes answers a real data-channel offer and echoes a message.
func TestProbeEchoes(t *testing.T) {
	ct := NewConnTest(ConnTestConfig{API: loopbackAPI(), ProbeLifetime: 10 * time.Second})
	defer ct.Close()
	h := ct.Handler()

	rec := post(t, h, "/connection-test/ice", "{}")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"relay":false`) {
		t.Fatalf("ice without a relay: %d %s", rec.Code, rec.Body)
	}

	pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dc, err := pc.CreateDataChannel("probe", nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := make(chan string, 1)
	dc.OnOpen(func() { _ = dc.SendText("gatehouse-probe") })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if m.IsString {
			echo <- string(m.Data)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	b, _ := json.Marshal(map[string]string{"sdp": pc.LocalDescription().SDP})
	rec = post(t, h, "/connection-test/offer", string(b))
	if rec.Code != http.StatusOK {
		t.Fatalf("offer: %d %s", rec.Code, rec.Body)
	}
	var ans struct {
		SDP string `json:"sdp"`
	}
	if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-echo:
		if got != "gatehouse-probe" {
			t.Fatalf("echo %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no echo")
	}
	if ct.Probes() != 1 {
		t.Errorf("%d probes open, want 1", ct.Probes())
	}
}

func TestProbeLimits(t *testing.T) {
	ct := NewConnTest(ConnTestConfig{API: loopbackAPI(), MaxProbes: 1, PerMinute: 3})
	defer ct.Close()
	h := ct.Handler()
	for _, bad := range []string{"", "not json", `{"sdp":""}`, `{"sdp":"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"}`} {
		if rec := post(t, h, "/connection-test/offer", bad); rec.Code != http.StatusBadRequest {
			t.Errorf("offer %q: %d, want 400", bad, rec.Code)
		}
		ct.mu.Lock()
		clear(ct.clients) // only the validation is under test here
		ct.mu.Unlock()
	}
	pc, err := ct.open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ct.open(); err == nil {
		t.Fatal("a second probe opened beyond MaxProbes 1")
	}
	ct.close(pc)
	for i := 0; i < 3; i++ {
		if rec := post(t, h, "/connection-test/ice", "{}"); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
	rec := post(t, h, "/connection-test/ice", "{}")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("fourth request in a minute: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
