package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Prometheus series the tool reads from the server's /metrics.
const (
	metricForwarded     = "gatehouse_sfu_forwarded_packets_total"
	metricRetransmitted = "gatehouse_sfu_retransmitted_packets_total"
	metricCPU           = "process_cpu_seconds_total"
	metricRSS           = "process_resident_memory_bytes"
)

// userHZ is the unit of the CPU times in /proc/PID/stat on Linux (USER_HZ,
// fixed at 100 for user space whatever the kernel's tick).
const userHZ = 100

// ServerSample is one reading of the server's counters.
type ServerSample struct {
	At time.Time `json:"at"`
	// From /metrics; Metrics is false when it could not be read.
	Metrics       bool    `json:"metrics"`
	Forwarded     float64 `json:"forwardedPackets"`
	Retransmitted float64 `json:"retransmittedPackets"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	RSSBytes      float64 `json:"rssBytes"`
	// From /proc/PID; Proc is false without a process id on this machine.
	Proc           bool    `json:"proc"`
	ProcCPUSeconds float64 `json:"procCpuSeconds"`
	// ProcSystemCPUSeconds is the part of ProcCPUSeconds spent in the
	// kernel (system calls: on loopback a send includes the delivery).
	ProcSystemCPUSeconds float64 `json:"procSystemCpuSeconds"`
	ProcRSSBytes         float64 `json:"procRssBytes"`
	ProcPeakRSS          float64 `json:"procPeakRssBytes"`
}

// serverProbe reads the server's /metrics and, when its process id is
// known, /proc.
type serverProbe struct {
	metricsURL string
	pid        int
	http       *http.Client
}

func newServerProbe(baseURL string, pid int) *serverProbe {
	return &serverProbe{metricsURL: strings.TrimRight(baseURL, "/") + "/metrics", pid: pid,
		http: &http.Client{Timeout: 5 * time.Second}}
}

// sample reads both sources; a source that fails is marked absent.
func (p *serverProbe) sample(ctx context.Context) ServerSample {
	s := ServerSample{At: time.Now()}
	if m, err := p.scrape(ctx); err == nil {
		s.Metrics = true
		s.Forwarded = m[metricForwarded]
		s.Retransmitted = m[metricRetransmitted] // absent: 0
		s.CPUSeconds = m[metricCPU]
		s.RSSBytes = m[metricRSS]
	}
	if p.pid > 0 {
		if t, err := procCPU(p.pid); err == nil {
			s.Proc = true
			s.ProcCPUSeconds, s.ProcSystemCPUSeconds = t.user+t.system, t.system
			s.ProcRSSBytes, s.ProcPeakRSS, _ = procRSS(p.pid)
		}
	}
	return s
}

// scrape returns the sum of the samples of each wanted metric (over all
// label sets).
func (p *serverProbe) scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: status %d", resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, 16<<20), metricForwarded, metricRetransmitted, metricCPU, metricRSS)
}

// parseMetrics reads the Prometheus text format and sums the samples of
// the named metrics.
func parseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name = line[:i]
			j := strings.LastIndexByte(line, '}')
			if j < 0 {
				continue
			}
			rest, ok = strings.TrimSpace(line[j+1:]), true
		}
		if !ok || !want[name] {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return out, nil
}

// cpuTimes is a process's CPU time in user space and in the kernel,
// seconds.
type cpuTimes struct{ user, system float64 }

// procCPUSeconds returns the user plus system CPU time of process pid.
func procCPUSeconds(pid int) (float64, error) {
	t, err := procCPU(pid)
	return t.user + t.system, err
}

// procCPU returns the CPU times of process pid.
func procCPU(pid int) (cpuTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, err
	}
	return parseProcStat(b)
}

// parseProcStat reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line; the command name in parentheses may hold spaces.
func parseProcStat(b []byte) (cpuTimes, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTimes{}, fmt.Errorf("proc stat: no command")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return cpuTimes{}, fmt.Errorf("proc stat: %d fields", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return cpuTimes{}, fmt.Errorf("proc stat: bad times")
	}
	return cpuTimes{user: float64(ut) / userHZ, system: float64(st) / userHZ}, nil
}

// procRSS returns the resident and peak resident memory of process pid.
func procRSS(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rss, peak = parseProcStatus(b)
	return rss, peak, nil
}

// parseProcStatus reads VmRSS and VmHWM (in kB) from /proc/PID/status, in
// bytes.
func parseProcStatus(b []byte) (rss, peak float64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n * 1024
		case "VmHWM":
			peak = n * 1024
		}
	}
	return rss, peak
}
