package rxstats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Dist is a bounded sample of a distribution (reservoir sampling, Vitter's
// algorithm R): it keeps at most its capacity of values, each value seen
// having the same chance to be kept, and counts and sums every value.
type Dist struct {
	capacity int
	seen     uint64
	sum      float64
	min, max float64
	samples  []float64
}

// NewDist returns an empty distribution keeping at most capacity samples.
func NewDist(capacity int) Dist { return Dist{capacity: max(1, capacity)} }

// Add records one value.
func (d *Dist) Add(v float64) {
	if math.IsNaN(v) {
		return
	}
	if d.seen == 0 || v < d.min {
		d.min = v
	}
	if d.seen == 0 || v > d.max {
		d.max = v
	}
	d.seen++
	d.sum += v
	if len(d.samples) < d.capacity {
		d.samples = append(d.samples, v)
		return
	}
	if i := rand.Uint64N(d.seen); i < uint64(d.capacity) {
		d.samples[i] = v
	}
}

// AddAll records every value of vs.
func (d *Dist) AddAll(vs []float64) {
	for _, v := range vs {
		d.Add(v)
	}
}

// Count is how many values were added.
func (d *Dist) Count() uint64 { return d.seen }

// Samples returns a copy of the kept samples.
func (d *Dist) Samples() []float64 { return slices.Clone(d.samples) }

// Summary describes a distribution; zero when it is empty.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summary returns count, mean, extremes and percentiles (nearest rank over
// the kept samples).
func (d *Dist) Summary() Summary {
	if d.seen == 0 {
		return Summary{}
	}
	s := slices.Clone(d.samples)
	slices.Sort(s)
	return Summary{Count: d.seen, Mean: d.sum / float64(d.seen), Min: d.min, Max: d.max,
		P50: Percentile(s, 50), P95: Percentile(s, 95), P99: Percentile(s, 99)}
}

// Percentile returns the nearest-rank p-th percentile of sorted values
// (0 for none).
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
