package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/loadtest"
)

// TestRunAgainstInProcessServer runs a tiny scenario (one visit of two and
// one call of three) against a whole Gatehouse in this process, on
// loopback, and checks that media flowed and was measured.
func TestRunAgainstInProcessServer(t *testing.T) {
	srv := testkit.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Config{
		URL: srv.URL, User: "admin", Password: "demo-admin-pass",
		Scenario: loadtest.Mixed, Calls: 1, GroupCalls: 1, Participants: 3,
		Duration: 3 * time.Second, Ramp: 500 * time.Millisecond, JoinTimeout: 30 * time.Second,
		Simulcast: true, ServerPID: os.Getpid(), SampleInterval: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var summary bytes.Buffer
	res.WriteSummary(&summary)
	t.Log("\n" + summary.String())
	if !res.OK() || res.ConnectedCalls != 2 || res.Participants != 5 || res.Publishers != 5 {
		t.Fatalf("connected %d of %d calls, %d participants, %d publishers", res.ConnectedCalls, res.Calls, res.Participants, res.Publishers)
	}
	// Every participant receives everyone else's video: 2 + 3x2 pairs.
	if res.JoinMs.Count != 8 || res.JoinMs.P50 <= 0 {
		t.Errorf("join times %+v, want 8 pairs", res.JoinMs)
	}
	if res.Frames == 0 || res.ReceivedStreams == 0 {
		t.Errorf("%d frames in %d streams", res.Frames, res.ReceivedStreams)
	}
	for _, c := range res.CallResults {
		for _, p := range c.Participants {
			if !p.Connected || p.Frames == 0 || p.JoinMs <= 0 || len(p.Sent) == 0 || p.Error != "" {
				t.Errorf("call %s %s: %+v", c.Reference, p.Name, p)
			}
		}
	}
	if res.Bitrate["audio"].TotalKbps <= 0 {
		t.Errorf("no audio bitrate: %+v", res.Bitrate)
	}
	if len(res.Series) == 0 || res.SteadySeconds < 3 {
		t.Errorf("%d samples, steady %.1f s", len(res.Series), res.SteadySeconds)
	}
	if res.Server.CPUSeconds <= 0 || res.Server.CPUSource != "proc" || res.Server.Forwarded <= 0 || res.Server.PacketsPerCPUSecond <= 0 {
		t.Errorf("server figures %+v", res.Server)
	}
	if sys := res.Server.SystemCPUSeconds; sys <= 0 || sys > res.Server.CPUSeconds {
		t.Errorf("server kernel time %.2f s of %.2f s", sys, res.Server.CPUSeconds)
	}

	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["scenario"] != "mixed" {
		t.Errorf("JSON: %v, scenario %v", err, back["scenario"])
	}
	var page bytes.Buffer
	if err := loadtest.WriteHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(page.String(), "<svg"); n != 4 || strings.Contains(page.String(), "<script") {
		t.Errorf("report has %d plots, or a script", n)
	}
}
