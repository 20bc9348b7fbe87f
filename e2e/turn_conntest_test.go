package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// connResults is window.gatehouse.results() of the connection-test page.
type connResults struct {
	Done    bool              `json:"done"`
	Verdict string            `json:"verdict"`
	Checks  map[string]any    `json:"checks"`
	Errors  map[string]string `json:"errors"`
}

func (r connResults) check(name string) string {
	s, _ := r.Checks[name].(string)
	return s
}

// runConnectionTest opens /connection-test in a new browser and runs it.
func runConnectionTest(t *testing.T, srv *testkit.Server, exe string, flags map[string]any) (connResults, string) {
	t.Helper()
	tab := browserWith(t, exe, flags)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/connection-test"), chromedp.WaitEnabled(chromedp.ID("start"))); err != nil {
		t.Fatalf("open connection test: %v", err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[connResults](`window.gatehouse.run()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run connection test: %v", err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('verdict').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checks %v; errors %v; verdict %q", res.Checks, res.Errors, verdict)
	return res, verdict
}

// TestConnectionTestPage runs the connection test in headless Chromium on
// an open network, on one that blocks UDP, and against a deployment with
// no relay, and reads its per-path results and plain-English verdict.
func TestConnectionTestPage(t *testing.T) {
	exe := chromium(t)
	t.Run("open network", func(t *testing.T) {
		srv, spki := relayServer(t, nil)
		res, verdict := runConnectionTest(t, srv, exe, map[string]any{"ignore-certificate-errors-spki-list": spki})
		for _, c := range []string{"direct", "udp", "tcp", "tls"} {
			if res.check(c) != "ok" {
				t.Errorf("%s check %q, want ok", c, res.check(c))
			}
		}
		if res.Verdict != "good" || !strings.Contains(verdict, "directly") {
			t.Errorf("verdict %s: %q", res.Verdict, verdict)
		}
		if n := metricValue(t, srv, `gatehouse_turn_allocations_total{transport="tls"}`); n < 1 {
			t.Errorf("no TLS allocation made by the test: %v", n)
		}
	})
	t.Run("UDP blocked", func(t *testing.T) {
		srv, spki := relayServer(t, nil)
		res, verdict := runConnectionTest(t, srv, exe, map[string]any{
			"ignore-certificate-errors-spki-list": spki, "webrtc-ip-handling-policy": noUDP})
		want := map[string]string{"direct": "blocked", "udp": "blocked", "tcp": "ok", "tls": "ok"}
		for c, w := range want {
			if res.check(c) != w {
				t.Errorf("%s check %q, want %q", c, res.check(c), w)
			}
		}
		if res.Verdict != "fair" || !strings.Contains(verdict, "relay") {
			t.Errorf("verdict %s: %q", res.Verdict, verdict)
		}
	})
	t.Run("no relay", func(t *testing.T) {
		srv := testkit.Start(t)
		res, _ := runConnectionTest(t, srv, exe, nil)
		want := map[string]string{"direct": "ok", "udp": "unavailable", "tcp": "unavailable", "tls": "unavailable"}
		for c, w := range want {
			if res.check(c) != w {
				t.Errorf("%s check %q, want %q", c, res.check(c), w)
			}
		}
		if res.Verdict != "good" {
			t.Errorf("verdict %s", res.Verdict)
		}
	})
}

// TestConnectionTestEndpointsAreLimited checks the anonymous endpoints:
// probe credentials last a minute and name a probe user, requests beyond
// the per-address limit are refused, and an offer with media is refused.
func TestConnectionTestEndpointsAreLimited(t *testing.T) {
	srv, _ := relayServer(t, nil)
	post := func(path, body string) (*http.Response, string) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.String()
	}
	resp, body := post("/connection-test/ice", "{}")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"relay":true`) || !strings.Contains(body, ":probe-") {
		t.Fatalf("ice: %d %s", resp.StatusCode, body)
	}
	resp, body = post("/connection-test/offer", `{"sdp":"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("media offer: %d %s", resp.StatusCode, body)
	}
	limited := false
	for i := 0; i < 20 && !limited; i++ {
		resp, _ = post("/connection-test/ice", "{}")
		limited = resp.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("20 anonymous credential requests in a row were all served")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("refusal content type %q", ct)
	}
}
