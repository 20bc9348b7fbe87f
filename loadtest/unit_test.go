package loadtest

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP gatehouse_sfu_forwarded_packets_total RTP packets sent to subscribers.
# TYPE gatehouse_sfu_forwarded_packets_total counter
gatehouse_sfu_forwarded_packets_total{kind="audio"} 100
gatehouse_sfu_forwarded_packets_total{kind="video",layer="f"} 2.5e3
gatehouse_sfu_forwarded_bytes_total 99999
process_cpu_seconds_total 12.5
process_resident_memory_bytes 5.24288e+07
`
	m, err := parseMetrics(strings.NewReader(text), metricForwarded, metricRetransmitted, metricCPU, metricRSS)
	if err != nil {
		t.Fatal(err)
	}
	if m[metricForwarded] != 2600 || m[metricRetransmitted] != 0 || m[metricCPU] != 12.5 || m[metricRSS] != 52428800 {
		t.Errorf("parsed %v", m)
	}
}

func TestParseProc(t *testing.T) {
	stat := "4242 (gate house) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 12 0 100 0 0\n"
	cpu, err := parseProcStat([]byte(stat))
	if err != nil || cpu.user != 2.5 || cpu.system != 1.3 {
		t.Errorf("cpu %+v, %v; want 2.5 s user, 1.3 s system", cpu, err)
	}
	if _, err := parseProcStat([]byte("1 (x) S 1")); err == nil {
		t.Error("short stat accepted")
	}
	rss, peak := parseProcStatus([]byte("Name:\tgatehouse\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"))
	if rss != 1024*1024 || peak != 2048*1024 {
		t.Errorf("rss %v peak %v", rss, peak)
	}
	if cpu, err := procCPUSeconds(1); err != nil || cpu < 0 {
		t.Logf("pid 1: %v, %v", cpu, err)
	}
}

func TestZoneNearNoon(t *testing.T) {
	for h := range 24 {
		now := time.Date(2026, 3, 29, h, 17, 0, 0, time.UTC)
		zone := zoneNearNoon(now)
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatalf("%02d:17 UTC: %s: %v", h, zone, err)
		}
		if lh := now.In(loc).Hour(); lh != 12 {
			t.Errorf("%02d:17 UTC in %s is %02d h, want 12", h, zone, lh)
		}
	}
}

func TestTokenFromJoinURL(t *testing.T) {
	tok, err := tokenFromJoinURL("http://localhost:8080/join#token=abc.def-ghi_jkl")
	if err != nil || tok != "abc.def-ghi_jkl" {
		t.Errorf("token %q, %v", tok, err)
	}
	if _, err := tokenFromJoinURL("http://localhost:8080/join"); !errors.Is(err, ErrSetup) {
		t.Errorf("no token: %v", err)
	}
}

func TestPlan(t *testing.T) {
	base := Config{URL: "http://127.0.0.1:1", User: "admin", Duration: time.Second, JoinTimeout: time.Second}
	count := func(ps []callPlan, kind string) (n, people, pubs int) {
		for _, p := range ps {
			if p.Kind == kind {
				n++
				people += p.Participants
				pubs += p.Publishers
			}
		}
		return
	}
	c := base
	c.Scenario = Fanout
	ps, err := c.plan()
	if n, people, pubs := count(ps, "fanout"); err != nil || n != 1 || people != 11 || pubs != 1 {
		t.Errorf("fanout: %d calls, %d people, %d publishers, %v", n, people, pubs, err)
	}
	c = base
	c.Scenario, c.Calls, c.GroupCalls, c.Participants = Mixed, 4, 1, 3
	ps, err = c.plan()
	n1, _, _ := count(ps, "one-to-one")
	n2, people, _ := count(ps, "group")
	if err != nil || n1 != 4 || n2 != 1 || people != 3 {
		t.Errorf("mixed: %d one-to-one, %d group of %d people, %v", n1, n2, people, err)
	}
	c = base
	c.Scenario = TURN
	if ps, err := c.plan(); err != nil || !ps[0].RelayOnly {
		t.Errorf("turn plan %+v, %v", ps, err)
	}
	for name, bad := range map[string]func(*Config){
		"scenario":     func(c *Config) { c.Scenario = "nope" },
		"participants": func(c *Config) { c.Scenario, c.Participants = Group, 12 },
		"duration":     func(c *Config) { c.Scenario, c.Duration = OneToOne, 0 },
		"url":          func(c *Config) { c.Scenario, c.URL = OneToOne, "" },
	} {
		c := base
		bad(&c)
		if _, err := c.plan(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

func TestSVGChartEscapesAndScales(t *testing.T) {
	svg := string(svgChart(`<b>"x"</b>`, "s", "kbit/s", []series{
		{name: "q&h", color: "#123456", points: [][2]float64{{0, 0}, {10, 140}, {20, 160}}},
	}, 20, false))
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;b&gt;") || !strings.Contains(svg, "q&amp;h") {
		t.Errorf("not escaped: %s", svg)
	}
	if !strings.Contains(svg, "<polyline") || !strings.Contains(svg, ">200<") {
		t.Errorf("no line or no 200 kbit/s axis top: %s", svg)
	}
	if empty := string(svgChart("t", "x", "y", nil, 0, true)); !strings.Contains(empty, "no data") {
		t.Error("empty chart not marked")
	}
	if niceMax(0) != 1 || niceMax(160) != 200 || niceMax(3.2) != 4 || niceMax(1000) != 1000 || niceMax(35) != 40 {
		t.Errorf("niceMax: %v %v %v %v %v", niceMax(0), niceMax(160), niceMax(3.2), niceMax(1000), niceMax(35))
	}
}

// An audio stream that receives nothing for 3 s of the steady window is a
// stop, counted once; silent video (a paused layer) is not, and audio that
// resumes in time is not.
func TestWatchAudioCountsStops(t *testing.T) {
	r := &runner{cfg: Config{SampleInterval: time.Second}, log: slog.New(slog.DiscardHandler)}
	audioA := rxKey{"r1", streamKey{"a", 1}}
	audioB := rxKey{"r1", streamKey{"b", 2}}
	video := rxKey{"r1", streamKey{"a", 3}}
	bytes := map[rxKey]uint64{audioA: 100, audioB: 100, video: 100}
	totals := func() rxTotals {
		t := rxTotals{streams: map[rxKey]streamBytes{}}
		for k, b := range bytes {
			layer := "audio"
			if k == video {
				layer = "f"
			}
			t.streams[k] = streamBytes{bytes: b, layer: layer}
		}
		return t
	}
	r.prevRx = totals()
	t0 := time.Now()
	for i := 1; i <= 5; i++ {
		if i == 2 { // b is heard at 2 s, then falls silent for good
			bytes[audioB] += 50
		}
		rx := totals()
		r.watchAudio(rx, t0.Add(time.Duration(i)*time.Second))
		r.prevRx = rx
		if i == 2 && len(r.audioStops) != 0 {
			t.Fatalf("a stop counted after 2 s: %v", r.audioStops)
		}
	}
	if !r.audioStops[audioA] || len(r.audioStops) != 2 {
		t.Errorf("stops %v, want a's audio (silent 5 s) and b's (silent from 2 s to 5 s)", r.audioStops)
	}
	if r.audioStops[video] {
		t.Error("a silent video stream counted as an audio stop")
	}
	res := &Result{Calls: 1, ConnectedCalls: 1, AudioStops: len(r.audioStops)}
	if res.OK() {
		t.Error("a run with audio stops reported OK")
	}
}
