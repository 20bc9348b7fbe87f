// Package recording writes the media of one call, as the SFU forwards it,
// into one file per track plus a manifest.
//
// A Call owns a directory. Each published track the SFU records gets a
// Track (Call.AddTrack), whose WriteRTP is called on the forwarding path:
// it copies the packet into a pooled buffer and puts it on a bounded queue,
// and never blocks or waits. One writer goroutine per track, owned by the
// Call, drains the queue in batches, puts packets back in sequence order
// (a small reorder window that waits for retransmissions), rebuilds the
// frames with Pion's depacketizers and writes them into the file.
// Call.Close stops the writers, finalises the files, hashes them and writes
// manifest.json (SHA-256, size, start offset, duration and frame count of
// each file).
//
// # Files
//
// One file per track, named <participant>-<kind>-<n>: WebM (.webm) for
// Opus, VP8 and VP9, Matroska (.mkv) for H.264, one track each, written
// with the EBML encoder of github.com/at-wat/ebml-go. The layout is the
// one players seek in without scanning: EBML header; Segment with its final
// size; SeekHead (Info, Tracks, Cues); Info with TimecodeScale 1 ms, the
// Duration and DateUTC (the wall time of the track's first packet); Tracks
// with the codec's private data (OpusHead for Opus, avcC for H.264) and the
// picture size of the first key frame; Clusters of SimpleBlocks, each of
// known size, a new one at every video key frame and at least every 5 s;
// Cues (a cue per cluster that starts with a key frame) at the end. While a
// call is being recorded the Segment size is "unknown" and the Cues and
// Duration are missing; Close writes them (the files are seekable, so it
// rewrites the reserved header bytes in place). A file cut short by a
// crash is still playable up to its last whole cluster.
//
// # Time
//
// A track's file starts at its first packet: block timestamps are the RTP
// timestamp distance (unwrapped past 2^32) from that packet, in
// milliseconds, so durations are those of the media, not of the arrival.
// The manifest's startOffsetMs is the wall time at which WriteRTP took the
// track's first packet, minus the call start: file time t plays at call
// time startOffsetMs + t. Video is written from its first key frame (and
// again from the next key frame after a loss), so a video file's first
// block may come after time 0.
//
// # Failures
//
// Nothing is lost silently. A full queue drops packets, counts them and
// reports ErrQueueFull through Options.OnFailure; a write error stops the
// track and reports ErrWrite; a Close cut short by its context reports
// ErrIncomplete. Packets the network lost are counted as gaps in the
// manifest (the forwarded stream has the same loss) without an alarm.
package recording
