package sfu

import (
	"time"
)

// Probing before an upgrade. While a link is application-limited, GCC's
// delay-based estimate keeps growing, because nothing tests it: on a
// capped link it may read several times the cap, and an upgrade on it
// would send a large key frame into a queue that cannot drain. Before a
// subscription goes up, its downTrack therefore sends padding at the rate
// the upgrade would add, for probeDuration. The padding goes out on the
// subscription's own SSRC, numbered in its sequence, right after the last
// packet of a frame (never inside one), so the transport-wide feedback
// covers it and GCC sees whether the link carries the extra rate. The
// upgrade happens only if the estimate still allows it when the probe
// ends; if the estimate falls short during the probe, the probe stops at
// once and counts as a failed upgrade (the next one waits twice as long).
const (
	probeDuration = time.Second
	// probeRamp is how long the padding takes to reach the probe's rate,
	// from a fifth of it.
	probeRamp = 500 * time.Millisecond
	// probeValid is how long after a probe ends its verdict stands.
	probeValid = time.Second
	// paddingSize is the padding carried by one packet: the most one
	// RTP padding-length byte can say.
	paddingSize = 255
	// maxPaddingBurst bounds the padding packets sent after one frame.
	maxPaddingBurst = 16
	// maxPaddingOwed bounds the padding owed (bytes, per bit/s of probe
	// rate / 8) to this much time, so a pause in the media is not made up
	// for in one burst.
	maxPaddingOwed = 100 * time.Millisecond
)

// paddingLayer marks a sent padding packet in the history: a NACK for it is
// answered with padding.
const paddingLayer = -2

// probe is a downTrack's probing state, under downTrack.mu.
type probe struct {
	until  int64 // unix nanoseconds the current or last probe ends; 0 none
	rate   int   // bit/s of padding
	owed   float64
	lastAt int64 // unix nanoseconds padding was last accounted
	failed bool  // the last probe was stopped short
}

// probeVerdict says where a subscription stands with probing.
type probeVerdict int

const (
	probeNone    probeVerdict = iota // no probe, or its verdict has lapsed
	probeRunning                     // padding is being sent
	probePassed                      // ended within probeValid, not stopped short
)

// probeState returns the subscription's probing verdict at now.
func (d *downTrack) probeState(now time.Time) probeVerdict {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.probeStateLocked(now.UnixNano())
}

func (d *downTrack) probeStateLocked(now int64) probeVerdict {
	switch {
	case d.pr.until == 0:
		return probeNone
	case now < d.pr.until:
		return probeRunning
	case !d.pr.failed && now-d.pr.until < int64(probeValid):
		return probePassed
	}
	return probeNone
}

// startProbe starts sending padding at rate bit/s for probeDuration, unless
// a probe is running.
func (d *downTrack) startProbe(rate int, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := now.UnixNano()
	if d.probeStateLocked(at) == probeRunning {
		return
	}
	d.pr = probe{until: at + int64(probeDuration), rate: rate, lastAt: at}
	d.sub.log.Debug("probing before an upgrade", "track", d.up.id, "rate", rate, "current", d.current, "target", d.target)
}

// endProbe ends the probe, if one is running or has just passed: the link
// did not carry the upgrade (the estimate fell short), which counts as a
// failed upgrade, or the upgrade was made (used).
func (d *downTrack) endProbe(now time.Time, used bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := now.UnixNano()
	if d.probeStateLocked(at) == probeNone {
		return
	}
	running := at < d.pr.until
	d.pr.until = min(d.pr.until, at)
	if used {
		d.pr.until = 0
		return
	}
	d.pr.failed = true
	// As an upgrade the link could not carry: the next waits twice as
	// long, counted from now.
	d.upgradeHold = min(2*d.holdLocked(), maxUpgradeHold)
	d.lastChange = now
	d.sub.room.sfu.media.ProbesFailed.Inc()
	d.sub.log.Debug("probe failed", "track", d.up.id, "stopped_short", running, "hold", d.upgradeHold)
}

// pad sends the padding a running probe owes, after a packet that ended a
// frame and was the newest of the stream. The caller holds d.mu. Padding
// takes the next sequence numbers; the media after it moves up by as many,
// and packets from before it that arrive late are dropped (splice's switch
// point), since their numbers are taken.
func (d *downTrack) pad(h uint16, now int64) {
	if d.pr.until == 0 || now >= d.pr.until {
		return
	}
	elapsed := float64(now-d.pr.lastAt) / float64(time.Second)
	d.pr.lastAt = now
	// The rate ramps up over the first probeRamp, so that a link that
	// cannot carry it shows a growing delay (and the probe stops) before
	// its queue is full.
	since := time.Duration(now - (d.pr.until - int64(probeDuration)))
	rate := float64(d.pr.rate) * min(max(float64(since)/float64(probeRamp), 0.2), 1)
	owedMax := rate / 8 * maxPaddingOwed.Seconds()
	d.pr.owed = min(d.pr.owed+rate/8*elapsed, owedMax)
	n := min(int(d.pr.owed/paddingSize), maxPaddingBurst)
	if n == 0 {
		return
	}
	for range n {
		seq := d.lastSeq + 1
		if !d.writePadding(seq, d.lastTs) {
			break
		}
		d.hist[seq&(histSize-1)] = sentPacket{out: seq, ts: d.lastTs, layer: paddingLayer, ok: true}
		d.lastSeq = seq
		d.seqOffset--
		d.pr.owed -= paddingSize
	}
	d.switchSeq = h + 1
}

// writePadding sends one padding-only packet numbered seq. The caller holds
// d.mu.
func (d *downTrack) writePadding(seq uint16, ts uint32) bool {
	o := &d.padHdr
	o.Version = 2
	o.Padding = true
	o.PaddingSize = paddingSize
	o.Marker = false
	o.PayloadType = d.pt
	o.SequenceNumber = seq
	o.Timestamp = ts
	o.SSRC = d.ssrc
	o.Extension = false
	o.ExtensionProfile = 0
	o.Extensions = o.Extensions[:0]
	if _, err := d.writer.WriteRTP(o, nil); err != nil {
		return false
	}
	d.bytes += paddingSize + 12
	return true
}
