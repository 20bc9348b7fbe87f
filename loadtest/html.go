package loadtest

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 760, 260
	padL, padR     = 64, 110
	padT, padB     = 28, 40
)

// series is one line (or set of points) of a chart.
type series struct {
	name   string
	color  string
	points [][2]float64
}

// layerColors are the line colours of the layers.
func layerColor(name string) string {
	switch name {
	case "q":
		return "#1b9e77"
	case "h":
		return "#d95f02"
	case "f":
		return "#7570b3"
	case "audio":
		return "#e7298a"
	case "total":
		return "#333333"
	}
	return "#66a61e"
}

// niceMax rounds v up to a round number: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6
// or 8 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// svgChart draws series over a shared x range as an inline SVG: lines, or
// dots when scatter is set. Every text is escaped.
func svgChart(title, xLabel, yLabel string, ss []series, xMax float64, scatter bool) template.HTML {
	yMax := 0.0
	for _, s := range ss {
		for _, p := range s.points {
			yMax = max(yMax, p[1])
			xMax = max(xMax, p[0])
		}
	}
	yMax, xMax = niceMax(yMax), niceMax(xMax)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(v float64) float64 { return padL + v/xMax*plotW }
	y := func(v float64) float64 { return padT + plotH - v/yMax*plotH }
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, e(title))
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="bold">%s</text>`, padL, e(title))
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, padL, padL+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`, padL-6, y(v)+4, e(formatTick(v)))
		xv := xMax * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, x(xv), padT+plotH+16, e(formatTick(xv)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, e(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="12" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		padT+plotH/2, padT+plotH/2, e(yLabel))
	for i, s := range ss {
		if scatter {
			for _, p := range s.points {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s" fill-opacity="0.7"/>`, x(p[0]), y(p[1]), e(s.color))
			}
		} else if len(s.points) > 0 {
			pts := make([]string, len(s.points))
			for j, p := range s.points {
				pts[j] = fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1]))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`, e(s.color), strings.Join(pts, " "))
		}
		ly := padT + 14 + 18*i
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="12" height="4" fill="%s"/>`, padL+plotW+10, ly-4, e(s.color))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12">%s</text>`, padL+plotW+28, ly, e(s.name))
	}
	if len(ss) == 0 || slices.IndexFunc(ss, func(s series) bool { return len(s.points) > 0 }) < 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" fill="#888">no data</text>`, padL+plotW/2, padT+plotH/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built above with every text escaped
}

func formatTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// reportPage is the HTML report; it has no script and loads nothing.
const reportPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Gatehouse load test: {{.R.Scenario}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}
th{background:#f4f4f4}.bad{color:#b00020;font-weight:bold}.ok{color:#1b7e3c;font-weight:bold}
figure{margin:1.5em 0}
</style></head><body>
<h1>Gatehouse load test</h1>
<p>Scenario <b>{{.R.Scenario}}</b>, started {{.R.StartedAt.Format "2006-01-02 15:04:05 MST"}}:
{{.R.Calls}} calls, {{.R.Participants}} participants ({{.R.Publishers}} publishing), simulcast {{.R.Simulcast}}, relay only {{.R.RelayOnly}}.</p>
<p>{{if .R.OK}}<span class="ok">Every call connected.</span>{{else}}<span class="bad">{{.R.FailedCalls}} of {{.R.Calls}} calls did not connect.</span>{{end}}
Ramp {{printf "%.1f" .R.RampSeconds}} s, all connected {{printf "%.1f" .R.JoinWaitSeconds}} s later, steady window {{printf "%.1f" .R.SteadySeconds}} s.</p>
<table>
<tr><th>Figure</th><th>Value</th></tr>
<tr><td>Join time (WebSocket open to first decodable frame)</td><td>p50 {{printf "%.0f" .R.JoinMs.P50}} ms, p95 {{printf "%.0f" .R.JoinMs.P95}} ms, p99 {{printf "%.0f" .R.JoinMs.P99}} ms ({{.R.JoinMs.Count}} pairs)</td></tr>
<tr><td>End-to-end latency, video</td><td>{{if .R.LatencyMs.Count}}p50 {{printf "%.1f" .R.LatencyMs.P50}} ms, p95 {{printf "%.1f" .R.LatencyMs.P95}} ms, p99 {{printf "%.1f" .R.LatencyMs.P99}} ms{{else}}not measured (no capture time arrived){{end}}</td></tr>
<tr><td>End-to-end latency, audio</td><td>{{if .R.AudioLatencyMs.Count}}p50 {{printf "%.1f" .R.AudioLatencyMs.P50}} ms, p95 {{printf "%.1f" .R.AudioLatencyMs.P95}} ms{{else}}not measured{{end}}</td></tr>
<tr><td>Loss (run / steady window)</td><td>{{printf "%.3f" .R.Loss.Percent}}% / {{printf "%.3f" .R.SteadyLoss.Percent}}%</td></tr>
<tr><td>Jitter p95 (video / audio)</td><td>{{printf "%.1f" .R.VideoJitterMs.P95}} ms / {{printf "%.1f" .R.AudioJitterMs.P95}} ms</td></tr>
<tr><td>Frames, freezes</td><td>{{.R.Frames}} decodable frames, {{.R.Freezes}} freezes ({{printf "%.1f" .R.FreezeSeconds}} s)</td></tr>
{{range .Layers}}<tr><td>Received bitrate, layer {{.Name}}</td><td>{{printf "%.0f" .Rate.TotalKbps}} kbit/s in {{printf "%.1f" .Rate.Streams}} streams ({{printf "%.0f" .Rate.PerStreamKbps}} kbit/s each)</td></tr>
{{end}}<tr><td>Server packets sent per CPU-second</td><td><b>{{printf "%.0f" .R.Server.PacketsPerCPUSecond}}</b> ({{printf "%.0f" .R.Server.Forwarded}} forwarded + {{printf "%.0f" .R.Server.Retransmitted}} retransmitted in {{printf "%.2f" .R.Server.CPUSeconds}} CPU-s, {{.R.Server.CPUSource}})</td></tr>
<tr><td>Server CPU, memory</td><td>{{printf "%.0f" .R.Server.CPUPercent}}% of a core{{if .R.Server.SystemCPUSeconds}} ({{printf "%.2f" .R.Server.SystemCPUSeconds}} CPU-s in the kernel){{end}}; RSS {{printf "%.0f" .RSSMB}} MB, peak {{printf "%.0f" .PeakMB}} MB</td></tr>
{{if .R.Server.Note}}<tr><td>Note</td><td>{{.R.Server.Note}}</td></tr>{{end}}
</table>
<figure>{{.Bitrate}}</figure>
<figure>{{.Loss}}</figure>
<figure>{{.Joins}}</figure>
<figure>{{.CPU}}</figure>
<h2>Calls</h2>
<table><tr><th>Call</th><th>Kind</th><th>Connected</th><th>Participant</th><th>Join (ms)</th><th>Frames</th><th>Freezes</th><th>Loss</th><th>Receiving</th><th>Problem</th></tr>
{{range .R.CallResults}}{{$c := .}}{{range .Participants}}<tr><td>{{$c.Reference}}</td><td>{{$c.Kind}}</td><td>{{if .Connected}}yes{{else}}<span class="bad">no</span>{{end}}</td>
<td>{{.Name}} ({{.Role}}{{if not .Publishes}}, watching{{end}})</td><td>{{printf "%.0f" .JoinMs}}</td><td>{{.Frames}}</td><td>{{.Freezes}}</td><td>{{printf "%.2f" .Loss.Percent}}%</td><td>{{range .Receiving}}{{.}} {{end}}</td><td>{{.Error}} {{.Ended}}</td></tr>
{{end}}{{end}}</table>
</body></html>
`

// WriteHTML writes a self-contained HTML report of r: the figures, plots of
// received bitrate per layer, loss and server CPU over the run, and join
// times, as inline SVG (no script, nothing loaded from the network).
func WriteHTML(w io.Writer, r *Result) error {
	t, err := template.New("report").Parse(reportPage)
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	xMax := 0.0
	if n := len(r.Series); n > 0 {
		xMax = r.Series[n-1].T
	}
	names := map[string]bool{}
	for _, s := range r.Series {
		for l, v := range s.KbpsByLayer {
			names[l] = names[l] || v > 0
		}
	}
	maps.DeleteFunc(names, func(_ string, used bool) bool { return !used })
	var rate []series
	total := series{name: "total", color: layerColor("total")}
	for _, l := range layerOrder(slices.Collect(maps.Keys(names))) {
		s := series{name: l, color: layerColor(l)}
		for _, p := range r.Series {
			s.points = append(s.points, [2]float64{p.T, p.KbpsByLayer[l]})
		}
		rate = append(rate, s)
	}
	for _, p := range r.Series {
		sum := 0.0
		for _, v := range p.KbpsByLayer {
			sum += v
		}
		total.points = append(total.points, [2]float64{p.T, sum})
	}
	rate = append(rate, total)
	loss := series{name: "loss", color: "#b00020"}
	cpu := series{name: "server", color: "#333333"}
	for _, p := range r.Series {
		loss.points = append(loss.points, [2]float64{p.T, p.LossPercent})
		cpu.points = append(cpu.points, [2]float64{p.T, p.CPUPercent})
	}
	joins := series{name: "join", color: "#1f78b4"}
	for _, j := range r.Joins {
		joins.points = append(joins.points, [2]float64{j.T, j.Ms})
	}
	type layerRow struct {
		Name string
		Rate LayerRate
	}
	var layers []layerRow
	for _, l := range layerOrder(slices.Collect(maps.Keys(r.Bitrate))) {
		layers = append(layers, layerRow{l, r.Bitrate[l]})
	}
	data := struct {
		R                         *Result
		Layers                    []layerRow
		RSSMB, PeakMB             float64
		Bitrate, Loss, Joins, CPU template.HTML
	}{
		R: r, Layers: layers, RSSMB: r.Server.RSSBytes / 1e6, PeakMB: r.Server.PeakRSSBytes / 1e6,
		Bitrate: svgChart("Received bitrate by layer", "seconds since the first join", "kbit/s", rate, xMax, false),
		Loss:    svgChart("Packet loss", "seconds since the first join", "% of packets", []series{loss}, xMax, false),
		Joins:   svgChart("Join time (WebSocket open to first decodable frame)", "seconds since the first join", "ms", []series{joins}, xMax, true),
		CPU:     svgChart("Server CPU", "seconds since the first join", "% of one core", []series{cpu}, xMax, false),
	}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
